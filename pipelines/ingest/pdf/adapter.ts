import type { ContentPart, MediaDescriptor } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { SourceAdapter } from '../adapter.js';
import { buildSample } from '../sample-builder.js';
import type { PdfSourceConfig } from './config.js';
import { analysePage, classifyPage, imageCoverage, rtlTextLayerMessage } from './page-analysis.js';
import { pageContent } from './page-content.js';
import { openUnit, type OpenedUnit } from './open-unit.js';
import { planPdfUnits, type PdfUnitPayload } from './plan-units.js';
import { pageError } from './pdfjs.js';

interface Extracted {
  content: ContentPart[];
  media: MediaDescriptor[];
  signals: Record<string, unknown>;
}

type PageOutcome =
  | ({ decision: 'keep' } & Extracted)
  | { decision: 'drop' | 'quarantine'; reason: string; details: Record<string, unknown> };

/**
 * PDF books and papers as interleaved documents: per page (or per document), the text blocks in
 * reading order with the figures cropped from the rendered page between them.
 */
export const pdfAdapter: SourceAdapter<PdfSourceConfig> = {
  type: 'pdf',
  version: 2, // 2: pages with right-to-left text are dropped (rtl_text_layer)

  plan(source, ctx) {
    return planPdfUnits({ sourceName: source.name, path: source.path, pagesPerUnit: source.pagesPerUnit, maxFileBytes: source.maxFileBytes, wholeDocuments: source.sample === 'document' }, ctx);
  },

  async process(source, unit, ctx, sink) {
    const payload = unit.payload as PdfUnitPayload;
    const opened = await openUnit(payload, source, ctx, sink);
    if (!opened) return;
    try {
      if (payload.pages === 'document') {
        const ref = { sample_id: null, source_uri: opened.uri, locator: 'document' };
        const outcome = await documentOutcome(source, opened, ctx);
        if (outcome.decision !== 'keep') return void sink[outcome.decision](ref, outcome.reason, outcome.details);
        const { content, media, signals } = outcome;
        const sample = buildSample(ctx, { source, uri: opened.uri, locator: 'document', kind: 'interleaved', domain: source.domain, content, media, signals, meta: opened.info });
        return void sink.keep({ ...ref, sample_id: sample.id }, { ...sample, tier: sample.difficulty.tier });
      }
      for (const pageNumber of opened.pages) {
        const locator = `page:${pageNumber}`;
        const ref = { sample_id: null, source_uri: opened.uri, locator };
        const outcome = await pageOutcome(source, opened, pageNumber, ctx);
        if (outcome.decision !== 'keep') {
          sink[outcome.decision](ref, outcome.reason, outcome.details);
          continue;
        }
        const { content, media, signals } = outcome;
        const sample = buildSample(ctx, { source, uri: opened.uri, locator, kind: 'interleaved', domain: source.domain, content, media, signals, meta: opened.info });
        sink.keep({ ...ref, sample_id: sample.id }, { ...sample, tier: sample.difficulty.tier });
      }
    } finally {
      await opened.doc.destroy();
    }
  },
};

async function pageOutcome(source: PdfSourceConfig, opened: OpenedUnit, pageNumber: number, ctx: StageContext): Promise<PageOutcome> {
  let page;
  try {
    page = await opened.doc.getPage(pageNumber);
    const analysis = await analysePage(page);
    const scripts = [...opened.scripts, ...analysis.scripts];
    if (analysis.scripts.length && source.javascript === 'quarantine') {
      return { decision: 'quarantine', reason: 'pdf_has_javascript', details: { message: `page ${pageNumber} carries JavaScript (${analysis.scripts.join(', ')}); it was not executed. Set \`javascript: 'flag'\` to keep such pages`, triggers: analysis.scripts } };
    }
    const pageClass = classifyPage(analysis, source.minTextChars);
    if (pageClass === 'blank') return { decision: 'drop', reason: 'blank_page', details: { message: `page ${pageNumber} has neither text nor images` } };
    if (pageClass === 'image-only') {
      return {
        decision: 'drop',
        reason: 'image_only_page',
        details: { message: `page ${pageNumber} has no text layer but images cover ${(imageCoverage(analysis) * 100).toFixed(0)}% of it (a scan); ingest it with an \`ocr\` source in mode \`pdf-scanned\`` },
      };
    }
    if (analysis.rtlLetters > 0) {
      return {
        decision: 'drop',
        reason: 'rtl_text_layer',
        details: { message: rtlTextLayerMessage(analysis, 'ingest it with an `ocr` source in mode `pdf-scanned` and the script\'s tesseract language'), rtl_letters: analysis.rtlLetters },
      };
    }
    const content = await pageContent(page, analysis, source, ctx);
    return {
      decision: 'keep',
      content: content.content,
      media: content.media,
      signals: {
        page: pageNumber,
        pages: opened.doc.numPages,
        figures: content.figures,
        text_chars: analysis.textChars,
        skipped_images: content.skippedImages,
        ...(scripts.length ? { javascript: scripts } : {}),
      },
    };
  } catch (err) {
    const e = pageError(err, opened.uri, pageNumber);
    return { decision: 'quarantine', reason: e.reason, details: { message: e.message } };
  } finally {
    page?.cleanup();
  }
}

/** The whole document as one sample: the pages' content in order; unreadable pages are skipped and counted. */
async function documentOutcome(source: PdfSourceConfig, opened: OpenedUnit, ctx: StageContext): Promise<PageOutcome> {
  const content: ContentPart[] = [];
  const media: MediaDescriptor[] = [];
  const skippedPages: Record<string, number[]> = {};
  let figures = 0;
  const scripts = [...opened.scripts];
  for (const pageNumber of opened.pages) {
    const outcome = await pageOutcome(source, opened, pageNumber, ctx);
    if (outcome.decision !== 'keep') {
      (skippedPages[outcome.reason] ??= []).push(pageNumber);
      if (outcome.reason === 'pdf_has_javascript') return { ...outcome, details: { ...outcome.details, message: `document ${opened.uri}: ${outcome.details.message as string}` } };
      continue;
    }
    content.push(...outcome.content);
    for (const m of outcome.media) if (!media.some((x) => x.id === m.id)) media.push(m);
    figures += outcome.signals.figures as number;
    for (const s of (outcome.signals.javascript as string[] | undefined) ?? []) if (!scripts.includes(s)) scripts.push(s);
  }
  if (content.length === 0) {
    const reasons = Object.keys(skippedPages);
    const allCorrupt = reasons.length > 0 && reasons.every((r) => r === 'corrupt_page');
    if (allCorrupt) return { decision: 'quarantine', reason: 'corrupt_pdf', details: { message: `no page of ${opened.uri} could be read`, skipped_pages: skippedPages } };
    return { decision: 'drop', reason: reasons.length === 1 ? (reasons[0] as string) : 'no_content', details: { message: `no page of ${opened.uri} has a text layer or figures`, skipped_pages: skippedPages } };
  }
  return {
    decision: 'keep',
    content: mergeAdjacentText(content),
    media,
    signals: { pages: opened.doc.numPages, figures, skipped_pages: skippedPages, ...(scripts.length ? { javascript: scripts } : {}) },
  };
}

/** Text parts that meet across a page break become one part. */
function mergeAdjacentText(parts: ContentPart[]): ContentPart[] {
  const merged: ContentPart[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (last?.type === 'text' && part.type === 'text') merged[merged.length - 1] = { ...last, text: `${last.text}\n\n${part.text}` };
    else merged.push(part);
  }
  return merged;
}
