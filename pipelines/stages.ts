import { registerStage } from './shared/runner/registry.js';

/**
 * The built-in stages, registered in dependency order and loaded on demand, so `run ingest` does
 * not load the verifiers and `run export` no CAS. A new stage is one more `registerStage` here.
 */
registerStage({ name: 'ingest', input: null, load: async () => (await import('./ingest/stage.js')).ingestStage });
registerStage({
  name: 'filter',
  input: 'ingest',
  load: async () => (await import('./filter/stage.js')).filterStage,
  enabled: (config) => config.filter.enabled,
});
registerStage({ name: 'difficulty', input: 'filter', load: async () => (await import('./difficulty/stage.js')).difficultyStage });
registerStage({ name: 'export', input: 'difficulty', load: async () => (await import('./export/stage.js')).exportStage });

export { loadStage, registeredStages, resolveUpstream, stageChain } from './shared/runner/registry.js';
