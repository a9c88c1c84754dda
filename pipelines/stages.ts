import { registerStage } from './shared/runner/registry.js';

/**
 * The built-in stages, registered in dependency order and loaded on demand, so `run ingest` does
 * not load the verifiers and `run export` no CAS. A new stage is one more `registerStage` here.
 */
registerStage({ name: 'ingest', input: null, load: async () => (await import('./ingest/stage.js')).ingestStage });
registerStage({
  name: 'synthesize',
  input: 'ingest',
  load: async () => (await import('./synthesize/stage.js')).synthesizeStage,
  // Only datasets with a `synthesize` section run it; the others read ingest straight into the filter.
  enabled: (config) => config.synthesize?.enabled === true,
});
registerStage({
  name: 'filter',
  input: 'synthesize',
  load: async () => (await import('./filter/stage.js')).filterStage,
  enabled: (config) => config.filter.enabled,
});
registerStage({ name: 'difficulty', input: 'filter', load: async () => (await import('./difficulty/stage.js')).difficultyStage });
registerStage({ name: 'export', input: 'difficulty', load: async () => (await import('./export/stage.js')).exportStage });

export { loadStage, registeredStages, resolveUpstream, stageChain } from './shared/runner/registry.js';
