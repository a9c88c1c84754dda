import { relative } from 'node:path';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { RecordError } from '../record-error.js';
import { unitLocators, type PdfUnitPayload } from './plan-units.js';
import { openPdf, type PDFDocumentProxy } from './pdfjs.js';
import { documentScripts } from './scripts.js';

export interface OpenedUnit {
  doc: PDFDocumentProxy;
  uri: string;
  /** Page numbers to process (1-based); a `document` unit lists every page. */
  pages: number[];
  /** Document-level JavaScript triggers (only non-empty under the `flag` policy). */
  scripts: string[];
  info: Record<string, string>;
}

export interface OpenOptions {
  maxFileBytes: number;
  javascript: 'quarantine' | 'flag';
}

/**
 * Opens a unit's PDF and declares its input items on the sink. When the document is refused
 * (unreadable, encrypted, empty, or carrying JavaScript under the `quarantine` policy) every item
 * of the unit is quarantined with the reason and null is returned.
 */
export async function openUnit(payload: PdfUnitPayload, opts: OpenOptions, ctx: StageContext, sink: UnitSink): Promise<OpenedUnit | null> {
  const locators = unitLocators(payload);
  const uri = relative(ctx.baseDir, payload.file);
  sink.inputs(locators.length);
  const refuse = (reason: string, message: string, extra: object = {}): null => {
    for (const locator of locators) sink.quarantine({ sample_id: null, source_uri: uri, locator }, reason, { message, ...extra });
    return null;
  };
  let opened;
  try {
    opened = await openPdf(payload.file, opts.maxFileBytes);
  } catch (err) {
    if (err instanceof RecordError) return refuse(err.reason, err.message);
    throw err;
  }
  const { doc, bytes } = opened;
  if (doc.numPages === 0) {
    await doc.destroy();
    return refuse('empty_pdf', `${uri} has no pages`);
  }
  const scripts = await documentScripts(doc, bytes);
  if (scripts.length && opts.javascript === 'quarantine') {
    await doc.destroy();
    return refuse('pdf_has_javascript', `${uri} carries JavaScript (${scripts.join(', ')}); it was not executed. Set \`javascript: 'flag'\` on the source to keep its content with the triggers recorded`, { triggers: scripts });
  }
  const pages = payload.pages === 'document' ? Array.from({ length: doc.numPages }, (_, i) => i + 1) : range(payload.pages.first, payload.pages.last);
  return { doc, uri, pages, scripts, info: await documentInfo(doc) };
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

async function documentInfo(doc: PDFDocumentProxy): Promise<Record<string, string>> {
  try {
    const { info } = (await doc.getMetadata()) as unknown as { info?: Record<string, unknown> };
    const picked: Record<string, string> = {};
    for (const key of ['Title', 'Author', 'Subject', 'Creator', 'Producer']) {
      const value = info?.[key];
      if (typeof value === 'string' && value.trim()) picked[key.toLowerCase()] = value.trim().slice(0, 500);
    }
    return picked;
  } catch {
    return {};
  }
}
