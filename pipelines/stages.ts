import type { StageDefinition } from './shared/runner/stage.js';
import type { StageName } from './shared/store/layout.js';

/** Every stage, loaded on demand so `run ingest` does not load the verifiers and `run export` no CAS. */
export const STAGE_DEFINITIONS: Record<StageName, () => Promise<StageDefinition<never>>> = {
  ingest: async () => (await import('./ingest/stage.js')).ingestStage as StageDefinition<never>,
  difficulty: async () => (await import('./difficulty/stage.js')).difficultyStage as StageDefinition<never>,
  export: async () => (await import('./export/stage.js')).exportStage as StageDefinition<never>,
};
