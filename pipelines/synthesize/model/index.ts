/**
 * The model-based synthesis generators (docs/synthesize-models.md). The synthesize stage calls
 * `openModelSynthesis` in its per-worker `setup` (and `close()` in `teardown`), prints
 * `noEndpointNote` once in `beforeRun`, and offers each sample to `modelGenerators(config)`.
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
