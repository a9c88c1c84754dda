/**
 * The model-based synthesis generators (docs/synthesize-models.md). The synthesize stage runs them
 * through their registry entries (./entries.ts): per worker `openModelSynthesis` in `setup` and
 * `close()` in `teardown`, `noEndpointNote` once in `beforeRun`. `modelGenerators(config)` offers
 * both outside the stage (tests, `pnpm bench synthesize`).
 */
import type { Generator } from '../generator.js';
import type { ModelSynthesisConfig } from './config.js';
import type { ModelSynthesisContext } from './context.js';
import { recaptionGenerator } from './recaption.js';
import { teacherQuestionsGenerator } from './teacher-questions.js';

export { modelSynthesisConfigSchema, CONFIG_PATH, type ModelSynthesisConfig, type ModelSynthesisConfigInput } from './config.js';
export { openModelSynthesis, noEndpointNote, modelSynthesisResultConfig, JOURNAL_STAGE, type ModelSynthesisContext } from './context.js';
export { RECAPTION, RECAPTION_VERSION } from './recaption.js';
export { TEACHER_QUESTIONS, TEACHER_QUESTIONS_VERSION } from './teacher-questions.js';

/** Recaption and teacher_questions, configured; each says `no_endpoint` per sample when its endpoint is missing. */
export function modelGenerators(config: ModelSynthesisConfig): Generator<ModelSynthesisContext>[] {
  return [recaptionGenerator(config.recaption), teacherQuestionsGenerator(config.questions)];
}
