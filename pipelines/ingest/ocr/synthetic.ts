import { relative } from 'node:path';
import sharp from 'sharp';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { storeImage } from '../sample-builder.js';
import { SourceConfigError } from '../source-files.js';
import type { OcrSourceOf } from './config.js';
import type { ImageUnitPayload } from './image-units.js';
import { keepOcrSample } from './ocr-sample.js';
import { Random } from './synthetic/random.js';
import { defaultFontFamilies, renderTextOnBackground, unknownFonts, type Background } from './synthetic/render-text.js';
import { loadTextCorpus } from './synthetic/text-corpus.js';

type SyntheticSource = OcrSourceOf<'synthetic'>;

const MIN_BACKGROUND_SIDE = 32;

export function syntheticFonts(source: SyntheticSource): string[] {
  if (!source.fonts) return defaultFontFamilies();
  const unknown = unknownFonts(source.fonts);
  if (unknown.length) throw new SourceConfigError(`source ${source.name}: unknown font famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} (registered: ${defaultFontFamilies().join(', ')})`);
  return source.fonts;
}

export function syntheticCorpus(source: SyntheticSource, baseDir: string) {
  return loadTextCorpus(source.name, source.text, baseDir, source.fonts !== undefined);
}

/**
 * Synthetic OCR: `samplesPerImage` renderings per background image, each drawing corpus lines in
 * varied fonts, sizes, colours and rotations. The ground truth is exactly what was drawn, lines
 * top to bottom, with boxes. Every rendering is seeded by (seed, image path, variant), so a rerun
 * draws the same pixels.
 */
export async function processSynthetic(source: SyntheticSource, payload: ImageUnitPayload, ctx: StageContext, sink: UnitSink): Promise<void> {
  const fonts = syntheticFonts(source);
  const corpus = await syntheticCorpus(source, ctx.baseDir);
  const variants = Array.from({ length: source.samplesPerImage }, (_, i) => i);
  sink.inputs(payload.files.length * variants.length);
  for (const file of payload.files) {
    const uri = relative(ctx.baseDir, file);
    const refs = variants.map((v) => ({ sample_id: null, source_uri: uri, locator: `variant:${v}` }));
    let background: Background;
    try {
      background = await loadBackground(file, source.maxSide, ctx.config.ingest.maxImagePixels);
    } catch (err) {
      for (const ref of refs) sink.quarantine(ref, 'corrupt_image', { message: `background ${uri} cannot be decoded: ${(err as Error).message}` });
      continue;
    }
    if (Math.min(background.width, background.height) < MIN_BACKGROUND_SIDE) {
      for (const ref of refs) sink.drop(ref, 'background_too_small', { message: `background ${uri} is ${background.width}×${background.height}; text needs at least ${MIN_BACKGROUND_SIDE} px on each side` });
      continue;
    }
    for (const [v, ref] of refs.entries()) {
      const rng = new Random(`${source.seed}\u0000${uri}\u0000${v}`);
      const { image, lines } = await renderTextOnBackground(background, corpus.lines, { ...source, fonts }, rng);
      if (lines.length === 0) {
        sink.drop(ref, 'text_does_not_fit', { message: `no line of text fitted on ${uri} (${background.width}×${background.height}) at font sizes ${source.fontSize.join('–')} px` });
        continue;
      }
      const media = await storeImage(ctx, image, ctx.baseDir);
      keepOcrSample(ctx, sink, source, ref, {
        media,
        text: lines.map((l) => l.text).join('\n'),
        lines: lines.map((l) => ({ text: l.text, box: l.box })),
        origin: 'synthetic',
        signals: { background: uri, styles: lines.map((l) => ({ font: l.font, angle: Math.round(l.angle * 10) / 10, color: l.color })) },
      });
    }
  }
}

/** The background upright, scaled down to `maxSide`, as opaque RGBA. */
async function loadBackground(file: string, maxSide: number, maxPixels: number): Promise<Background> {
  const { data, info } = await sharp(file, { limitInputPixels: maxPixels, failOn: 'truncated' })
    .rotate()
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
