import { ingestStage } from './ingest/stage.js';
import type { StageDefinition } from './shared/runner/stage.js';
import type { StageName } from './shared/store/layout.js';

/** Every stage in pipeline order; `run all` runs them in this order. */
export const STAGE_DEFINITIONS: Partial<Record<StageName, StageDefinition<never>>> = {
  ingest: ingestStage as StageDefinition<never>,
};
