/**
 * Config of the model-based generators (recaption, teacher_questions). Endpoints use the one
 * endpoint schema the difficulty stage declares; with no endpoint a generator skips every sample
 * with reason `no_endpoint` and the run completes.
 */
import { z } from 'zod';
import { SAMPLE_KINDS } from '../../../schemas/sample.js';
import { VERIFY_DOMAINS } from '../../verify/domains.js';
import { endpointSchema } from '../../shared/config/endpoint.js';

/** Where this section sits in a dataset's config, for messages that tell the user what to set. */
export const CONFIG_PATH = 'synthesize.models';

const sampling = {
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1),
  maxTokens: z.number().int().positive(),
};

const recaptionSchema = z
  .object({
    /** The VLM that rewrites captions; absent: skip with `no_endpoint`. */
    endpoint: endpointSchema.optional(),
    temperature: sampling.temperature.default(0.2),
    topP: sampling.topP.default(1),
    maxTokens: sampling.maxTokens.default(512),
    seed: z.number().int().optional(),
    /** Recaptions asked for, one at a time, until one passes the checks (each is journalled). */
    attempts: z.number().int().min(1).max(8).default(1),
    /** Length bounds of an accepted recaption, in characters, and relative to the original. */
    minChars: z.number().int().min(1).default(20),
    maxChars: z.number().int().min(1).default(2000),
    minRatio: z.number().min(0).default(0.5),
    /** Prompt template file (relative to the config file); default prompts/synthesize/recaption.md. */
    template: z.string().min(1).optional(),
    /** Only samples of these sources (config source names); default: every caption sample. */
    sources: z.array(z.string()).optional(),
  })
  .strict()
  .refine((r) => r.minChars <= r.maxChars, { message: 'minChars must be ≤ maxChars' });

const teacherSchema = z
  .object({
    endpoint: endpointSchema.optional(),
    temperature: sampling.temperature.default(0.7),
    topP: sampling.topP.default(1),
    maxTokens: sampling.maxTokens.default(2048),
    seed: z.number().int().optional(),
  })
  .strict();

const solverSchema = z
  .object({
    endpoint: endpointSchema.optional(),
    /** Answers per question (one request with n samples). */
    n: z.number().int().min(1).max(64).default(8),
    temperature: sampling.temperature.default(1),
    topP: sampling.topP.default(1),
    maxTokens: sampling.maxTokens.default(4096),
    seed: z.number().int().optional(),
    /** How the solver's answer is read (pipelines/verify format gate); `lenient` suits any model family. */
    responseFormat: z.enum(['glm', 'glm_think', 'lenient', 'none']).default('lenient'),
  })
  .strict();

const questionsSchema = z
  .object({
    teacher: teacherSchema.default(() => teacherSchema.parse({})),
    solver: solverSchema.default(() => solverSchema.parse({})),
    /** Domain of the generated questions (the derived samples' `domain`, and what the teacher is asked for). */
    domain: z.string().min(1).default('general'),
    /** Verifier of the generated answers; default: the domain when it names a verifier, else `general`. */
    verifier: z.enum(VERIFY_DOMAINS).optional(),
    /** Questions asked of the teacher per sample. */
    perSample: z.number().int().min(1).max(20).default(3),
    /** Sample kinds questions are written for (they need at least one image). */
    kinds: z.array(z.enum(SAMPLE_KINDS)).min(1).default(['caption', 'interleaved', 'ocr']),
    sources: z.array(z.string()).optional(),
    /** Images sent per request (the first ones of the sample) and characters of its text as context. */
    maxImages: z.number().int().min(1).default(4),
    maxContextChars: z.number().int().min(0).default(4000),
    /**
     * Kept when at least this share of the solver's decided answers verify against the teacher's
     * answer: a clear majority, so above one half.
     */
    majority: z.number().gt(0.5).max(1).default(0.6),
    /** Share of the solver's answers the verifier must decide (right or wrong) for the vote to count. */
    minDecided: z.number().gt(0).max(1).default(0.5),
    /** Longest accepted question and answer, in characters. */
    maxQuestionChars: z.number().int().positive().default(1000),
    maxAnswerChars: z.number().int().positive().default(200),
    template: z.string().min(1).optional(),
  })
  .strict();

export const modelSynthesisConfigSchema = z
  .object({
    recaption: recaptionSchema.default(() => recaptionSchema.parse({})),
    questions: questionsSchema.default(() => questionsSchema.parse({})),
    /** Requests in flight per endpoint, per worker. */
    concurrency: z.number().int().positive().default(16),
    timeoutMs: z.number().int().positive().default(600_000),
    maxRetries: z.number().int().min(0).default(6),
    /** Budget per verification of a solver answer, ms. */
    verifyTimeBudgetMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type ModelSynthesisConfig = z.output<typeof modelSynthesisConfigSchema>;
export type ModelSynthesisConfigInput = z.input<typeof modelSynthesisConfigSchema>;
export type RecaptionConfig = ModelSynthesisConfig['recaption'];
export type QuestionsConfig = ModelSynthesisConfig['questions'];
