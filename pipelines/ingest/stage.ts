import { SAMPLE_COLUMNS, SAMPLE_SCHEMA_VERSION } from '../../schemas/sample.js';
import { stableHash } from '../shared/hash.js';
import { log } from '../shared/log.js';
import type { StageDefinition, WorkUnit } from '../shared/runner/stage.js';
import type { AdapterUnit } from './adapter.js';
import { IngestResources } from './resources.js';
import { loadLanguageIdentification } from './sample-builder.js';
import { ADAPTERS } from './adapters.js';
import type { SourceConfig } from './source-config.js';
import { collectRejectedFiles, sourceUri, type RejectedFile } from './source-files.js';

interface IngestUnit {
  source: SourceConfig;
  unit: AdapterUnit;
  /** A file the source names but the adapter cannot read: the unit is its one quarantine row. */
  rejected?: RejectedFile;
}

/** Ingest: every declared source → canonical samples, through the adapter of its type, unit by unit. */
export const ingestStage: StageDefinition<IngestUnit, IngestResources> = {
  name: 'ingest',
  version: 2, // 2: sample.lang identified (ELD) where the source sets none; it was 'zh' or 'en'
  input: null,
  config: (ctx) => ({ maxImagePixels: ctx.config.ingest.maxImagePixels, schema: SAMPLE_SCHEMA_VERSION }),
  outputs: { data: { columns: SAMPLE_COLUMNS, subdir: '' } },
  unitConcurrency: 2,
  // Pools and sessions belong to the worker: created on first use inside its units, released here.
  setup: async (ctx) => {
    // samples of a source that sets no lang are identified (0.4 s to load the detector)
    if (ctx.config.sources.some((source) => !source.lang)) await loadLanguageIdentification();
    return new IngestResources();
  },
  teardown: (resources) => resources.close(),

  async plan(ctx, plan) {
    // Blob temp files of a killed earlier run: nothing will ever rename them into place.
    const stale = await ctx.blobs.removeStaleTemps();
    if (stale) log.info({ removed: stale }, 'removed temp files a killed run left in the blob store');
    const units: WorkUnit<IngestUnit>[] = [];
    for (const source of ctx.config.sources) {
      const adapter = await ADAPTERS[source.type]();
      const configHash = stableHash({ source, adapter: adapter.version, stage: plan.configHash });
      const { result: planned, rejected } = await collectRejectedFiles(() => adapter.plan(source, ctx));
      for (const unit of planned) {
        units.push({ id: `${source.name}:${unit.key}`, label: unit.label, fingerprint: unit.fingerprint, configHash, size: unit.size, payload: { source, unit } });
      }
      for (const file of rejected) {
        const uri = sourceUri(file.file, ctx.baseDir);
        const unit: AdapterUnit = { key: `${uri}#file`, label: `${source.name} ${uri} (${file.reason})`, fingerprint: file.fingerprint, size: 1, payload: null };
        units.push({ id: `${source.name}:${unit.key}`, label: unit.label, fingerprint: unit.fingerprint, configHash, size: 1, payload: { source, unit, rejected: file } });
      }
    }
    return units;
  },

  async process({ payload }, ctx, sink, resources) {
    if (payload.rejected) {
      sink.inputs(1);
      sink.quarantine({ sample_id: null, source_uri: sourceUri(payload.rejected.file, ctx.baseDir), locator: 'file' }, payload.rejected.reason, { message: payload.rejected.message });
      return;
    }
    const adapter = await ADAPTERS[payload.source.type]();
    await resources.run(() => adapter.process(payload.source, payload.unit, ctx, sink));
  },
};
