import { relative } from 'node:path';
import sharp from 'sharp';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { RecordError } from '../record-error.js';
import { storeImage } from '../sample-builder.js';
import type { OcrSourceOf } from './config.js';
import type { ImageUnitPayload } from './image-units.js';
import { keepOcrSample } from './ocr-sample.js';
import { DB_DEFAULTS } from './ppocr/db-postprocess.js';
import { ppOcr, type RgbImage } from './ppocr/engine.js';

type SceneTextSource = OcrSourceOf<'scene-text'>;

/**
 * Photos and screenshots read by PP-OCRv4: the recognised lines (top to bottom) are the text,
 * their boxes the task's boxes. The text is a model's reading, a pseudo-label: the sample says so
 * (`signals.extra.text_origin = 'ppocr'`) and carries the per-line confidences.
 */
export async function processSceneText(source: SceneTextSource, payload: ImageUnitPayload, ctx: StageContext, sink: UnitSink): Promise<void> {
  sink.inputs(payload.files.length);
  const engine = await ppOcr({ threads: source.threads, device: source.device });
  const db = { ...DB_DEFAULTS, pixelThreshold: source.pixelThreshold, boxThreshold: source.boxThreshold };
  // One image at a time: the ONNX sessions already use the threads they were given.
  for (const file of payload.files) {
    const ref = { sample_id: null, source_uri: relative(ctx.baseDir, file), locator: 'file' };
    try {
      const image = await decodeRgb(file, ctx.config.ingest.maxImagePixels);
      const lines = await engine.read(image, { maxSide: source.maxSide, db });
      const kept = lines.filter((l) => l.text && l.confidence >= source.minLineConfidence);
      const signals = { ocr_engine: 'ppocr-v4', ocr_provider: engine.provider, detected_lines: lines.length, line_confidence: kept.map((l) => round(l.confidence)) };
      if (kept.length === 0) {
        sink.drop(ref, 'ocr_no_text', { message: `PP-OCR found no line with confidence ≥ ${source.minLineConfidence} in ${ref.source_uri} (${lines.length} detected)`, ...signals });
        continue;
      }
      const confidence = kept.reduce((n, l) => n + l.confidence, 0) / kept.length;
      const media = await storeImage(ctx, file, ctx.baseDir);
      keepOcrSample(ctx, sink, source, ref, {
        media,
        frame: { width: image.width, height: image.height },
        text: kept.map((l) => l.text).join('\n'),
        lines: kept.map((l) => ({ text: l.text, box: l.box })),
        origin: 'ppocr',
        signals: { ...signals, ocr_confidence: round(confidence) },
      });
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      sink.quarantine(ref, err.reason, { message: err.message });
    }
  }
}

/** The image upright (EXIF orientation applied) as 8-bit sRGB pixels. */
async function decodeRgb(file: string, maxPixels: number): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(file, { limitInputPixels: maxPixels }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new RecordError('corrupt_image', `${file}: ${(err as Error).message}`);
  }
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
