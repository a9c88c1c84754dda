/**
 * Run as `node --expose-gc --import tsx render-after-gc.ts <seed> <count>`: renders generated
 * pages at seeded sizes and resolutions, then collects garbage and churns canvas memory before the
 * raster is read, as happens when sharp reads it later on a libvips thread. Prints JSON
 * `{ rendered, changed }`: `changed` counts rasters whose pixels differ from what the render
 * returned, i.e. pixels the raster did not own.
 */
import { createCanvas } from '@napi-rs/canvas';
import { loadPdfjs } from '../../../pipelines/ingest/pdf/pdfjs.js';
import { renderPage } from '../../../pipelines/ingest/pdf/render-page.js';
import { writePdf } from '../../fixtures/pdf/make-pdfs.js';

const [seed = 1, count = 8] = process.argv.slice(2).map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

let state = seed >>> 0 || 1;
const random = (): number => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);

const pdfjs = await loadPdfjs();
let changed = 0;
for (let i = 0; i < count; i++) {
  const width = 100 + Math.floor(random() * 500);
  const height = 100 + Math.floor(random() * 700);
  const content = `BT /F1 ${8 + Math.floor(random() * 20)} Tf 10 ${height / 2} Td (Page ${i} of seed ${seed}) Tj ET 0 0 1 rg ${random() * width} 10 40 40 re f`;
  const pdf = writePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${width} ${height}] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>`,
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ]);
  const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), isEvalSupported: false, verbosity: 0 }).promise;
  const page = await doc.getPage(1);
  const raster = await renderPage(page, 36 + Math.floor(random() * 150), 4_000_000);
  const snapshot = Buffer.from(raster.data);
  for (let k = 0; k < 4; k++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const churn = [];
  for (let k = 0; k < 16; k++) {
    const canvas = createCanvas(raster.width, raster.height);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, raster.width, raster.height);
    churn.push(canvas);
  }
  if (!snapshot.equals(raster.data)) changed++;
  await doc.destroy();
}
console.log(JSON.stringify({ rendered: count, changed }));
