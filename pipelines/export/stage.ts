import type { Sample } from '../../schemas/sample.js';
import { stableHash } from '../shared/hash.js';
import type { StageContext, StageDefinition, WorkUnit } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import { unitsFromUpstream, type UpstreamUnit } from '../shared/runner/upstream.js';
import { readSamples, type RowRange } from '../shared/store/read-samples.js';
import { EASYR1_COLUMNS, easyr1Row, IMAGE_STAGING, VERL_COLUMNS, verlRow, type ExportImage } from './formats.js';
import { finalizePretraining } from './pretraining/finalize.js';
import { isPretrainingFormat, type PretrainingFormat } from './pretraining/formats.js';
import { FILES_OUTPUT, INTERLEAVED_OUTPUT, MEMBERS_OUTPUT } from './pretraining/outputs.js';
import { pretrainingUnits } from './pretraining/plan.js';

/** Units of the pre-training formats read another upstream; their ids carry this prefix. */
const PRETRAINING_UNIT = 'pretraining:';

interface ExportUnit extends UpstreamUnit {
  role: 'rl' | 'pretraining';
  range?: RowRange;
}

function split(ctx: StageContext): { rl: string[]; pretraining: PretrainingFormat[] } {
  const formats = ctx.config.export.formats;
  return { rl: formats.filter((f) => !isPretrainingFormat(f)), pretraining: formats.filter(isPretrainingFormat) };
}

/**
 * Export: rated samples → trainer Parquet (verl and EasyR1) with image bytes embedded, filtered by
 * tier; and samples of the stage before difficulty → pre-training formats (WebDataset tar shards,
 * interleaved Parquet, LLaVA SFT conversations) bucketed by kind and quality, with a mixture file.
 */
export const exportStage: StageDefinition<ExportUnit> = {
  name: 'export',
  version: 2,
  input: 'difficulty',
  config: (ctx) => ctx.config.export,
  outputs: {
    verl: { columns: VERL_COLUMNS, subdir: 'verl', ...IMAGE_STAGING },
    easyr1: { columns: EASYR1_COLUMNS, subdir: 'easyr1', ...IMAGE_STAGING },
    interleaved: INTERLEAVED_OUTPUT,
    files: FILES_OUTPUT,
    members: MEMBERS_OUTPUT,
  },
  unitConcurrency: 2,

  async plan(ctx, plan) {
    const { pretraining: ptConfig, ...rlConfig } = ctx.config.export;
    const { rl, pretraining } = split(ctx);
    const units: WorkUnit<ExportUnit>[] = [];
    // Hash only what RL rows depend on, so configs without pre-training formats keep their old hash.
    if (rl.length || !pretraining.length) {
      for (const u of await unitsFromUpstream(ctx, { upstream: plan.upstream, configHash: stableHash({ ...rlConfig, formats: rl }) })) units.push({ ...u, payload: { ...u.payload, role: 'rl' } });
    }
    if (pretraining.length) {
      const hash = stableHash({ formats: pretraining, pretraining: ptConfig });
      // Samples from the filter unless the config switches the filter off.
      const from = ptConfig.from === 'filter' && !ctx.config.filter.enabled ? 'ingest' : ptConfig.from;
      for (const u of await pretrainingUnits(ctx, from, hash, ptConfig.unitBytes, PRETRAINING_UNIT)) units.push({ ...u, payload: { ...u.payload, role: 'pretraining' } });
    }
    return units;
  },

  async process(unit, ctx, sink) {
    // Loaded with the first pre-training unit: tar, SFT and media writers are not needed to plan or for RL rows.
    if (unit.payload.role === 'pretraining') return (await import('./pretraining/process.js')).exportPretrainingUnit(unit, ctx, sink, split(ctx).pretraining);
    return exportRlUnit(unit, ctx, sink);
  },

  // Also without pre-training formats: files and manifests of an earlier configuration are removed.
  async afterRun(ctx) {
    await finalizePretraining(ctx, split(ctx).pretraining);
  },
};

async function exportRlUnit(unit: WorkUnit<ExportUnit>, ctx: StageContext, sink: UnitSink): Promise<void> {
  const { tiers, instruction } = ctx.config.export;
  const formats = split(ctx).rl;
  const samples = await readSamples(ctx.conn, unit.payload.files);
  sink.inputs(samples.length);
  for (const sample of samples) {
    const ref = { sample_id: sample.id, source_uri: sample.source.uri, locator: sample.source.locator };
    if (!sample.task) {
      sink.drop(ref, 'no_verifiable_task');
      continue;
    }
    if (tiers && !tiers.includes(sample.difficulty.tier)) {
      sink.drop(ref, `tier_not_exported:${sample.difficulty.tier}`);
      continue;
    }
    const images = await imagesOf(sample, ctx.blobs.get.bind(ctx.blobs));
    if (formats.includes('verl')) sink.emit('verl', verlRow(sample, images, instruction, ctx.config.export.rewardFormat ?? ctx.config.difficulty.responseFormat));
    if (formats.includes('easyr1')) sink.emit('easyr1', easyr1Row(sample, images, instruction));
    sink.markKept(ref, 'exported');
  }
}

async function imagesOf(sample: Sample, read: (id: string) => Promise<Buffer>): Promise<ExportImage[]> {
  const images: ExportImage[] = [];
  for (const part of sample.content) {
    if (part.type !== 'image') continue;
    images.push({ bytes: (await read(part.media_id)).toString('base64'), path: part.media_id });
  }
  return images;
}
