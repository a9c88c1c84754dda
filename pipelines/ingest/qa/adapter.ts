import { dirname, join, resolve } from 'node:path';
import type { ContentPart, MediaDescriptor } from '../../../schemas/sample.js';
import { mapBounded } from '../../shared/concurrency.js';
import type { SourceAdapter } from '../adapter.js';
import { RecordError } from '../record-error.js';
import { countRecordsOrReject, readRecords, type RawRecord, type RecordSeek } from '../readers/records.js';
import { buildSample, imagePart, safeJson, storeImage, textPart } from '../sample-builder.js';
import { sourceFiles, sourceUri } from '../source-files.js';
import type { QaSourceConfig } from './config.js';
import { getPath, mapQaRecord } from './map-record.js';
import { resolvePreset } from './presets.js';

interface QaUnitPayload {
  file: string;
  start: number;
  end: number;
  /** JSONL: where record `start` begins (set at planning). */
  seek?: RecordSeek;
}

/** Verifiable question-answer records (jsonl / json / parquet / csv) mapped declaratively onto tasks. */
export const qaAdapter: SourceAdapter<QaSourceConfig> = {
  type: 'qa',
  version: 2, // 2: multiple-choice answers that read two ways are quarantined (ambiguous_choice_answer), not guessed

  async plan(source, ctx) {
    resolvePreset(source); // fail early on an unknown preset
    const { unitRows } = ctx.config.ingest;
    const units = [];
    for (const file of await sourceFiles(source.name, source.path, ctx.baseDir, `**/*.${source.format}`)) {
      const counted = await countRecordsOrReject(file, source.format, ctx, unitRows);
      if (!counted) continue;
      const { records, fingerprint, seeks } = counted;
      const rel = sourceUri(file, ctx.baseDir);
      for (let start = 0; start < Math.max(records, 1); start += unitRows) {
        const end = Math.min(records, start + unitRows);
        const payload: QaUnitPayload = { file, start, end, seek: seeks[start / unitRows] };
        units.push({ key: `${rel}#${start}-${end}`, label: `${source.name} ${rel} records ${start}–${end}`, fingerprint, size: end - start, payload });
      }
    }
    return units;
  },

  async process(source, unit, ctx, sink) {
    const { file, start, end, seek } = unit.payload as QaUnitPayload;
    const preset = resolvePreset(source);
    const batch: RawRecord[] = [];
    for await (const record of readRecords(file, source.format, start, end, ctx.conn, seek)) batch.push(record);
    sink.inputs(batch.length);
    const uri = sourceUri(file, ctx.baseDir);
    const imageBase = source.imageRoot ? resolve(ctx.baseDir, source.imageRoot) : dirname(file);
    await mapBounded(batch, ctx.config.ingest.concurrency, async (record) => {
      const ref = { sample_id: null, source_uri: uri, locator: record.locator };
      if (!record.ok) {
        sink.quarantine(ref, record.reason, { message: record.message, raw: record.raw });
        return;
      }
      try {
        const mapped = mapQaRecord(record.value, preset, source.verifier);
        const refs = [
          ...mapped.imageRefs,
          ...(preset.imageTemplate ? [fillTemplate(preset.imageTemplate, record.value, record.locator)] : []),
          ...(preset.sidecarImages ?? []).map((name) => join(dirname(file), name)),
        ];
        const media: MediaDescriptor[] = [];
        for (const imageRef of refs) media.push(await storeImage(ctx, imageRef, imageBase));
        const sample = buildSample(ctx, {
          source,
          uri,
          locator: record.locator,
          recordId: mapped.recordId,
          kind: 'qa',
          domain: mapped.domainOverride ?? source.domain,
          license: mapped.licenseOverride,
          content: interleave(mapped.question, media),
          media,
          task: mapped.task,
          meta: mapped.meta,
        });
        sink.keep({ ...ref, sample_id: sample.id }, { ...sample, tier: sample.difficulty.tier });
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        sink.quarantine(ref, err.reason, { message: err.message, raw: record.raw || safeJson(record.value) });
      }
    });
  },
};

/** `tables/{key}.png` → `tables/16.png`: `{key}` is the record's key (`key:16` locator), other names are record fields. */
function fillTemplate(template: string, record: unknown, locator: string): string {
  return template.replace(/\{([\w.]+)\}/g, (_, name: string) => {
    if (name === 'key') return locator.replace(/^[a-z]+:/, '');
    const value = getPath(record, name);
    if (value === undefined || value === null) throw new RecordError('missing_image', `image template ${template}: the record has no ${name}`);
    return String(value);
  });
}

/**
 * Places images where the question's `<imageN>` placeholders are (MathVision style); without
 * placeholders the images come first, then the text, as GLM's prompts do.
 */
export function interleave(question: string, media: MediaDescriptor[]): ContentPart[] {
  if (!media.length || !/<image\d+>/.test(question)) return [...media.map(imagePart), textPart(question)];
  const parts: ContentPart[] = [];
  const used = new Set<number>();
  let last = 0;
  for (const match of question.matchAll(/<image(\d+)>/g)) {
    const before = question.slice(last, match.index).trim();
    if (before) parts.push(textPart(before));
    const index = Number(match[1]) - 1;
    const m = media[index];
    if (m && !used.has(index)) {
      parts.push(imagePart(m));
      used.add(index);
    }
    last = (match.index ?? 0) + match[0].length;
  }
  const rest = question.slice(last).trim();
  if (rest) parts.push(textPart(rest));
  media.forEach((m, i) => used.has(i) || parts.unshift(imagePart(m)));
  return parts;
}
