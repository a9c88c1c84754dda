import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { SAMPLE_COLUMNS, SAMPLE_SCHEMA_VERSION, toSampleRow, unratedDifficulty, type ContentPart, type MediaDescriptor, type Sample } from '../../schemas/sample.js';
import type { QaSourceConfig } from '../shared/config/schema.js';
import { mapBounded } from '../shared/concurrency.js';
import { sha256Hex, stableHash } from '../shared/hash.js';
import type { StageContext, StageDefinition, WorkUnit } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import { loadImage } from './media/load-image.js';
import { mapQaRecord } from './qa/map-record.js';
import { resolvePreset } from './qa/presets.js';
import { countRecords, readRecords, type RawRecord } from './readers/records.js';
import { RecordError } from './record-error.js';

interface IngestUnit {
  source: QaSourceConfig;
  file: string;
  start: number;
  end: number;
}

/** Ingest: source files → canonical samples, in units of `ingest.unitRows` records. */
export const ingestStage: StageDefinition<IngestUnit> = {
  name: 'ingest',
  outputs: { data: { columns: SAMPLE_COLUMNS, subdir: '' } },
  unitConcurrency: 2,

  async plan(ctx) {
    const units: WorkUnit<IngestUnit>[] = [];
    const { unitRows, maxImagePixels } = ctx.config.ingest;
    for (const source of ctx.config.sources) {
      const preset = resolvePreset(source); // fails early on an unknown preset
      const configHash = stableHash({ source, preset, maxImagePixels, schema: SAMPLE_SCHEMA_VERSION });
      const files = await sourceFiles(source, ctx.baseDir);
      for (const file of files) {
        const { records, fingerprint } = await countRecords(file, source.format, ctx.conn);
        const rel = relative(ctx.baseDir, file);
        for (let start = 0; start < Math.max(records, 1); start += unitRows) {
          const end = Math.min(records, start + unitRows);
          units.push({
            id: `${source.name}:${rel}#${start}-${end}`,
            label: `${source.name} ${rel} records ${start}–${end}`,
            fingerprint: fingerprint,
            configHash,
            size: end - start,
            payload: { source, file, start, end },
          });
        }
      }
    }
    return units;
  },

  async process(unit, ctx, sink) {
    const { source, file, start, end } = unit.payload;
    const preset = resolvePreset(source);
    const batch: RawRecord[] = [];
    for await (const record of readRecords(file, source.format, start, end, ctx.conn)) batch.push(record);
    sink.inputs(batch.length);
    const uri = relative(ctx.baseDir, file);
    await mapBounded(batch, ctx.config.ingest.concurrency, async (record) => {
      const ref = { sample_id: null, source_uri: uri, locator: record.locator };
      if (!record.ok) {
        sink.quarantine(ref, record.reason, { message: record.message, raw: record.raw });
        return;
      }
      try {
        const sample = await buildSample(record, uri, file, source, preset, ctx);
        sink.keep({ ...ref, sample_id: sample.id }, toSampleRow(sample));
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        sink.quarantine(ref, err.reason, { message: err.message, raw: record.raw || safeJson(record.value) });
      }
    });
  },
};

async function buildSample(
  record: Extract<RawRecord, { ok: true }>,
  uri: string,
  file: string,
  source: QaSourceConfig,
  preset: ReturnType<typeof resolvePreset>,
  ctx: StageContext,
): Promise<Sample> {
  const mapped = mapQaRecord(record.value, preset, source.verifier);
  const imageBase = source.imageRoot ? resolve(ctx.baseDir, source.imageRoot) : dirname(file);
  const refs = [...mapped.imageRefs, ...(preset.sidecarImages ?? []).map((name) => join(dirname(file), name))];
  const media: MediaDescriptor[] = [];
  for (const ref of refs) {
    const image = await loadImage(ref, imageBase, ctx.config.ingest.maxImagePixels);
    await ctx.blobs.put(image.bytes);
    media.push(image.descriptor);
  }
  const content = interleave(mapped.question, media);
  const id = sha256Hex(`${ctx.dataset}\u0000${source.name}\u0000${mapped.recordId ?? `${uri}#${record.locator}`}`);
  return {
    id,
    schema_version: SAMPLE_SCHEMA_VERSION,
    dataset: ctx.dataset,
    source: { name: source.name, uri, locator: record.locator },
    kind: 'qa',
    domain: mapped.domainOverride ?? source.domain,
    license: mapped.licenseOverride ?? source.license ?? null,
    lang: source.lang ?? detectLang(mapped.question),
    content,
    media,
    task: mapped.task,
    signals: {
      content_hash: stableHash({ q: mapped.question.replace(/\s+/g, ' ').trim(), a: mapped.task.answer, m: media.map((m) => m.id) }),
      extra: '{}',
    },
    difficulty: unratedDifficulty(),
    meta: safeJson(mapped.meta),
  };
}

/**
 * Places images where the question's `<imageN>` placeholders are (MathVision style); without
 * placeholders the images come first, then the text, as GLM's prompts do.
 */
export function interleave(question: string, media: MediaDescriptor[]): ContentPart[] {
  const text = (t: string): ContentPart => ({ type: 'text', text: t, media_id: null });
  const image = (m: MediaDescriptor): ContentPart => ({ type: 'image', text: null, media_id: m.id });
  const placeholder = /<image(\d+)>/g;
  if (!media.length || !placeholder.test(question)) return [...media.map(image), text(question)];
  const parts: ContentPart[] = [];
  const used = new Set<number>();
  let last = 0;
  for (const match of question.matchAll(/<image(\d+)>/g)) {
    const before = question.slice(last, match.index).trim();
    if (before) parts.push(text(before));
    const index = Number(match[1]) - 1;
    const m = media[index];
    if (m && !used.has(index)) {
      parts.push(image(m));
      used.add(index);
    }
    last = (match.index ?? 0) + match[0].length;
  }
  const rest = question.slice(last).trim();
  if (rest) parts.push(text(rest));
  media.forEach((m, i) => used.has(i) || parts.unshift(image(m)));
  return parts;
}

async function sourceFiles(source: QaSourceConfig, baseDir: string): Promise<string[]> {
  const path = resolve(baseDir, source.path);
  if (existsSync(path) && statSync(path).isFile()) return [path];
  const pattern = existsSync(path) && statSync(path).isDirectory() ? `**/*.${source.format}` : relative(baseDir, path);
  const files = await glob(pattern, { cwd: existsSync(path) && statSync(path).isDirectory() ? path : baseDir, absolute: true, onlyFiles: true });
  if (files.length === 0) throw new RecordError('no_input', `source ${source.name}: nothing matches ${source.path} (relative to ${baseDir})`);
  return files.sort();
}

function detectLang(text: string): string {
  const cjk = text.match(/[\u3400-\u9fff]/g)?.length ?? 0;
  return cjk > text.length * 0.1 ? 'zh' : 'en';
}

function safeJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === 'bigint' ? Number(v) : v)) ?? 'null';
}
