import { createRequire } from 'node:module';
import sharp from 'sharp';
import type { Rect } from './geometry.js';
import type { PDFPageProxy } from './pdfjs.js';

/**
 * The @napi-rs/canvas copy pdfjs loads itself (its own optional dependency, 0.1.x): pdfjs
 * polyfills `Path2D` from it, and a canvas from another copy rejects those paths.
 */
const pdfjsCanvas = createRequire(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'))('@napi-rs/canvas') as typeof import('@napi-rs/canvas');

/** A rendered page: opaque RGBA pixels and the scale from points to pixels. */
export interface PageRaster {
  data: Buffer;
  width: number;
  height: number;
  scale: number;
}

/**
 * Renders a page on a white background at `dpi`, lowered when the page would exceed `maxPixels`
 * (posters, mis-sized MediaBoxes).
 */
export async function renderPage(page: PDFPageProxy, dpi: number, maxPixels: number): Promise<PageRaster> {
  const base = page.getViewport({ scale: 1 });
  const scale = Math.min(dpi / 72, Math.sqrt(maxPixels / Math.max(1, base.width * base.height)));
  const viewport = page.getViewport({ scale });
  const width = Math.max(1, Math.floor(viewport.width));
  const height = Math.max(1, Math.floor(viewport.height));
  const canvas = pdfjsCanvas.createCanvas(width, height);
  const context = canvas.getContext('2d');
  // pdfjs is typed against the DOM canvas; @napi-rs/canvas implements the same 2D API.
  await page.render({ canvas: canvas as never, canvasContext: context as never, viewport, background: 'white' }).promise;
  // The background is opaque, so the premultiplied pixels equal the straight ones. `data()` borrows
  // the canvas's own pixel memory, which is freed when the canvas is collected: copy it, or sharp
  // (which reads the buffer later, on a libvips thread) reads freed memory.
  return { data: Buffer.from(canvas.data()), width, height, scale };
}

/** The raster (or a region of it, given in points) as a PNG. */
export async function rasterPng(raster: PageRaster, region?: Rect): Promise<Buffer> {
  let image = sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: 4 } });
  if (region) {
    const left = clamp(Math.floor(region.x1 * raster.scale), 0, raster.width - 1);
    const top = clamp(Math.floor(region.y1 * raster.scale), 0, raster.height - 1);
    const right = clamp(Math.ceil(region.x2 * raster.scale), left + 1, raster.width);
    const bottom = clamp(Math.ceil(region.y2 * raster.scale), top + 1, raster.height);
    image = image.extract({ left, top, width: right - left, height: bottom - top });
  }
  // The resolution goes into the PNG (pHYs), so OCR engines size their expectations right.
  return image.removeAlpha().withDensity(raster.scale * 72).png({ compressionLevel: 6 }).toBuffer();
}

/**
 * The share of `boxes` (in points) whose pixels show any contrast: text drawn on the page leaves
 * dark and light pixels inside its line box. A page whose text layer has lines but whose image
 * shows none of them (all white, or a black hole) must not be stored with that text as its label.
 */
export function visibleBoxShare(raster: PageRaster, boxes: readonly Rect[]): number {
  if (!boxes.length) return 1;
  let visible = 0;
  for (const box of boxes) {
    const left = clamp(Math.floor(box.x1 * raster.scale), 0, raster.width - 1);
    const top = clamp(Math.floor(box.y1 * raster.scale), 0, raster.height - 1);
    const right = clamp(Math.ceil(box.x2 * raster.scale), left + 1, raster.width);
    const bottom = clamp(Math.ceil(box.y2 * raster.scale), top + 1, raster.height);
    let lo = 255;
    let hi = 0;
    for (let y = top; y < bottom && hi - lo < MIN_CONTRAST; y++) {
      for (let x = left; x < right; x++) {
        const i = (y * raster.width + x) * 4;
        // Rec. 601 luma, integer weights
        const luma = ((raster.data[i] as number) * 77 + (raster.data[i + 1] as number) * 150 + (raster.data[i + 2] as number) * 29) >> 8;
        if (luma < lo) lo = luma;
        if (luma > hi) hi = luma;
      }
    }
    if (hi - lo >= MIN_CONTRAST) visible++;
  }
  return visible / boxes.length;
}

/** Luma range inside a line box below which the box counts as showing nothing. */
const MIN_CONTRAST = 40;

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
