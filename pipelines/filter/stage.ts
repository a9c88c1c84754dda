import { FILTER_CONCEPT_COLUMNS, FILTER_IMAGE_COLUMNS, FILTER_SAMPLE_COLUMNS, FILTER_VIDEO_TEXT_COLUMNS } from '../../schemas/filter.js';
import { SAMPLE_COLUMNS } from '../../schemas/sample.js';
import { stableHash } from '../shared/hash.js';
import { readManifest } from '../shared/runner/manifest.js';
import type { GlobalStage, StageContext } from '../shared/runner/stage.js';
import { unitsFromUpstream, type UpstreamUnit } from '../shared/runner/upstream.js';
import { DatasetLayout } from '../shared/store/layout.js';
import { join } from 'node:path';
import type { FilterResources } from './map.js';
import type { SignatureSet } from './reduce.js';

// The work itself (heuristics, hashes, embeddings, the DuckDB reduce) is loaded when there is work:
// planning a re-run where every unit is committed needs none of it.
let mapModule: Promise<typeof import('./map.js')> | null = null;
const mapCode = () => (mapModule ??= import('./map.js'));
let applyModule: Promise<typeof import('./apply.js')> | null = null;
const applyCode = () => (applyModule ??= import('./apply.js'));

/** Datasets that share this one's index, in config order (earlier ones keep their samples), with their map folders. */
function sharedDatasets(ctx: StageContext): string[] {
  const index = ctx.config.filter.sharedIndex;
  if (!index) return [ctx.dataset];
  return Object.entries(ctx.loaded.config.datasets)
    .filter(([, c]) => c.filter.enabled && c.filter.sharedIndex === index)
    .map(([name]) => name);
}

async function otherSignatureSets(ctx: StageContext): Promise<SignatureSet[]> {
  const names = sharedDatasets(ctx);
  const sets: SignatureSet[] = [];
  for (const [rank, name] of names.entries()) {
    if (name === ctx.dataset) continue;
    const layout = new DatasetLayout(ctx.loaded.shardsDir, name);
    const where = 'filter/_map';
    const manifest = await readManifest(layout.manifest(where), where);
    const files: Record<string, string[]> = {};
    for (const record of Object.values(manifest.units)) {
      for (const [output, list] of Object.entries(record.files)) (files[output] ??= []).push(...list.map((f) => join(layout.stageDir(where), f)));
    }
    sets.push({ rank, files });
  }
  return sets;
}

/**
 * Filter: per-sample heuristics and decontamination, then exact and near-duplicate removal of
 * texts and images over the whole dataset (and over datasets that share an index). See
 * docs/filter.md for the steps, reasons and measured numbers.
 */
export const filterStage: GlobalStage<UpstreamUnit, FilterResources> = {
  kind: 'global',
  name: 'filter',
  version: 11, // 9: language identification by ELD (signals.quality.lang); 10: repetition judged from repetitionMinWords words on; 11: words of unspaced scripts segmented, marks kept (text.ts)
  input: 'synthesize',
  config: (ctx) => {
    const { imageWorkers: _w, reduceMemory: _m, embed, ...rest } = ctx.config.filter;
    // where and how fast the model runs does not change the vectors it stores
    const { device: _d, threads: _t, batchBytes: _b, ...embedResults } = embed;
    return { ...rest, embed: embedResults, maxImagePixels: ctx.config.ingest.maxImagePixels };
  },
  unitConcurrency: 2,
  plan: unitsFromUpstream,
  setup: async (ctx) => (await mapCode()).setupFilter(ctx),
  teardown: async (resources) => (await mapCode()).teardownFilter(resources),
  map: {
    outputs: {
      samples: { columns: FILTER_SAMPLE_COLUMNS, subdir: 'samples' },
      images: { columns: FILTER_IMAGE_COLUMNS, subdir: 'images' },
      concepts: { columns: FILTER_CONCEPT_COLUMNS, subdir: 'concepts' },
      video_text: { columns: FILTER_VIDEO_TEXT_COLUMNS, subdir: 'video_text' },
    },
    process: async (unit, ctx, sink, resources) => (await mapCode()).mapUnit(unit, ctx, sink, resources),
  },
  async externalInputs(ctx) {
    const names = sharedDatasets(ctx).filter((n) => n !== ctx.dataset);
    const hashes: Record<string, Record<string, string>> = {};
    for (const name of names) {
      const layout = new DatasetLayout(ctx.loaded.shardsDir, name);
      const manifest = await readManifest(layout.manifest('filter/_map'), 'filter/_map');
      hashes[name] = Object.fromEntries(Object.entries(manifest.units).map(([id, r]) => [id, r.outputHash]));
    }
    return stableHash({ order: sharedDatasets(ctx), hashes });
  },
  async reduce(ctx, input) {
    const files: Record<string, string[]> = {};
    for (const unit of input.units.values()) for (const [output, list] of Object.entries(unit.files)) (files[output] ??= []).push(...list);
    const rank = sharedDatasets(ctx).indexOf(ctx.dataset);
    const [{ reduceFilter }, { semanticInputs }] = await Promise.all([import('./reduce.js'), import('../embed/semdedup.js')]);
    return reduceFilter(ctx.config.filter, { rank, files }, await otherSignatureSets(ctx), input, await semanticInputs(ctx));
  },
  apply: {
    outputs: { data: { columns: SAMPLE_COLUMNS, subdir: '' } },
    process: async (unit, ctx, sink, resources, step) => (await applyCode()).applyUnit(unit, ctx, sink, step, resources.embed?.id ?? null),
  },
};
