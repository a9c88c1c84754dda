/**
 * OCR quality and speed, measured on ../shared/corpora/ocr:
 * - tesseract.js (the `pdf-scanned` engine: 1 worker, eng LSTM from @tesseract.js-data/eng) against
 *   the native `tesseract` CLI (5.x, Debian's eng model, OMP_THREAD_LIMIT=1, one page at a time),
 *   on the tesseract regression pages (reference: their .txt) and on Debian PDF pages rendered at
 *   200 dpi (reference: the page's text layer, lines in reading order);
 * - PP-OCRv4 (the `scene-text` engine) on the Qwen cookbook photos (no ground truth: speed only)
 *   and, for scale, on the tesseract pages.
 * CER = edit distance / reference length, whitespace runs collapsed to one space on both sides.
 *
 *   pnpm bench ocr
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { distance } from 'fastest-levenshtein';
import sharp from 'sharp';
import { DB_DEFAULTS } from '../pipelines/ingest/ocr/ppocr/db-postprocess.js';
import { ppOcr } from '../pipelines/ingest/ocr/ppocr/engine.js';
import { closeTesseractPools, DEFAULT_LANG_PATH, tesseractPool } from '../pipelines/ingest/ocr/tesseract-pool.js';
import { analysePage } from '../pipelines/ingest/pdf/page-analysis.js';
import { medianLineSize } from '../pipelines/ingest/pdf/page-text.js';
import { openPdf } from '../pipelines/ingest/pdf/pdfjs.js';
import { readingOrder } from '../pipelines/ingest/pdf/reading-order.js';
import { rasterPng, renderPage } from '../pipelines/ingest/pdf/render-page.js';

const CORPUS = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora', 'ocr');
const TESSERACT_PAGES = ['phototest', 'eurotext', '8071_093.3B', '8087_054.3B'];
/** [file, first page, pages]: one-column and two-column papers, a thesis, a manual, slides. */
const PDF_PAGES: Array<[string, number, number]> = [
  ['sample-sigconf.pdf', 2, 2],
  ['aipsamp.pdf', 1, 2],
  ['llncsdoc.pdf', 2, 2],
  ['R-intro.pdf', 10, 2],
  ['ucbthesis.pdf', 4, 1],
  ['beamer-verona.pdf', 3, 1],
];
const DPI = 200;

interface Page {
  name: string;
  png: Buffer;
  reference: string;
}

export async function benchOcr(): Promise<void> {
  if (!existsSync(CORPUS)) {
    console.log('skipped: ../shared/corpora absent');
    return;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'stratum-bench-ocr-'));
  try {
    const testPages = await tesseractTestPages();
    const pdfPages = await renderedPdfPages();
    console.log(`pages: ${testPages.length} tesseract regression pages, ${pdfPages.length} Debian PDF pages at ${DPI} dpi\n`);
    await tesseractJs(testPages[0]!.png); // warm-up: starts the worker (about a second) outside the timings
    for (const [label, pages] of [['tesseract test pages vs .txt', testPages], [`Debian PDF pages (${DPI} dpi) vs text layer`, pdfPages]] as const) {
      const js = await measure(pages, (p) => tesseractJs(p.png));
      const native = await measure(pages, (p) => tesseractCli(p.png, tmp));
      console.log(`${label}:`);
      console.log(`  tesseract.js  CER ${pct(js.cer)} (no spaces ${pct(js.cerNoSpace)})  ${js.pagesPerSecond.toFixed(2)} pages/s   per page: ${js.perPage.map((c) => pct(c)).join(' ')}`);
      console.log(`  tesseract CLI CER ${pct(native.cer)} (no spaces ${pct(native.cerNoSpace)})  ${native.pagesPerSecond.toFixed(2)} pages/s   per page: ${native.perPage.map((c) => pct(c)).join(' ')}`);
      console.log(`  ratio tesseract.js / CLI: CER ×${(js.cer / native.cer).toFixed(2)}, speed ×${(js.pagesPerSecond / native.pagesPerSecond).toFixed(2)}\n`);
    }
    await closeTesseractPools();

    const engine = await ppOcr({ threads: 1, device: 'cpu' });
    const read = async (png: Buffer, maxSide = 960): Promise<string> => {
      const { data, info } = await sharp(png).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const lines = await engine.read({ data, width: info.width, height: info.height }, { maxSide, db: DB_DEFAULTS });
      return lines.filter((l) => l.confidence >= 0.5).map((l) => l.text).join('\n');
    };
    await read(testPages[0]!.png); // warm-up: first run builds ORT's kernels
    const photos = await Promise.all(['ocr_example1', 'ocr_example2', 'ocr_example3', 'ocr_example4', 'ocr_example5'].map(async (n) => ({ name: n, png: await readFile(join(CORPUS, 'qwen25vl_cookbook_unlabeled/ocr', `${n}.jpg`)), reference: '' })));
    const scene = await measure(photos, (p) => read(p.png));
    console.log(`PP-OCRv4 (1 intra-op thread, det max side 960): ${photos.length} Qwen cookbook photos: ${scene.pagesPerSecond.toFixed(2)} images/s (no ground truth)`);
    // Lines are sorted top to bottom across the whole page, so the two 3-column UNLV pages come out row-wise:
    // their CER measures reading order more than recognition.
    for (const maxSide of [960, 2048]) {
      const ppTest = await measure(testPages, (p) => read(p.png, maxSide));
      console.log(`PP-OCRv4 on the tesseract test pages, det max side ${maxSide}: CER ${pct(ppTest.cer)}, without spaces ${pct(ppTest.cerNoSpace)} (${ppTest.pagesPerSecond.toFixed(2)} pages/s)   per page: ${ppTest.perPage.map((c) => pct(c)).join(' ')}`);
    }
    await engine.release();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (this process: pdfjs, tesseract.js workers, ONNX sessions; the CLI runs in its own processes)`);
}

async function tesseractTestPages(): Promise<Page[]> {
  return Promise.all(
    TESSERACT_PAGES.map(async (name) => ({
      name,
      png: await tiffAsPng(join(CORPUS, 'tesseract_testing', `${name}.tif`)),
      reference: await readFile(join(CORPUS, 'tesseract_testing', `${name}.txt`), 'utf8'),
    })),
  );
}

/** The scan as PNG with its resolution kept, so both engines see the same pixels and dpi. */
async function tiffAsPng(file: string): Promise<Buffer> {
  const { density } = await sharp(file).metadata();
  return sharp(file).withDensity(density ?? 300).png().toBuffer();
}

async function renderedPdfPages(): Promise<Page[]> {
  const pages: Page[] = [];
  for (const [file, first, count] of PDF_PAGES) {
    const { doc } = await openPdf(join(CORPUS, 'pdfs_debian', file), 1 << 30);
    for (let n = first; n < first + count && n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const analysis = await analysePage(page);
      const blocks = readingOrder(analysis.blocks, Math.max(6, medianLineSize(analysis.blocks)));
      const reference = blocks.flatMap((b) => b.lines.map((l) => l.text)).join('\n');
      pages.push({ name: `${file}#${n}`, png: await rasterPng(await renderPage(page, DPI, 40_000_000)), reference });
      page.cleanup();
    }
    await doc.destroy();
  }
  return pages;
}

async function measure(pages: Page[], recognise: (p: Page) => Promise<string>): Promise<{ cer: number; cerNoSpace: number; perPage: number[]; pagesPerSecond: number }> {
  let edits = 0;
  let length = 0;
  let editsNoSpace = 0;
  let lengthNoSpace = 0;
  const perPage: number[] = [];
  const started = performance.now();
  for (const page of pages) {
    const hypothesis = normalise(await recognise(page));
    const reference = normalise(page.reference);
    const d = distance(hypothesis, reference);
    edits += d;
    length += reference.length;
    perPage.push(reference.length ? d / reference.length : 0);
    // as GLM's OCR reward compares: spaces removed
    editsNoSpace += distance(hypothesis.replace(/ /g, ''), reference.replace(/ /g, ''));
    lengthNoSpace += reference.replace(/ /g, '').length;
  }
  return { cer: length ? edits / length : 0, cerNoSpace: lengthNoSpace ? editsNoSpace / lengthNoSpace : 0, perPage, pagesPerSecond: pages.length / ((performance.now() - started) / 1000) };
}

const normalise = (text: string): string => text.replace(/\s+/g, ' ').trim();
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

async function tesseractJs(png: Buffer): Promise<string> {
  return (await tesseractPool({ languages: ['eng'], langPath: DEFAULT_LANG_PATH, workers: 1 }).recognize(png)).text;
}

async function tesseractCli(png: Buffer, tmp: string): Promise<string> {
  const file = join(tmp, 'page.png');
  await writeFile(file, png);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('tesseract', [file, 'stdout', '-l', 'eng', '--oem', '1', '--psm', '3'], { env: { ...process.env, OMP_THREAD_LIMIT: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`tesseract exited with ${code}`))));
  });
}
