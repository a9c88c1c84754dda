/**
 * PDF throughput over the 13 Debian PDFs in ../shared/corpora/ocr/pdfs_debian (523 pages):
 * text extraction (pdfjs text content → lines → blocks), page analysis (text + operator list for
 * figure placements), rendering (144 dpi, the first pages of each PDF), and the whole `pdf` source
 * through the ingest stage (page samples with figure crops). One process, pages one after another.
 *
 *   pnpm bench ingest-pdf
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import type { Matrix } from '../pipelines/ingest/pdf/geometry.js';
import { analysePage } from '../pipelines/ingest/pdf/page-analysis.js';
import { textBlocks } from '../pipelines/ingest/pdf/page-text.js';
import { openPdf, type PDFDocumentProxy } from '../pipelines/ingest/pdf/pdfjs.js';
import { rasterPng, renderPage } from '../pipelines/ingest/pdf/render-page.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';

const CORPUS = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora', 'ocr', 'pdfs_debian');
const RENDER_PAGES_PER_PDF = 8;
const RENDER_DPI = 144;

export async function benchIngestPdf(): Promise<void> {
  if (!existsSync(CORPUS)) {
    console.log('skipped: ../shared/corpora absent');
    return;
  }
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.pdf')).sort().map((f) => join(CORPUS, f));
  console.log(`${files.length} PDFs from ${CORPUS}`);

  const text = await perPage(files, Infinity, async (doc, n) => {
    const page = await doc.getPage(n);
    const viewport = page.getViewport({ scale: 1 }).transform as Matrix;
    const blocks = textBlocks(await page.getTextContent(), viewport);
    page.cleanup();
    return blocks.length;
  });
  report('text extraction (text content → lines → blocks)', text);

  const analysis = await perPage(files, Infinity, async (doc, n) => {
    const page = await doc.getPage(n);
    const a = await analysePage(page);
    page.cleanup();
    return a.images.length;
  });
  report('page analysis (text + operator list → figure boxes)', analysis);

  const render = await perPage(files, RENDER_PAGES_PER_PDF, async (doc, n) => {
    const page = await doc.getPage(n);
    const raster = await renderPage(page, RENDER_DPI, 40_000_000);
    page.cleanup();
    return raster.width * raster.height;
  });
  report(`render at ${RENDER_DPI} dpi (first ${RENDER_PAGES_PER_PDF} pages of each PDF)`, render);

  const encode = await perPage(files, RENDER_PAGES_PER_PDF, async (doc, n) => {
    const page = await doc.getPage(n);
    const png = await rasterPng(await renderPage(page, RENDER_DPI, 40_000_000));
    page.cleanup();
    return png.length;
  });
  report(`render at ${RENDER_DPI} dpi + PNG encode (as pdf-text OCR pages)`, encode);

  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-pdf-'));
  try {
    process.env.STRATUM_LOG_LEVEL ??= 'warn';
    const loaded = validateConfig({ datasets: { pdf: { sources: [{ name: 'debian', type: 'pdf', path: CORPUS }] } } }, join(dir, 'pipeline.config.ts'));
    const started = performance.now();
    const [summary] = await runCommand(loaded, 'ingest', {});
    const seconds = (performance.now() - started) / 1000;
    const c = summary!.counts;
    console.log(`ingest stage, pdf source (page samples, figures cropped at 144 dpi, 2 units at a time): ${c.in} pages in ${seconds.toFixed(1)} s = ${(c.in / seconds).toFixed(1)} pages/s (kept ${c.kept}, dropped ${c.dropped}, quarantined ${c.quarantined})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
}

interface Timing {
  pages: number;
  seconds: number;
  total: number;
}

async function perPage(files: string[], maxPages: number, fn: (doc: PDFDocumentProxy, page: number) => Promise<number>): Promise<Timing> {
  let pages = 0;
  let total = 0;
  const started = performance.now();
  for (const file of files) {
    const { doc } = await openPdf(file, 1 << 30);
    for (let n = 1; n <= Math.min(doc.numPages, maxPages); n++) {
      total += await fn(doc, n);
      pages++;
    }
    await doc.destroy();
  }
  return { pages, seconds: (performance.now() - started) / 1000, total };
}

function report(what: string, t: Timing): void {
  console.log(`${what}: ${t.pages} pages in ${t.seconds.toFixed(2)} s = ${(t.pages / t.seconds).toFixed(1)} pages/s`);
}
