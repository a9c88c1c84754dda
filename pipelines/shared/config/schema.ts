import { z } from 'zod';
import { TIERS } from '../../../schemas/tier.js';
import { sourceSchema } from '../../ingest/source-config.js';
import { filterSchema } from '../../filter/config.js';
import { labelRuleSchema } from '../../rlcs/label-rule.js';
import { rlcsSchema } from '../../rlcs/config.js';
import { pretrainingSchema } from '../../export/pretraining/config.js';
import { PRETRAINING_FORMATS } from '../../export/pretraining/formats.js';
import { synthesizeSchema } from '../../synthesize/config.js';

// In its own module so stage config modules can use it without importing this one (which imports them).
import { endpointSchema } from './endpoint.js';
export { endpointSchema };

export const tierThresholdsSchema = z
  .object({ easy: z.number().min(0).max(1), medium: z.number().min(0).max(1) })
  .strict()
  .refine((t) => t.medium <= t.easy, { message: 'medium must be ≤ easy' });

export const difficultySchema = z
  .object({
    endpoints: z.array(endpointSchema).default([]),
    n: z.number().int().positive().default(8),
    temperature: z.number().min(0).max(2).default(1),
    topP: z.number().gt(0).max(1).default(1),
    maxTokens: z.number().int().positive().default(4096),
    seed: z.number().int().optional(),
    concurrency: z.number().int().positive().default(32),
    timeoutMs: z.number().int().positive().default(600_000),
    maxRetries: z.number().int().min(0).default(6),
    /**
     * How answers are read from responses (pipelines/verify format gate): `glm` GLM-4.1V strict,
     * `glm_think` think + one box, `lenient` \boxed{} / <answer> / a final-answer line, `none` raw.
     */
    responseFormat: z.enum(['glm', 'glm_think', 'lenient', 'none']).default('glm'),
    /**
     * Worker threads that verify rollouts with a hard time budget per verification (a pathological
     * answer cannot stall the run); 0 verifies in-process.
     */
    verifierThreads: z.number().int().min(0).default(2),
    /** Budget per verification in ms; over it the rollout scores 0 with reason `timeout`. */
    verifyTimeBudgetMs: z.number().int().positive().default(10_000),
    /** LLM judges (OpenAI-compatible) for answers the deterministic verifiers cannot decide; strict majority. */
    judges: z.array(endpointSchema).default([]),
    systemPrompt: z.string().optional(),
    tiers: tierThresholdsSchema.default({ easy: 0.75, medium: 0.25 }),
    adaptive: z
      .object({
        initialN: z.number().int().positive(),
        roundN: z.number().int().positive(),
        maxN: z.number().int().positive(),
        confidence: z.number().gt(0).lt(1).default(0.9),
      })
      .strict()
      .optional(),
    /** Difficulty priors from source labels (e.g. MATH `level`), pooled with model grading (pipelines/rlcs/label-priors.ts). */
    labels: z.array(labelRuleSchema).default([]),
  })
  .strict();

export const exportSchema = z
  .object({
    /** RL formats (verl, easyr1) read the difficulty stage; pre-training formats read `pretraining.from`. */
    formats: z.array(z.enum(['verl', 'easyr1', ...PRETRAINING_FORMATS])).default(['verl', 'easyr1']),
    /** Tiers to export; default: every tier. */
    tiers: z.array(z.enum(TIERS)).optional(),
    /** The user prompt suffix appended to each question (verl usually adds the format instruction). */
    instruction: z.string().optional(),
    /**
     * The format gate written to verl's `extra_info.format` for the reward function; default:
     * `difficulty.responseFormat`. Use `lenient` when the trainer decodes with skip_special_tokens
     * and the model's box markers are special tokens (docs/rlcs.md).
     */
    rewardFormat: z.enum(['glm', 'glm_think', 'lenient', 'none']).optional(),
    /** Pre-training formats (webdataset, interleaved, sft): see docs/export-pretraining.md. */
    pretraining: pretrainingSchema.default(() => pretrainingSchema.parse({})),
  })
  .strict();

export const datasetSchema = z
  .object({
    sources: z
      .array(sourceSchema)
      .min(1)
      .refine((s) => new Set(s.map((x) => x.name)).size === s.length, { message: 'source names must be unique' }),
    ingest: z
      .object({
        /** Records per work unit: the granularity of resume and of incremental runs. */
        unitRows: z.number().int().positive().default(2000),
        /** Images larger than this many pixels are refused (decompression bombs). */
        maxImagePixels: z.number().int().positive().default(100_000_000),
        concurrency: z.number().int().positive().default(8),
      })
      .strict()
      .default({ unitRows: 2000, maxImagePixels: 100_000_000, concurrency: 8 }),
    /** Synthesis of verifiable tasks from samples (docs/synthesize.md); the stage runs only when this section is present. */
    synthesize: synthesizeSchema.optional(),
    filter: filterSchema.default(() => filterSchema.parse({})),
    difficulty: difficultySchema.default(() => difficultySchema.parse({})),
    export: exportSchema.default(() => exportSchema.parse({})),
    rlcs: rlcsSchema.default(() => rlcsSchema.parse({})),
  })
  .strict();

export const pipelineConfigSchema = z
  .object({
    /** Output root, relative to the config file. */
    shardsDir: z.string().default('shards'),
    datasets: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dot, dash or underscore'), datasetSchema),
  })
  .strict()
  .refine((c) => Object.keys(c.datasets).length > 0, { message: 'declare at least one dataset', path: ['datasets'] });

export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;
export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type DatasetConfig = z.output<typeof datasetSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type DifficultyConfig = z.output<typeof difficultySchema>;
export type { FilterConfig } from '../../filter/config.js';
export type ExportConfig = z.output<typeof exportSchema>;
export type EndpointConfig = z.output<typeof endpointSchema>;
export type { SynthesizeConfig } from '../../synthesize/config.js';
