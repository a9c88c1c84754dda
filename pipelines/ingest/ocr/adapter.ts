import type { SourceAdapter } from '../adapter.js';
import { planPdfUnits, type PdfUnitPayload } from '../pdf/plan-units.js';
import type { OcrSourceConfig } from './config.js';
import { planImageUnits, type ImageUnitPayload } from './image-units.js';
import { groundTruthLocator, processPairs } from './pairs.js';
import { processPdfPages } from './pdf-pages.js';
import { processSceneText } from './scene-text.js';
import { processSynthetic, syntheticCorpus, syntheticFonts } from './synthetic.js';

/**
 * OCR data (`kind: 'ocr'`: an image and its text, a task answered with the text and checked by the
 * `ocr` verifier), in five modes: `pairs` (dataset ground truth), `pdf-text` (born-digital pages
 * and their text layer), `pdf-scanned` (tesseract.js), `scene-text` (PP-OCRv4) and `synthetic`.
 */
export const ocrAdapter: SourceAdapter<OcrSourceConfig> = {
  type: 'ocr',
  version: 2, // 2: PDF pages with right-to-left text are not labelled from their text layer (rtl_text_layer)

  async plan(source, ctx) {
    switch (source.mode) {
      case 'pdf-text':
      case 'pdf-scanned':
        return planPdfUnits({ sourceName: source.name, path: source.path, pagesPerUnit: source.pagesPerUnit, maxFileBytes: source.maxFileBytes, wholeDocuments: false }, ctx);
      case 'pairs':
        return planImageUnits({ sourceName: source.name, path: source.path, imagesPerUnit: source.imagesPerUnit, companions: groundTruthLocator(source, ctx.baseDir) }, ctx);
      case 'scene-text':
        return planImageUnits({ sourceName: source.name, path: source.path, imagesPerUnit: source.imagesPerUnit }, ctx);
      case 'synthetic': {
        syntheticFonts(source); // unknown fonts are a config error: fail before any work
        const corpus = await syntheticCorpus(source, ctx.baseDir);
        return planImageUnits({ sourceName: source.name, path: source.path, imagesPerUnit: source.imagesPerUnit, itemsPerImage: source.samplesPerImage, extraFingerprint: corpus.fingerprint }, ctx);
      }
    }
  },

  async process(source, unit, ctx, sink) {
    switch (source.mode) {
      case 'pdf-text':
      case 'pdf-scanned':
        return processPdfPages(source, unit.payload as PdfUnitPayload, ctx, sink);
      case 'pairs':
        return processPairs(source, unit.payload as ImageUnitPayload, ctx, sink);
      case 'scene-text':
        return processSceneText(source, unit.payload as ImageUnitPayload, ctx, sink);
      case 'synthetic':
        return processSynthetic(source, unit.payload as ImageUnitPayload, ctx, sink);
    }
  },
};
