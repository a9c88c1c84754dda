import { z } from 'zod';

const VIDEO_EPS = 0.05;
const VIDEO_DEFAULTS = { enabled: true, eps: VIDEO_EPS, minSharedFrames: 0.5, text: true, textEps: VIDEO_EPS };

/** `filter.embed`: image embeddings (stored once per media id and model), NSFW score and semantic dedup. */
export const embedSchema = z
  .object({
    /** false: no embeddings, no NSFW score, no semantic dedup. */
    enabled: z.boolean().default(true),
    /** A registered model name (`pnpm pipeline models list`); the built-in `nsfw-mobilenet-v2` needs no download. */
    imageModel: z.string().min(1).default('nsfw-mobilenet-v2'),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    /** ORT intra-op threads per filter worker (CPU). */
    threads: z.number().int().min(1).default(2),
    /** A model batch holds at most this many bytes of uint8 pixels (224×224×3 = 147 KiB per image). */
    batchBytes: z.number().int().min(150_528).default(16 * 1024 * 1024),
    /** Samples whose largest NSFW score (built-in model: hentai + porn + sexy) exceeds this are dropped; unset: only recorded. */
    nsfwMax: z.number().min(0).max(1).optional(),
    /**
     * Image–text relevance (needs a registered dual encoder with a text tower): caption pairs whose
     * CLIP score (cosine of the image and caption embeddings) is below `minScore.caption` are
     * dropped (the GLM-4.1V recipe keeps > 0.3 with CLIP); images inside interleaved documents whose
     * best score against the text next to them is below `minScore.interleaved` are removed from the
     * document (NeMo Curator: 0.15); an unset kind is only scored.
     */
    clipScore: z
      .object({
        enabled: z.boolean().default(true),
        minScore: z
          .object({ caption: z.number().min(-1).max(1).optional(), interleaved: z.number().min(-1).max(1).optional() })
          .strict()
          .default({ caption: 0.3, interleaved: 0.15 }),
      })
      .strict()
      .default({ enabled: true, minScore: { caption: 0.3, interleaved: 0.15 } }),
    semantic: z
      .object({
        enabled: z.boolean().default(true),
        /** k-means clusters; `auto`: about √(n/2), at least 1, at most 4096. */
        clusters: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto'),
        /** Pairs with cosine ≥ 1 − eps inside a cluster are duplicates (NeMo Curator: 0.01 for images). */
        eps: z.number().min(0).max(1).default(0.01),
        /** Which member of a duplicate group is kept. */
        keep: z.enum(['largest', 'first', 'longest_text']).default('largest'),
        /** Vectors sampled (seeded) to fit the centroids; the rest are only assigned. */
        fitSample: z.number().int().min(1).default(20_000),
        iterations: z.number().int().min(1).default(25),
        seed: z.number().int().default(0),
        /** Fit new centroids even when the previous run's centroids fit this model and cluster count. */
        recluster: z.boolean().default(false),
        /**
         * Near-duplicate video clips. Frame half: mean frame embeddings with cosine ≥ 1 − eps, or
         * near-duplicate frames (256-bit hash) shared for at least `minSharedFrames` of the shorter
         * clip (docs/embeddings.md: measured on real clips). Text half (the paper's rule, when the
         * model has a text tower and `text` is on): the clips' texts (caption, transcript, question)
         * must also embed with cosine ≥ 1 − textEps; without a text tower the frame half decides alone.
         */
        video: z
          .object({
            enabled: z.boolean().default(true),
            eps: z.number().min(0).max(1).default(VIDEO_EPS),
            minSharedFrames: z.number().gt(0).max(1).default(0.5),
            text: z.boolean().default(true),
            textEps: z.number().min(0).max(2).default(VIDEO_EPS),
          })
          .strict()
          .default(VIDEO_DEFAULTS),
      })
      .strict()
      .default({ enabled: true, clusters: 'auto', eps: 0.01, keep: 'largest', fitSample: 20_000, iterations: 25, seed: 0, recluster: false, video: VIDEO_DEFAULTS }),
  })
  .strict();

export type EmbedConfig = z.output<typeof embedSchema>;

export const EMBED_DEFAULTS: EmbedConfig = embedSchema.parse({});
