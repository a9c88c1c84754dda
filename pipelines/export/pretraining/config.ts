import { z } from 'zod';
import { SAMPLE_KINDS } from '../../../schemas/sample.js';

const bucketName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'bucket names become folder names: letters, digits, dash, underscore');
const kind = z.enum(SAMPLE_KINDS);

/** One quality bucket: samples whose score is ≥ `min` and below the next higher bucket's `min`. */
export const qualityBucketSchema = z.object({ name: bucketName, min: z.number().finite() }).strict();

export const qualitySchema = z
  .object({
    /**
     * Where the score is read: a dot path into the sample's `signals` (typed fields the filter stage
     * writes first, then the `signals.extra` JSON object), e.g. `quality_score` or `clip.score`.
     * `signals.quality` itself is the filter's struct of measurements, not one score: name a number.
     */
    score: z.string().min(1).default('quality_score'),
    /** Highest `min` first is not required; a sample goes to the bucket with the highest `min` ≤ its score. */
    buckets: z
      .array(qualityBucketSchema)
      .min(1)
      .default([
        { name: 'high', min: 0.8 },
        { name: 'medium', min: 0.5 },
        { name: 'low', min: 0 },
      ])
      .refine((b) => new Set(b.map((x) => x.name)).size === b.length, { message: 'bucket names must be unique' }),
    /** Bucket for samples without a score (until the filter stage scores everything). */
    missing: bucketName.default('unscored'),
    /** Scores below the lowest bucket's `min`: `drop` them (ledger reason `below_quality_floor`) or put them in the lowest bucket. */
    belowFloor: z.enum(['drop', 'lowest']).default('drop'),
  })
  .strict()
  .refine((q) => !q.buckets.some((b) => b.name === q.missing), { message: 'missing must not name a scored bucket' });

export const pretrainingSchema = z
  .object({
    /** Stage whose samples are exported (the stage before difficulty keeps samples that have no verifiable task). */
    from: z.enum(['ingest', 'filter', 'difficulty']).default('filter'),
    /** Kinds exported at all; other kinds are dropped with reason `kind_not_exported:<kind>`. */
    kinds: z.array(kind).default(['caption', 'interleaved', 'ocr', 'grounding', 'gui', 'video']),
    /**
     * Image bytes per work unit: upstream units are cut into slices of about this size. It bounds a
     * unit's memory (the interleaved Parquet of a unit is written in one go) and the tar shards (a
     * shard never spans units), so shards are at most min(shardBytes, unitBytes) plus one sample.
     */
    unitBytes: z.number().int().positive().default(256_000_000),
    quality: qualitySchema.default(() => qualitySchema.parse({})),
    webdataset: z
      .object({
        /** A shard is closed before it would grow past this many bytes (a single larger sample gets a shard of its own). */
        shardBytes: z.number().int().positive().default(1_000_000_000),
        kinds: z.array(kind).default(['caption', 'interleaved', 'ocr', 'grounding', 'gui', 'video']),
      })
      .strict()
      .default({ shardBytes: 1_000_000_000, kinds: ['caption', 'interleaved', 'ocr', 'grounding', 'gui', 'video'] }),
    interleaved: z
      .object({ kinds: z.array(kind).default(['interleaved', 'ocr', 'video']) })
      .strict()
      .default({ kinds: ['interleaved', 'ocr', 'video'] }),
    sft: z
      .object({
        kinds: z.array(kind).default(['grounding', 'gui', 'ocr', 'caption']),
        /**
         * The human turn per kind, after one `<image>` line per image. `{question}` is the task's
         * question; samples without a task use the template as the question and their text as the answer.
         */
        prompts: z.partialRecord(kind, z.string().min(1)).default({}),
      })
      .strict()
      .default({ kinds: ['grounding', 'gui', 'ocr', 'caption'], prompts: {} }),
    mixture: z
      .object({
        seed: z.number().int().default(0),
        /** Relative weight per kind and per quality bucket; a group's weight is the product (default 1; 0 leaves it out). */
        kindWeights: z.partialRecord(kind, z.number().min(0)).default({}),
        qualityWeights: z.record(bucketName, z.number().min(0)).default({}),
        /** Samples per epoch; default: every exported sample once in expectation. Groups are up- or down-sampled to their share. */
        epochSamples: z.number().int().positive().optional(),
        epochs: z.number().int().min(0).max(1000).default(1),
      })
      .strict()
      .default({ seed: 0, kindWeights: {}, qualityWeights: {}, epochs: 1 }),
  })
  .strict();

export type PretrainingConfig = z.output<typeof pretrainingSchema>;
export type QualityConfig = z.output<typeof qualitySchema>;

export { promptFor } from './prompts.js';
