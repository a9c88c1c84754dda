import { SAMPLE_COLUMNS, SAMPLE_SCHEMA_VERSION } from '../../schemas/sample.js';
import { stableHash } from '../shared/hash.js';
import type { StageDefinition, WorkUnit } from '../shared/runner/stage.js';
import type { AdapterUnit } from './adapter.js';
import { ADAPTERS } from './adapters.js';
import type { SourceConfig } from './source-config.js';

interface IngestUnit {
  source: SourceConfig;
  unit: AdapterUnit;
}

/** Ingest: every declared source → canonical samples, through the adapter of its type, unit by unit. */
export const ingestStage: StageDefinition<IngestUnit> = {
  name: 'ingest',
  version: 1,
  input: null,
  config: (ctx) => ({ maxImagePixels: ctx.config.ingest.maxImagePixels, schema: SAMPLE_SCHEMA_VERSION }),
  outputs: { data: { columns: SAMPLE_COLUMNS, subdir: '' } },
  unitConcurrency: 2,

  async plan(ctx, plan) {
    const units: WorkUnit<IngestUnit>[] = [];
    for (const source of ctx.config.sources) {
      const adapter = await ADAPTERS[source.type]();
      const configHash = stableHash({ source, adapter: adapter.version, stage: plan.configHash });
      for (const unit of await adapter.plan(source, ctx)) {
        units.push({ id: `${source.name}:${unit.key}`, label: unit.label, fingerprint: unit.fingerprint, configHash, size: unit.size, payload: { source, unit } });
      }
    }
    return units;
  },

  async process({ payload }, ctx, sink) {
    const adapter = await ADAPTERS[payload.source.type]();
    await adapter.process(payload.source, payload.unit, ctx, sink);
  },
};
