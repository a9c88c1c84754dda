import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { RecordError } from '../record-error.js';

export type Pdfjs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
export type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

const PDFJS_DIR = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
/** pdfjs reads these with fs when the "URL" is a local folder ending in a separator: nothing is fetched. */
const STANDARD_FONT_DATA_URL = join(PDFJS_DIR, 'standard_fonts') + sep;
const CMAP_URL = join(PDFJS_DIR, 'cmaps') + sep;

let loaded: Promise<Pdfjs> | undefined;

/** The pdfjs legacy build (the one that runs on Node 20), loaded once and only by code that reads PDFs. */
export function loadPdfjs(): Promise<Pdfjs> {
  return (loaded ??= import('pdfjs-dist/legacy/build/pdf.mjs'));
}

export interface OpenedPdf {
  doc: PDFDocumentProxy;
  /** The file's bytes, kept for the raw JavaScript scan (pdfjs takes its own copy). */
  bytes: Buffer;
}

/**
 * Opens a PDF with scripting and `eval` off, fonts and CMaps from node_modules. Refusals become
 * RecordErrors: `pdf_too_large`, `not_a_pdf`, `pdf_encrypted`, `corrupt_pdf`.
 */
export async function openPdf(file: string, maxBytes: number): Promise<OpenedPdf> {
  const { size } = await stat(file);
  if (size > maxBytes) throw new RecordError('pdf_too_large', `${file} is ${size} bytes (limit ${maxBytes}; raise maxFileBytes to accept it)`);
  const bytes = await readFile(file);
  if (!bytes.subarray(0, 1024).includes('%PDF-')) {
    throw new RecordError('not_a_pdf', `${file} has no %PDF- header in its first 1024 bytes: not a PDF (or a damaged one)`);
  }
  const pdfjs = await loadPdfjs();
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes),
    // No eval-compiled font programs. Scripting is not a getDocument option: only pdf.js's viewer
    // creates the scripting sandbox (pdf.sandbox.mjs), which nothing here loads.
    isEvalSupported: false,
    standardFontDataUrl: STANDARD_FONT_DATA_URL,
    cMapUrl: CMAP_URL,
    cMapPacked: true,
    useSystemFonts: false,
    disableFontFace: true,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  try {
    return { doc: await task.promise, bytes };
  } catch (err) {
    await task.destroy().catch(() => {});
    const { name, message } = err as Error;
    if (name === 'PasswordException') {
      throw new RecordError('pdf_encrypted', `${file} needs a password to open (${message}); decrypt it (e.g. qpdf --decrypt) to ingest it`);
    }
    throw new RecordError('corrupt_pdf', `pdfjs cannot read ${file}: ${message}. The file is damaged or truncated; re-download or repair it (e.g. qpdf, mutool clean)`);
  }
}

/** Wraps a per-page failure (a damaged object, a broken stream) as a RecordError for that page. */
export function pageError(err: unknown, file: string, pageNumber: number): RecordError {
  if (err instanceof RecordError) return err;
  return new RecordError('corrupt_page', `page ${pageNumber} of ${file} cannot be read: ${(err as Error).message ?? String(err)}`);
}
