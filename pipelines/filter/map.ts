import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample, SampleKind } from '../../schemas/sample.js';
import { sha256Hex } from '../shared/hash.js';
import { PoolClosedError, PoolStartError, ProcessPool, WorkerCrashedError } from '../shared/pool/process-pool.js';
import { log } from '../shared/log.js';
import type { StageContext, WorkUnit } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import type { UpstreamUnit } from '../shared/runner/upstream.js';
import { readSamples } from '../shared/store/read-samples.js';
import { ConceptMatcher } from '../embed/concepts.js';
import { setupEmbed, teardownEmbed, UnitEmbedding, type EmbedResources } from '../embed/map-embed.js';
import { modelId, modelsDir, resolveModel } from '../embed/registry.js';
import { scoreRelevance, type Relevance } from '../embed/relevance.js';
import { embedVideoTexts, videoTextWanted } from '../embed/video-text.js';
import type { FilterConfig } from './config.js';
import { thresholdsFor } from './thresholds.js';
import { EvalIndex } from './decontaminate.js';
import { dedupText, judge, measureQuality, sampleText } from './heuristics.js';
import type { ImageFeatures, ImageFeatureTask } from './image-features.js';
import { MinHasher } from './minhash.js';
import { normaliseText, shingleHashes, words } from './text.js';

/** Kinds whose text is their content, so two samples with the same text (and the same images) are duplicates. */
export const TEXT_DEDUP_KINDS: ReadonlySet<SampleKind> = new Set(['qa', 'interleaved']);

/** What one filter worker holds across units: the image decode processes, the eval index, the MinHash permutations. */
export interface FilterResources {
  pool: ProcessPool<ImageFeatureTask, ImageFeatures> | null;
  evals: EvalIndex;
  minhash: MinHasher;
  concepts: ConceptMatcher;
  /** The image embedding model (null when `filter.embed.enabled` is false): its session and store open with the first image. */
  embed: LazyEmbed | null;
}

/** The embedding model's id at once (apply records it with stored scores); its ONNX session only when an image needs it. */
export interface LazyEmbed {
  id: string;
  open(): Promise<EmbedResources>;
  opened: Promise<EmbedResources> | null;
}

async function lazyEmbed(ctx: StageContext): Promise<LazyEmbed | null> {
  const config = ctx.config.filter.embed;
  if (!config.enabled) return null;
  const lazy: LazyEmbed = {
    id: modelId(await resolveModel(config.imageModel, modelsDir(ctx.loaded.baseDir))),
    opened: null,
    open: () => (lazy.opened ??= setupEmbed(ctx) as Promise<EmbedResources>),
  };
  return lazy;
}

export async function setupFilter(ctx: StageContext): Promise<FilterResources> {
  const config = ctx.config.filter;
  const size = config.imageWorkers ?? Number(process.env.STRATUM_IMAGE_WORKERS ?? availableParallelism());
  const pool =
    size > 0 && !process.env.STRATUM_POOL_WORKER
      ? new ProcessPool<ImageFeatureTask, ImageFeatures>({
          name: 'filter-image',
          workerModule: fileURLToPath(new URL(`./image-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)),
          size,
          tasksPerWorker: 4,
          taskTimeoutMs: 120_000,
        })
      : null;
  return {
    pool,
    evals: await EvalIndex.load(config.decontaminate, ctx.baseDir, ctx.conn),
    minhash: new MinHasher(config.nearText.permutations),
    embed: await lazyEmbed(ctx),
    concepts: new ConceptMatcher(config.concepts, ctx.baseDir),
  };
}

export async function teardownFilter(resources: FilterResources): Promise<void> {
  await resources.pool?.close();
  // A session that failed to open has nothing to close (its unit reported the error).
  const opened = await resources.embed?.opened?.catch(() => null);
  if (opened) await teardownEmbed(opened);
}

// sharp loads with the first image decoded in this process: text-only units never pay for it.
let imageModule: Promise<typeof import('./image-features.js')> | null = null;
const imageCode = () => (imageModule ??= import('./image-features.js'));

async function featuresOf(ids: string[], ctx: StageContext, res: FilterResources, embedding: UnitEmbedding | null = null): Promise<Map<string, ImageFeatures>> {
  const maxPixels = ctx.config.ingest.maxImagePixels;
  const out = new Map<string, ImageFeatures>();
  await Promise.all(
    ids.map(async (id) => {
      const task = { path: ctx.blobs.pathOf(id), maxPixels, ...(embedding?.missing.has(id) ? { embed: embedding.spec } : {}) };
      let features: ImageFeatures;
      try {
        features = res.pool ? await res.pool.run(task) : await (await imageCode()).imageFeatures(task);
      } catch (err) {
        if (err instanceof WorkerCrashedError) features = { ok: false, reason: `decoder_crashed: ${err.message}` };
        else if (err instanceof PoolStartError || err instanceof PoolClosedError) {
          // Not the image's fault: decode here for the rest of this worker's units.
          log.warn({ err: (err as Error).message }, 'filter image pool unavailable; decoding in-process');
          res.pool?.destroy();
          res.pool = null;
          features = await (await imageCode()).imageFeatures(task);
        } else throw err;
      }
      if (features.ok && features.pixels) {
        embedding?.add(id, features.pixels);
        delete features.pixels;
      }
      out.set(id, features);
    }),
  );
  await embedding?.finish();
  return out;
}

/**
 * The map step: per sample, the per-sample checks (heuristics, then decontamination) and, for the
 * samples that pass, the dedup signatures: text hash and MinHash bands, and the 256-bit hash with
 * its band keys for every image.
 */
export async function mapUnit(unit: WorkUnit<UpstreamUnit>, ctx: StageContext, sink: UnitSink, res: FilterResources): Promise<void> {
  const config: FilterConfig = ctx.config.filter;
  // Ingest may write a unit's samples in completion order (adapters decode concurrently), so `row`,
  // which "first seen" keep policies follow, is the order in the source: file, then locator with
  // numbers compared as numbers (line:2 before line:10), then derived before original (the synthesize
  // stage's open form of a question is kept over the multiple-choice source it shares a place with), then id.
  const samples = inSourceOrder(await readSamples(ctx.conn, unit.payload.files));
  const imageIds = [...new Set(samples.flatMap((s) => s.media.filter((m) => m.mime.startsWith('image/')).map((m) => m.id)))];
  // Without images there is nothing to embed or score: the model's session is not opened for text.
  const embed = res.embed && imageIds.length > 0 ? await res.embed.open() : null;
  const embedding = embed ? await UnitEmbedding.start(embed, ctx.conn, imageIds) : null;
  const features = await featuresOf(imageIds, ctx, res, embedding);
  const nsfwMax = embed?.config.nsfwMax;
  const clipMin = embed?.config.clipScore.minScore.caption;
  const relevance = embedding && embed?.config.clipScore.enabled ? await scoreRelevance(embedding, samples, embed.config.clipScore) : new Map<string, Relevance>();
  // the video rule's text half: one text vector per clip (docs/embeddings.md)
  const videoTexts = embed?.text && videoTextWanted(embed.config) ? await embedVideoTexts(embed.text, samples) : null;
  for (const [row, sample] of samples.entries()) {
    const images = sample.media.map((m) => (m.mime.startsWith('image/') ? (features.get(m.id) ?? null) : null));
    const text = sampleText(sample);
    const t = thresholdsFor(config, sample.kind);
    const quality = measureQuality(text, images, t.langMinChars);
    const nsfw = embedding ? maxScore(sample, embedding.scores) : null;
    const rel = relevance.get(sample.id);
    const clipScore = rel?.score ?? null;
    const base = { unit: unit.id, row, sample_id: sample.id, kind: sample.kind, quality, text_chars: quality.text_chars, nsfw, clip_score: clipScore };
    const verdict = judge(sample, quality, images, t);
    if (!verdict.ok) {
      sink.emit('samples', { ...base, status: verdict.decision, reason: verdict.reason, details: JSON.stringify(verdict.details), text_hash: null, image_key: null, pixels: null, minhash: null });
      continue;
    }
    const contamination = res.evals.matchText(sample.task?.question ?? text) ?? firstImageMatch(sample, features, res.evals);
    if (contamination) {
      sink.emit('samples', { ...base, status: 'dropped', reason: `decontaminated:${contamination.set}`, details: JSON.stringify(contamination), text_hash: null, image_key: null, pixels: null, minhash: null });
      continue;
    }
    if (nsfwMax !== undefined && nsfw !== null && nsfw > nsfwMax) {
      sink.emit('samples', { ...base, status: 'dropped', reason: 'nsfw', details: JSON.stringify({ value: nsfw, threshold: nsfwMax, model: res.embed?.id }), text_hash: null, image_key: null, pixels: null, minhash: null });
      continue;
    }
    if (sample.kind === 'caption' && clipMin !== undefined && clipScore !== null && clipScore < clipMin) {
      sink.emit('samples', { ...base, status: 'dropped', reason: 'clip_score', details: JSON.stringify({ value: clipScore, threshold: clipMin, model: res.embed?.id }), text_hash: null, image_key: null, pixels: null, minhash: null });
      continue;
    }
    // images a document loses for their CLIP score take no part in dedup; apply removes them (details say which)
    const irrelevant = new Set(rel?.removed.map((r) => r.media_id));
    const imageMedia = sample.media.filter((m) => m.mime.startsWith('image/') && !irrelevant.has(m.id));
    const imageKey = [...new Set(imageMedia.map((m) => m.id))].sort().join(',');
    const normalised = normaliseText(dedupText(sample, text));
    const textDedup = TEXT_DEDUP_KINDS.has(sample.kind) && normalised.length > 0;
    let minhash: number[] | null = null;
    const tokens = words(normalised);
    if (textDedup && config.nearText.enabled && tokens.length >= config.nearText.ngram) {
      const sig = res.minhash.signature(shingleHashes(tokens, config.nearText.ngram));
      // The reduce hashes its band keys from the signature itself (text-clusters.ts).
      minhash = Array.from(sig);
    }
    if (config.concepts.kinds.includes(sample.kind)) for (const concept of res.concepts.match(text)) sink.emit('concepts', { unit: unit.id, sample_id: sample.id, concept });
    const clipText = videoTexts?.get(sample.id);
    if (clipText) sink.emit('video_text', { unit: unit.id, sample_id: sample.id, text_chars: clipText.chars, vector: clipText.vector ? Array.from(clipText.vector) : null });
    const pixels = imageMedia.reduce((n, m) => Math.max(n, (m.width ?? 0) * (m.height ?? 0)), 0);
    sink.emit('samples', {
      ...base,
      status: 'candidate',
      reason: null,
      details: irrelevant.size ? JSON.stringify({ clip_removed: rel?.removed, threshold: rel?.threshold, model: res.embed?.id }) : null,
      text_hash: textDedup ? sha256Hex(normalised) : null,
      image_key: imageKey,
      pixels,
      minhash,
    });
    for (const [position, media] of sample.media.entries()) {
      const f = features.get(media.id);
      if (!f || !f.ok || irrelevant.has(media.id)) continue;
      const words8 = Object.fromEntries(f.hash.flatMap((h, i) => [[`h${i}`, h], [`m${i}`, f.mirrored[i]]]));
      sink.emit('images', { unit: unit.id, row, sample_id: sample.id, kind: sample.kind, media_id: media.id, position, width: f.width, height: f.height, text_chars: quality.text_chars, ...words8 });
    }
  }
}

const collator = new Intl.Collator('en', { numeric: true });
/**
 * A derived sample (synthesize) takes the place of the sample it was made from, just before it: the
 * open form of a question is then "first seen" and kept over the multiple-choice source it repeats.
 */
function inSourceOrder(samples: Sample[]): Sample[] {
  const byId = new Map(samples.map((s) => [s.id, s]));
  const placeOf = (s: Sample): Sample => (s.derived_from && byId.get(s.derived_from.sample_id)) || s;
  return samples.sort((a, b) => {
    const pa = placeOf(a);
    const pb = placeOf(b);
    return (
      collator.compare(pa.source.uri, pb.source.uri) ||
      collator.compare(pa.source.locator, pb.source.locator) ||
      Number(!a.derived_from) - Number(!b.derived_from) ||
      collator.compare(a.source.locator, b.source.locator) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );
  });
}

/** The largest NSFW score over a sample's images; null when none has one. */
function maxScore(sample: Sample, scores: Map<string, number | null>): number | null {
  let best: number | null = null;
  for (const m of sample.media) {
    const s = scores.get(m.id);
    if (s !== undefined && s !== null) best = best === null ? s : Math.max(best, s);
  }
  return best;
}

function firstImageMatch(sample: Sample, features: Map<string, ImageFeatures>, evals: EvalIndex) {
  for (const m of sample.media) {
    const f = features.get(m.id);
    if (f?.ok) {
      const hit = evals.matchImage(f.hash);
      if (hit) return hit;
    }
  }
  return null;
}
