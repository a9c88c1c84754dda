import { dirname, resolve } from 'node:path';
import { mapBounded } from '../../shared/concurrency.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit } from '../adapter.js';
import { getPath } from '../qa/map-record.js';
import { countRecordsOrReject, readRecords, type RawRecord, type RecordFormat, type RecordSeek } from '../readers/records.js';
import { safeJson } from '../sample-builder.js';
import { sourceFiles, sourceUri } from '../source-files.js';
import { captionsFromValue, type CaptionRead } from './captions.js';
import type { CaptionSourceConfig } from './config.js';
import { emitCaptionItem, type CaptionEnv } from './emit.js';

export interface RecordsPayload {
  layout: 'records';
  file: string;
  start: number;
  end: number;
  /** JSONL: where record `start` begins (set at planning). */
  seek?: RecordSeek;
}

/** jsonl / json / csv / parquet files in slices of `unitRows` records (as the QA adapter plans). */
export async function planRecords(source: CaptionSourceConfig, ctx: StageContext): Promise<AdapterUnit[]> {
  const format = source.format as RecordFormat;
  const units: AdapterUnit[] = [];
  for (const file of await sourceFiles(source.name, source.path, ctx.baseDir, `**/*.${format}`)) {
    const counted = await countRecordsOrReject(file, format, ctx, ctx.config.ingest.unitRows);
      if (!counted) continue;
      const { records, fingerprint, seeks } = counted;
    const uri = sourceUri(file, ctx.baseDir);
    for (let start = 0; start < Math.max(records, 1); start += ctx.config.ingest.unitRows) {
      const end = Math.min(records, start + ctx.config.ingest.unitRows);
      const payload: RecordsPayload = { layout: 'records', file, start, end, seek: seeks[start / ctx.config.ingest.unitRows] };
      units.push({ key: `${uri}#${start}-${end}`, label: `${source.name} ${uri} records ${start}–${end}`, fingerprint, size: end - start, payload });
    }
  }
  return units;
}

export async function processRecords(payload: RecordsPayload, env: CaptionEnv, sink: UnitSink): Promise<void> {
  const { source, ctx } = env;
  const batch: RawRecord[] = [];
  for await (const record of readRecords(payload.file, source.format as RecordFormat, payload.start, payload.end, ctx.conn, payload.seek)) batch.push(record);
  const uri = sourceUri(payload.file, ctx.baseDir);
  const imageBase = source.imageRoot ? resolve(ctx.baseDir, source.imageRoot) : dirname(payload.file);
  await mapBounded(batch, ctx.config.ingest.concurrency, async (record) => {
    if (!record.ok) {
      sink.inputs(1);
      sink.quarantine({ sample_id: null, source_uri: uri, locator: record.locator }, record.reason, { message: record.message, raw: record.raw });
      return;
    }
    const value = record.value;
    const raw = record.raw || safeJson(value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      sink.inputs(1);
      sink.quarantine({ sample_id: null, source_uri: uri, locator: record.locator }, 'not_an_object', { message: `expected a record object, got ${Array.isArray(value) ? 'an array' : typeof value}`, raw });
      return;
    }
    const fields = source.fields!;
    const id = fields.id ? getPath(value, fields.id) : undefined;
    const license = fields.license ? getPath(value, fields.license) : undefined;
    await emitCaptionItem(
      {
        uri,
        locator: record.locator,
        recordId: id === undefined || id === null || id === '' ? null : String(id),
        image: getPath(value, fields.image),
        imageBase,
        captions: readCaptionFields(value, [fields.captions].flat()),
        license: typeof license === 'string' ? license : null,
        meta: unmappedFields(value as Record<string, unknown>, [fields.image, ...[fields.captions].flat(), ...(fields.id ? [fields.id] : [])]),
        raw,
      },
      env,
      sink,
    );
  });
}

/** Captions from every configured field, in order; null when none of the fields is present. */
function readCaptionFields(record: object, paths: string[]): CaptionRead | null {
  let found = false;
  const captions: string[] = [];
  for (const path of paths) {
    const values = captionsFromValue(getPath(record, path));
    if (values === null) continue;
    found = true;
    captions.push(...values);
  }
  return found ? { ok: true, captions, meta: {} } : null;
}

function unmappedFields(record: Record<string, unknown>, consumed: string[]): Record<string, unknown> {
  const top = new Set(consumed.map((p) => p.split('.')[0]));
  return Object.fromEntries(Object.entries(record).filter(([k, v]) => !top.has(k) && !(v instanceof Uint8Array)));
}
