import { relative, resolve } from 'node:path';
import { mapBounded } from '../../shared/concurrency.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { RecordError } from '../record-error.js';
import { storeImage } from '../sample-builder.js';
import type { OcrSourceOf } from './config.js';
import { findGroundTruth, readGroundTruth } from './ground-truth.js';
import { imageRoot, type ImageUnitPayload } from './image-units.js';
import { keepOcrSample } from './ocr-sample.js';

type PairsSource = OcrSourceOf<'pairs'>;

export function groundTruthLocator(source: PairsSource, baseDir: string): (image: string) => string | null {
  const root = imageRoot(source.path, baseDir);
  const dir = source.groundTruth ? resolve(baseDir, source.groundTruth) : null;
  return (image) => findGroundTruth(image, root, dir);
}

/** Image + ground-truth pairs: the text (and line boxes, when given) as written by the dataset. */
export async function processPairs(source: PairsSource, payload: ImageUnitPayload, ctx: StageContext, sink: UnitSink): Promise<void> {
  sink.inputs(payload.files.length);
  const locate = groundTruthLocator(source, ctx.baseDir);
  await mapBounded(payload.files, ctx.config.ingest.concurrency, async (file) => {
    const ref = { sample_id: null, source_uri: relative(ctx.baseDir, file), locator: 'file' };
    try {
      const gtFile = locate(file);
      if (!gtFile) {
        throw new RecordError('missing_ground_truth', `no <stem>.gt.txt, <stem>.txt or <stem>.csv ground truth for ${ref.source_uri}${source.groundTruth ? ` under ${source.groundTruth} or beside it` : ' beside it'}; add one or set \`groundTruth\` to the folder holding them`);
      }
      const gt = await readGroundTruth(gtFile);
      const media = await storeImage(ctx, file, ctx.baseDir);
      keepOcrSample(ctx, sink, source, ref, {
        media,
        text: gt.text,
        lines: gt.lines,
        origin: 'ground-truth',
        signals: { ground_truth: relative(ctx.baseDir, gtFile), ground_truth_format: gt.format },
      });
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      sink.quarantine(ref, err.reason, { message: err.message });
    }
  });
}
