import sharp from 'sharp';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { RecordError } from '../record-error.js';
import { storeImage } from '../sample-builder.js';
import { analysePage, classifyPage, imageCoverage, rtlTextLayerMessage, type PageAnalysis } from '../pdf/page-analysis.js';
import { medianLineSize } from '../pdf/page-text.js';
import { openUnit, type OpenedUnit } from '../pdf/open-unit.js';
import type { PdfUnitPayload } from '../pdf/plan-units.js';
import { pageError, type PDFPageProxy } from '../pdf/pdfjs.js';
import { readingOrder } from '../pdf/reading-order.js';
import { rasterPng, renderPage, visibleBoxShare, type PageRaster } from '../pdf/render-page.js';
import type { OcrSourceOf } from './config.js';
import { keepOcrSample, type OcrReading } from './ocr-sample.js';
import { DEFAULT_LANG_PATH, tesseractPool, type TesseractPool, type TesseractReading } from './tesseract-pool.js';

type PdfOcrSource = OcrSourceOf<'pdf-text'> | OcrSourceOf<'pdf-scanned'>;

type PageDecision = { keep: OcrReading } | { drop: string; message: string; details?: object };

/**
 * PDF pages as OCR samples. `pdf-text`: born-digital pages rendered to images, paired with their
 * text layer (lines in reading order, with boxes): exact ground truth. `pdf-scanned`: pages with no
 * (or a negligible) text layer but image content, rendered and recognised with tesseract.js.
 * Each mode drops the other mode's pages with a reason that names the other mode.
 */
export async function processPdfPages(source: PdfOcrSource, payload: PdfUnitPayload, ctx: StageContext, sink: UnitSink): Promise<void> {
  const opened = await openUnit(payload, source, ctx, sink);
  if (!opened) return;
  try {
    if (payload.pages === 'document') {
      // Planned as unreadable, readable now: the file changed during the run.
      sink.quarantine({ sample_id: null, source_uri: opened.uri, locator: 'document' }, 'pdf_changed_during_run', { message: `${opened.uri} could not be opened when the run was planned but can now; run ingest again` });
      return;
    }
    for (const pageNumber of opened.pages) {
      const ref = { source_uri: opened.uri, locator: `page:${pageNumber}` };
      let page: PDFPageProxy | undefined;
      try {
        page = await opened.doc.getPage(pageNumber);
        const decision = await pageDecision(source, opened, page, ctx);
        if ('keep' in decision) keepOcrSample(ctx, sink, source, ref, decision.keep);
        else sink.drop({ sample_id: null, ...ref }, decision.drop, { message: decision.message, ...decision.details });
      } catch (err) {
        const e = err instanceof RecordError ? err : pageError(err, opened.uri, pageNumber);
        sink.quarantine({ sample_id: null, ...ref }, e.reason, { message: e.message });
      } finally {
        page?.cleanup();
      }
    }
  } finally {
    await opened.doc.destroy();
  }
}

async function pageDecision(source: PdfOcrSource, opened: OpenedUnit, page: PDFPageProxy, ctx: StageContext): Promise<PageDecision> {
  const n = page.pageNumber;
  const analysis = await analysePage(page);
  if (analysis.scripts.length && source.javascript === 'quarantine') {
    throw new RecordError('pdf_has_javascript', `page ${n} carries JavaScript (${analysis.scripts.join(', ')}); it was not executed. Set \`javascript: 'flag'\` to keep such pages`);
  }
  const pageClass = classifyPage(analysis, source.minTextChars);
  const coverage = imageCoverage(analysis);
  const scripts = [...opened.scripts, ...analysis.scripts];
  const common = { page: n, pages: opened.doc.numPages, image_coverage: round(coverage), ...(scripts.length ? { javascript: scripts } : {}) };
  if (pageClass === 'blank') return { drop: 'blank_page', message: `page ${n} has neither text nor images` };

  if (source.mode === 'pdf-text') {
    if (pageClass === 'image-only') return { drop: 'image_only_page', message: `page ${n} has no text layer but images cover ${pct(coverage)} of it; use mode pdf-scanned to OCR it` };
    if (analysis.rtlLetters > 0) {
      return { drop: 'rtl_text_layer', message: rtlTextLayerMessage(analysis, "use mode pdf-scanned with the script's tesseract language (e.g. languages: ['ara'], langPath) to OCR it"), details: { rtl_letters: analysis.rtlLetters } };
    }
    const raster = await renderPage(page, source.renderDpi, source.maxRenderPixels);
    const shown = visibleBoxShare(raster, analysis.blocks.flatMap((b) => b.lines.map((l) => l.rect)));
    if (shown < MIN_VISIBLE_LINES) {
      throw new RecordError(
        'render_hides_text',
        `page ${n}: the rendered image shows only ${pct(shown)} of the text layer's lines (blank or solid areas where the text is: invisible text, or a failed render), so the text cannot label it`,
      );
    }
    const media = await storeImage(ctx, await rasterPng(raster), ctx.baseDir);
    const lines = textLayerLines(analysis, raster);
    return { keep: { media, text: lines.map((l) => l.text).join('\n'), lines, origin: 'text-layer', signals: { ...common, render_dpi: round(raster.scale * 72) }, meta: opened.info } };
  }

  // a right-to-left text layer is not ground truth (rtl_text_layer): such pages are read by OCR
  if (pageClass === 'text' && analysis.rtlLetters === 0) {
    return { drop: 'has_text_layer', message: `page ${n} has a text layer (${analysis.textChars} characters); use mode pdf-text, whose ground truth is exact` };
  }
  const raster = await renderPage(page, source.renderDpi, source.maxRenderPixels);
  const pool = tesseractPool({ languages: source.languages, langPath: source.langPath ?? DEFAULT_LANG_PATH, workers: source.workers });
  const { png, reading, rotation } = await recogniseUpright(await rasterPng(raster), pool, source.minConfidence);
  const signals = { ...common, render_dpi: round(raster.scale * 72), ocr_engine: 'tesseract.js', ocr_languages: source.languages, ocr_confidence: round(reading.confidence), ...(rotation ? { rotation } : {}) };
  if (!reading.text) return { drop: 'ocr_no_text', message: `tesseract found no text on page ${n}`, details: signals };
  if (reading.confidence < source.minConfidence) {
    return { drop: 'ocr_low_confidence', message: `tesseract's mean word confidence on page ${n} is ${reading.confidence.toFixed(1)} (< minConfidence ${source.minConfidence})`, details: signals };
  }
  const media = await storeImage(ctx, png, ctx.baseDir);
  return { keep: { media, text: reading.text, lines: reading.lines, origin: 'tesseract', signals, meta: opened.info } };
}

/**
 * Recognises the page; when the confidence is below `minConfidence` the page may be a scan lying
 * on its side or upside down, so the other three quarter turns are tried and the best reading
 * wins. The image kept is the one read, so the text and boxes match it.
 */
async function recogniseUpright(png: Buffer, pool: TesseractPool, minConfidence: number): Promise<{ png: Buffer; reading: TesseractReading; rotation: number }> {
  let best = { png, reading: await pool.recognize(png), rotation: 0 };
  if (best.reading.confidence >= minConfidence) return best;
  for (const rotation of [90, 180, 270]) {
    const turned = await sharp(png).rotate(rotation).png({ compressionLevel: 6 }).toBuffer();
    const reading = await pool.recognize(turned);
    if (reading.confidence > best.reading.confidence) best = { png: turned, reading, rotation };
    if (best.reading.confidence >= minConfidence) break;
  }
  return best;
}

/** The text layer's lines in reading order, boxes scaled to the rendered image's pixels. */
function textLayerLines(analysis: PageAnalysis, raster: PageRaster): OcrReading['lines'] {
  const blocks = readingOrder(analysis.blocks, Math.max(6, medianLineSize(analysis.blocks)));
  return blocks.flatMap((b) =>
    b.lines.map((l) => ({ text: l.text, box: { x1: l.rect.x1 * raster.scale, y1: l.rect.y1 * raster.scale, x2: l.rect.x2 * raster.scale, y2: l.rect.y2 * raster.scale } })),
  );
}

/** Share of text-layer lines that must be visible in the render for the page to be kept. */
const MIN_VISIBLE_LINES = 0.5;

const round = (v: number): number => Math.round(v * 1000) / 1000;
const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
