import { stat } from 'node:fs/promises';
import { stableHash } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit } from '../adapter.js';
import { readWebDatasetSamples, type WebDatasetItem, type WebDatasetSample } from '../readers/tar.js';
import { rejectFile, sourceFiles, sourceUri } from '../source-files.js';
import { captionsFromBytes, type CaptionRead } from './captions.js';
import type { CaptionSourceConfig } from './config.js';
import { emitCaptionItem, type CaptionEnv } from './emit.js';

export interface WebDatasetPayload {
  layout: 'webdataset';
  file: string;
}

/** Members above this are refused without being held in memory. */
const MAX_MEMBER_BYTES = 64 * 1024 * 1024;
/** For the progress bar only: a typical image-caption sample in a shard. */
const TYPICAL_SAMPLE_BYTES = 100_000;

/** One unit per shard (shards are the unit WebDataset writers already bound, typically 1–10k samples). */
export async function planWebDataset(source: CaptionSourceConfig, ctx: StageContext): Promise<AdapterUnit[]> {
  const units: AdapterUnit[] = [];
  for (const file of await sourceFiles(source.name, source.path, ctx.baseDir, ['**/*.tar', '**/*.tar.gz', '**/*.tgz'])) {
    const { size, mtimeMs } = await stat(file);
    if (size === 0) {
      await rejectFile(file, 'empty_file', `${file} is empty (0 bytes): not a tar shard`);
      continue;
    }
    const uri = sourceUri(file, ctx.baseDir);
    const payload: WebDatasetPayload = { layout: 'webdataset', file };
    units.push({ key: uri, label: `${source.name} ${uri}`, fingerprint: stableHash([size, Math.floor(mtimeMs)]), size: Math.max(1, Math.round(size / TYPICAL_SAMPLE_BYTES)), payload });
  }
  return units;
}

/** Streams the shard; at most `ingest.concurrency` samples are held and decoded at once. */
export async function processWebDataset(payload: WebDatasetPayload, env: CaptionEnv, sink: UnitSink): Promise<void> {
  const uri = sourceUri(payload.file, env.ctx.baseDir);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  let items = 0;
  for await (const item of readWebDatasetSamples(payload.file, { maxMemberBytes: MAX_MEMBER_BYTES })) {
    items++;
    const task = handleItem(item, uri, env, sink)
      .catch((err: unknown) => void (failure ??= err))
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= env.ctx.config.ingest.concurrency) await Promise.race(inFlight);
    if (failure) break;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  if (items === 0) {
    sink.inputs(1);
    sink.quarantine({ sample_id: null, source_uri: uri, locator: 'file' }, 'empty_archive', { message: `${uri} holds no samples (an empty tar, or not a tar at all)` });
  }
}

async function handleItem(item: WebDatasetItem, uri: string, env: CaptionEnv, sink: UnitSink): Promise<void> {
  if (item.kind === 'refused') {
    sink.inputs(1);
    sink.quarantine({ sample_id: null, source_uri: uri, locator: `member:${item.member.rawName}` }, item.member.reason, {
      message: `${item.member.message}; the member was skipped and nothing was written`,
    });
    return;
  }
  if (item.kind === 'broken') {
    sink.inputs(1);
    sink.quarantine({ sample_id: null, source_uri: uri, locator: `after:${item.after ?? '(start)'}` }, 'corrupt_archive', {
      message: `the tar could not be read past ${item.after ?? 'its start'}: ${item.message}; the samples before were ingested, re-create the shard to recover the rest`,
    });
    return;
  }
  const { sample } = item;
  const { source } = env;
  const imageExt = source.imageExtensions.map((e) => e.toLowerCase()).find((e) => sample.parts.has(e));
  const metaJson = sample.parts.get('json');
  await emitCaptionItem(
    {
      uri,
      locator: `key:${sample.key}`,
      recordId: null,
      image: imageExt ? (sample.parts.get(imageExt) as Buffer) : null,
      imageBase: '/',
      captions: readCaptionMember(sample, source),
      meta: { key: sample.key, members: sample.names, ...(metaJson ? parseJsonMeta(metaJson) : {}) },
      raw: JSON.stringify({ key: sample.key, members: sample.names }),
    },
    env,
    sink,
  );
}

function readCaptionMember(sample: WebDatasetSample, source: CaptionSourceConfig): CaptionRead | null {
  for (const ext of source.captionExtensions.map((e) => e.toLowerCase())) {
    const bytes = sample.parts.get(ext);
    if (bytes) return captionsFromBytes(bytes, ext, source.captionFields, `${sample.key}.${ext}`);
  }
  return null;
}

/** The sample's .json member as meta (LAION-style url, similarity, ...), when it is a JSON object. */
function parseJsonMeta(bytes: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? { json: value } : {};
  } catch {
    return {};
  }
}
