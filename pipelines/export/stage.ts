import type { Sample } from '../../schemas/sample.js';
import type { StageDefinition } from '../shared/runner/stage.js';
import { unitsFromUpstream, type UpstreamUnit } from '../shared/runner/upstream.js';
import { readSamples } from '../shared/store/read-samples.js';
import { EASYR1_COLUMNS, easyr1Row, IMAGE_STAGING, VERL_COLUMNS, verlRow, type ExportImage } from './formats.js';

/** Export: rated samples → trainer Parquet (verl and EasyR1) with image bytes embedded, filtered by tier. */
export const exportStage: StageDefinition<UpstreamUnit> = {
  name: 'export',
  version: 2,
  input: 'difficulty',
  config: (ctx) => ctx.config.export,
  outputs: {
    verl: { columns: VERL_COLUMNS, subdir: 'verl', ...IMAGE_STAGING },
    easyr1: { columns: EASYR1_COLUMNS, subdir: 'easyr1', ...IMAGE_STAGING },
  },
  unitConcurrency: 2,

  plan: unitsFromUpstream,

  async process(unit, ctx, sink) {
    const { formats, tiers, instruction } = ctx.config.export;
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
  },
};

async function imagesOf(sample: Sample, read: (id: string) => Promise<Buffer>): Promise<ExportImage[]> {
  const images: ExportImage[] = [];
  for (const part of sample.content) {
    if (part.type !== 'image') continue;
    images.push({ bytes: (await read(part.media_id)).toString('base64'), path: part.media_id });
  }
  return images;
}
