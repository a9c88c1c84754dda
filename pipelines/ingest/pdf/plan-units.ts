import { relative } from 'node:path';
import { sha256File } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { AdapterUnit } from '../adapter.js';
import { RecordError } from '../record-error.js';
import { sourceFiles } from '../source-files.js';
import { openPdf } from './pdfjs.js';

/** A slice of one PDF: pages `first`–`last` (1-based, inclusive), or the whole document as one item. */
export type PdfUnitPayload = { file: string; pages: { first: number; last: number } } | { file: string; pages: 'document' };

export interface PdfPlanOptions {
  sourceName: string;
  path: string;
  pagesPerUnit: number;
  maxFileBytes: number;
  /** One unit and one input item per document instead of page ranges. */
  wholeDocuments: boolean;
}

/**
 * Units over every PDF of a source: page ranges of `pagesPerUnit`, so a long book is many units.
 * A PDF that cannot be opened gets one whole-document unit, whose processing quarantines it.
 */
export async function planPdfUnits(opts: PdfPlanOptions, ctx: StageContext): Promise<AdapterUnit[]> {
  const units: AdapterUnit[] = [];
  for (const file of await sourceFiles(opts.sourceName, opts.path, ctx.baseDir, ['**/*.pdf', '**/*.PDF'])) {
    const rel = relative(ctx.baseDir, file);
    const fingerprint = await ctx.files.get(file, 'sha256', () => sha256File(file));
    const pages = opts.wholeDocuments ? null : await ctx.files.get(file, `pdf-pages:${opts.maxFileBytes}`, () => pageCount(file, opts.maxFileBytes));
    if (pages === null || pages === 0) {
      const payload: PdfUnitPayload = { file, pages: 'document' };
      units.push({ key: `${rel}#document`, label: `${opts.sourceName} ${rel}`, fingerprint, size: 1, payload });
      continue;
    }
    for (let first = 1; first <= pages; first += opts.pagesPerUnit) {
      const last = Math.min(pages, first + opts.pagesPerUnit - 1);
      const payload: PdfUnitPayload = { file, pages: { first, last } };
      units.push({ key: `${rel}#p${first}-${last}`, label: `${opts.sourceName} ${rel} pages ${first}–${last}`, fingerprint, size: last - first + 1, payload });
    }
  }
  return units;
}

async function pageCount(file: string, maxFileBytes: number): Promise<number | null> {
  try {
    const { doc } = await openPdf(file, maxFileBytes);
    const pages = doc.numPages;
    await doc.destroy();
    return pages;
  } catch (err) {
    if (err instanceof RecordError) return null;
    throw err;
  }
}

/** The input items of a unit and their locators: `page:N` per page, or `document`. */
export function unitLocators(payload: PdfUnitPayload): string[] {
  if (payload.pages === 'document') return ['document'];
  const { first, last } = payload.pages;
  return Array.from({ length: last - first + 1 }, (_, i) => `page:${first + i}`);
}
