import type { DuckDBConnection } from '@duckdb/node-api';
import { log } from '../shared/log.js';
import { faultPoint } from '../shared/runner/fault.js';
import type { StageContext } from '../shared/runner/stage.js';
import type { EmbedConfig } from './config.js';
import { ImageEmbedder } from './embedder.js';
import { TextEmbedder } from './text-embedder.js';
import { videoTextWanted } from './video-text.js';
import type { PixelSpec } from './preprocess.js';
import { modelsDir, resolveModel } from './registry.js';
import { EmbeddingStore } from './store.js';

/** What a filter worker holds for embeddings: the model session and the store it writes to. */
export interface EmbedResources {
  config: EmbedConfig;
  embedder: ImageEmbedder;
  /** The text tower for CLIP scores and the video rule's text half; null when the model has none (or both are off). */
  text: TextEmbedder | null;
  store: EmbeddingStore;
}

let warnedNoText = false;

export async function setupEmbed(ctx: StageContext): Promise<EmbedResources | null> {
  const config = ctx.config.filter.embed;
  if (!config.enabled) return null;
  const model = await resolveModel(config.imageModel, modelsDir(ctx.loaded.baseDir));
  const embedder = await ImageEmbedder.open(model, { device: config.device, threads: config.threads, batchBytes: config.batchBytes });
  log.debug({ model: embedder.id, provider: embedder.provider, batch: embedder.batchSize }, 'filter: image embedder ready');
  const wantsText = config.clipScore.enabled || videoTextWanted(config);
  const text = wantsText ? await TextEmbedder.open(model, { device: config.device, threads: config.threads }) : null;
  if (wantsText && !text && !warnedNoText) {
    warnedNoText = true;
    log.warn(
      { model: model.name },
      'filter: no image–text model (the image model has no text tower): CLIP scores are skipped and near-duplicate video clips are judged by their frames only; register a CLIP-family ONNX export with `pnpm pipeline models add` and set filter.embed.imageModel',
    );
  }
  const store = new EmbeddingStore(ctx.loaded.shardsDir, embedder.id);
  await store.sweep();
  return { config, embedder, text, store };
}

export async function teardownEmbed(res: EmbedResources | null): Promise<void> {
  await res?.embedder.close();
  await res?.text?.close();
}

/**
 * One unit's embedding work: the media ids the store lacks are decoded (with the model's pixels,
 * in the image pool, in the same decode as the hashes) and fed to the model in batches as they
 * arrive, so the model runs while the pool decodes the next images; each finished batch is stored
 * at once, so a killed run keeps it.
 */
export class UnitEmbedding {
  /** NSFW score per media id of this unit (stored or computed); absent when the image could not be embedded. */
  readonly scores = new Map<string, number | null>();
  readonly missing: Set<string>;
  /** Image vectors of this unit, kept only when CLIP scores are computed. */
  readonly vectors = new Map<string, Float32Array>();
  private pending: Array<{ id: string; pixels: Uint8Array }> = [];
  private running: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  embedded = 0;

  private constructor(
    private readonly res: EmbedResources,
    private readonly conn: DuckDBConnection,
    stored: Map<string, number | null>,
    ids: string[],
  ) {
    for (const [id, s] of stored) this.scores.set(id, s);
    this.missing = new Set(ids.filter((id) => !stored.has(id)));
  }

  static async start(res: EmbedResources, conn: DuckDBConnection, imageIds: string[]): Promise<UnitEmbedding> {
    const unit = new UnitEmbedding(res, conn, await res.store.lookup(conn, imageIds), imageIds);
    if (res.text && res.config.clipScore.enabled) for (const [id, v] of await res.store.vectors(conn, imageIds)) unit.vectors.set(id, v);
    return unit;
  }

  /** CLIP score (cosine) of each caption against its image, keyed by `key`; empty without a text tower. */
  async clipScores(pairs: Array<{ key: string; mediaId: string; text: string }>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const text = this.res.config.clipScore.enabled ? this.res.text : null;
    if (!text) return out;
    const usable = pairs.filter((p) => this.vectors.has(p.mediaId) && p.text.trim());
    for (let i = 0; i < usable.length; i += 64) {
      const chunk = usable.slice(i, i + 64);
      const embeds = await text.embed(chunk.map((p) => p.text));
      for (const [j, p] of chunk.entries()) {
        const v = this.vectors.get(p.mediaId) as Float32Array;
        const t = embeds[j] as Float32Array;
        let dot = 0;
        for (let k = 0; k < v.length; k++) dot += (v[k] as number) * (t[k] as number);
        out.set(p.key, dot);
      }
    }
    return out;
  }

  get spec(): PixelSpec {
    return this.res.embedder.spec;
  }

  add(id: string, pixels: Uint8Array): void {
    this.pending.push({ id, pixels });
    if (this.pending.length >= this.res.embedder.batchSize) this.runBatch();
  }

  private runBatch(): void {
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
    this.running = this.running.then(async () => {
      if (this.failure) return;
      try {
        const { vectors, nsfw } = await this.res.embedder.embed(batch.map((b) => b.pixels));
        const rows = batch.map((b, i) => ({ media_id: b.id, vector: vectors[i] as Float32Array, nsfw: nsfw[i] ?? null }));
        await this.res.store.put(this.conn, rows);
        for (const r of rows) {
          this.scores.set(r.media_id, r.nsfw);
          if (this.res.text && this.res.config.clipScore.enabled) this.vectors.set(r.media_id, r.vector);
        }
        this.embedded += rows.length;
        faultPoint('embed-batch-stored');
      } catch (err) {
        this.failure = err as Error;
      }
    });
  }

  /** Runs the last partial batch and waits for every batch; a model failure fails the unit (it is retried on the next run). */
  async finish(): Promise<void> {
    this.runBatch();
    await this.running;
    if (this.failure) throw this.failure;
  }
}
