/**
 * The model generators as entries of the synthesize stage's registry (pipelines/synthesize/registry.ts).
 * Their settings live in `synthesize.models` (one section: the roles share endpoints, the journal and
 * connection limits); each entry's own options are only `enabled`, default false, so `synthesize: {}`
 * never calls a model. Per worker, `setup` opens the model resources (clients, the request journal in
 * `synthesize/_journal/`, the prompt templates) and builds the configured generator; the stage hands
 * both to `applies`/`generate` as the `resources` of the one GeneratorContext every generator gets.
 *
 * Only types and light modules are imported at the top level here (the config loader reads the
 * registry); the model modules load in `setup`.
 */
import { z } from 'zod';
import type { StageContext } from '../../shared/runner/stage.js';
import type { Generator, GeneratorContext, GeneratorEntry } from '../generator.js';
import { modelSynthesisConfigSchema, type ModelSynthesisConfig } from './config.js';
import type { ModelSynthesisContext } from './context.js';

export const modelEntryOptions = z.object({ enabled: z.boolean().default(false) }).strict();
export type ModelEntryOptions = z.output<typeof modelEntryOptions>;

/** What a model entry holds per worker: the model resources and its generator built from the config. */
export interface ModelEntryResources {
  model: ModelSynthesisContext;
  generator: Generator<ModelSynthesisContext>;
}

type Ctx = GeneratorContext<ModelEntryOptions, ModelEntryResources>;

/** The `synthesize.models` section of the stage's dataset (defaults when absent). */
export function modelsOf(ctx: StageContext): ModelSynthesisConfig {
  return ctx.config.synthesize?.models ?? modelSynthesisConfigSchema.parse({});
}

const MODEL_GENERATORS = ['recaption', 'teacher_questions'] as const;

function modelEntry(name: 'recaption' | 'teacher_questions', version: number): GeneratorEntry<ModelEntryOptions, ModelEntryResources> {
  return {
    generator: {
      name,
      version,
      mode: 'model',
      applies: (sample, ctx?: Ctx) => (ctx ? ctx.resources.generator.applies(sample) : false),
      generate: (sample, ctx: Ctx) => ctx.resources.generator.generate(sample, ctx.resources.model),
    },
    options: modelEntryOptions,
    async setup(ctx) {
      const models = modelsOf(ctx);
      const { openModelSynthesis } = await import('./context.js');
      const model = await openModelSynthesis(ctx, models);
      const generator = name === 'recaption' ? (await import('./recaption.js')).recaptionGenerator(models.recaption) : (await import('./teacher-questions.js')).teacherQuestionsGenerator(models.questions);
      return { model, generator };
    },
    teardown: (res) => res.model.close(),
    // One message for all enabled model generators: the first of them prints it.
    async beforeRun(ctx) {
      const generators = ctx.config.synthesize?.generators ?? {};
      const enabled = MODEL_GENERATORS.filter((g) => generators[g]?.enabled);
      if (enabled[0] !== name) return;
      const { noEndpointNote } = await import('./context.js');
      const note = noEndpointNote(modelsOf(ctx), enabled);
      if (note) process.stderr.write(`note: ${note}\n`);
    },
  };
}

/** Versions as in recaption.ts / teacher-questions.ts (RECAPTION_VERSION, TEACHER_QUESTIONS_VERSION; a test keeps them equal). */
export const recaptionEntry = modelEntry('recaption', 1);
export const teacherQuestionsEntry = modelEntry('teacher_questions', 1);
