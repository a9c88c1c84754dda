import { z } from 'zod';
import { SAMPLE_KINDS } from '../../schemas/sample.js';
import { embedSchema, EMBED_DEFAULTS } from '../embed/config.js';
import { conceptsSchema, CONCEPTS_DEFAULTS } from '../embed/concepts-config.js';
import { LANGUAGE_CODES } from '../shared/language/codes.js';

/** Thresholds of the per-sample heuristics; every field can be overridden per kind. */
export const heuristicsSchema = z
  .object({
    /** Images whose smaller side is below this many pixels are dropped (DataComp basic filtering: 200 for photos). */
    imageMinSide: z.number().int().min(0),
    /** Images whose long/short side ratio exceeds this are dropped (DataComp: 3). */
    imageMaxAspect: z.number().min(1),
    /** Images whose greyscale standard deviation is below this are blank or solid. */
    imageMinStddev: z.number().min(0),
    /** Text (caption, question, document) length bounds, characters. */
    textMinChars: z.number().int().min(0),
    textMaxChars: z.number().int().positive(),
    textMinWords: z.number().int().min(0),
    /** Share of characters that are not letters, digits or whitespace (Gopher: 0.1 of words are symbols; math is denser). */
    maxSymbolRatio: z.number().min(0).max(1),
    /** Share of word 5-grams occurring more than once (Gopher's duplicate n-gram fraction ≈ 0.15–0.2 for 5-grams). */
    maxDupNgramRatio: z.number().min(0).max(1),
    /** Texts of fewer words are not judged for repetition (Gopher's rules only ever saw documents of ≥ 50 words; a short formula or a "Statement 1 | … Statement 2 | …" question repeats by design). */
    repetitionMinWords: z.number().int().min(0),
    /** ISO 639-3 codes kept (e.g. ['eng', 'zho']), of the detected ones (shared/language/codes.ts); empty keeps every language. Text under `langMinChars`, or of no confident language, is not judged. */
    languages: z.array(
      z.string().refine((code) => LANGUAGE_CODES.has(code), {
        error: (issue) => `"${String(issue.input)}" is not one of the ISO 639-3 codes the language identification reports: ${[...LANGUAGE_CODES].join(', ')}`,
      }),
    ),
    langMinChars: z.number().int().min(1),
  })
  .strict();

export type HeuristicThresholds = z.output<typeof heuristicsSchema>;

export { DEFAULT_HEURISTICS, thresholdsFor } from './thresholds.js';

const evalSetSchema = z
  .object({
    name: z.string().min(1),
    /** JSONL / JSON / Parquet / CSV file (or glob) of evaluation items, relative to the config file. */
    path: z.string().min(1),
    /** Field holding the question text. */
    questionField: z.string().default('question'),
    /** Field holding image paths (string or list), resolved against the file's folder; optional. */
    imageField: z.string().optional(),
  })
  .strict();

export const filterSchema = z
  .object({
    /** false: the stage is skipped and difficulty reads ingest's output directly. */
    enabled: z.boolean().default(true),
    heuristics: heuristicsSchema.partial().default({}),
    /** Per-kind overrides of the heuristics, e.g. `{ caption: { imageMinSide: 256 } }`. */
    perKind: z.partialRecord(z.enum(SAMPLE_KINDS), heuristicsSchema.partial()).default({}),
    exact: z
      .object({ media: z.boolean().default(true), text: z.boolean().default(true) })
      .strict()
      .default({ media: true, text: true }),
    nearImage: z
      .object({
        enabled: z.boolean().default(true),
        /** Hamming radius on the 256-bit DCT hash (see docs/filter.md for the measured margins). */
        radius: z.number().int().min(0).max(128).default(48),
        /**
         * Expected recall of the candidate search at the radius (pairs closer in are found more
         * often); the band layout is derived from it and the number of images (docs/filter.md).
         */
        recall: z.number().gt(0).lt(1).default(0.95),
        /** Also match horizontally flipped copies. */
        flips: z.boolean().default(true),
        /** Which member of a cluster is kept. */
        keep: z.enum(['largest', 'first', 'longest_text']).default('largest'),
        /**
         * What happens to a sample whose image is a near-duplicate of one kept elsewhere, per kind:
         * `drop_sample`, or `drop_image` (documents keep their text and lose the repeated image).
         */
        policy: z.partialRecord(z.enum(SAMPLE_KINDS), z.enum(['drop_sample', 'drop_image', 'keep'])).default({}),
      })
      .strict()
      .default({ enabled: true, radius: 48, recall: 0.95, flips: true, keep: 'largest', policy: {} }),
    nearText: z
      .object({
        enabled: z.boolean().default(true),
        ngram: z.number().int().min(1).max(20).default(5),
        permutations: z.number().int().min(16).max(1024).default(128),
        bands: z.number().int().min(1).default(16),
        /** Estimated Jaccard similarity at or above which two texts are near-duplicates. */
        threshold: z.number().gt(0).max(1).default(0.7),
        /** Texts with fewer words than the n-gram size are left to exact dedup. */
        keep: z.enum(['first', 'longest_text', 'largest']).default('first'),
      })
      .strict()
      .refine((t) => t.permutations % t.bands === 0, { message: 'permutations must be a multiple of bands' })
      .default({ enabled: true, ngram: 5, permutations: 128, bands: 16, threshold: 0.7, keep: 'first' }),
    decontaminate: z
      .object({
        sets: z.array(evalSetSchema).default([]),
        /** Word n-gram length for question overlap (datatrove: 12). Shorter questions must match whole. */
        ngram: z.number().int().min(3).max(50).default(12),
        /** Hamming radius on the 256-bit image hash for eval images. */
        imageRadius: z.number().int().min(0).max(128).default(24),
      })
      .strict()
      .default({ sets: [], ngram: 12, imageRadius: 24 }),
    /**
     * Name of a dedup index shared by several datasets (e.g. RL and pre-training sets that must not
     * overlap): a duplicate of a sample in a dataset declared earlier in the config is dropped here.
     */
    sharedIndex: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
    /** DuckDB memory limit for the reduce (it spills to disk beyond it). */
    reduceMemory: z.string().default('2GB'),
    /** Image embeddings, NSFW score and semantic dedup (docs/embeddings.md). */
    embed: embedSchema.default(EMBED_DEFAULTS),
    /** MetaCLIP-style concept balancing of captions (off without a vocabulary; docs/embeddings.md). */
    concepts: conceptsSchema.default(CONCEPTS_DEFAULTS),
    /** Image decode processes for the map (default: cores). */
    imageWorkers: z.number().int().min(0).optional(),
  })
  .strict();

export type FilterConfig = z.output<typeof filterSchema>;

