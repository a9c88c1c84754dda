import { PIL_FILTERS, pilCoefficients } from '../../pipelines/embed/pil-resize.js';

/**
 * The passes of the first, plain-JS port of Pillow's resample (`ImagingResample` in Resample.c):
 * horizontal pass first into 8-bit rows (only the rows the vertical pass reads), then the vertical
 * pass, one output pixel at a time. It passed the 85 Pillow reference cases; test/embed/pil-resize.test.ts
 * compares the WebAssembly passes of pipelines/embed/pil-resize.ts with it on generated cases, and
 * `pnpm bench embed` prints its speed next to theirs.
 */
// the filters and coefficient tables are shared with pil-resize.ts (proven by the 85 Pillow cases); the passes are the reference
const ONE = 2 ** 22;
const HALF = 2 ** 21;

const clip8 = (v: number): number => (v <= 0 ? 0 : v >= ONE * 256 ? 255 : Math.floor(v / ONE));

/**
 * Resizes RGB uint8 pixels (row-major, 3 channels) from `w`×`h` to `outW`×`outH` exactly as Pillow
 * does with the given resample code.
 */
export function referencePilResize(src: Uint8Array, w: number, h: number, outW: number, outH: number, resample: number): Uint8Array {
  const filter = PIL_FILTERS[resample];
  if (!filter) throw new Error(`resample ${resample}: Pillow's nearest-neighbour (0) and unknown filters are not supported; use 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or 5 (hamming)`);
  if (src.length !== w * h * 3) throw new Error(`pilResize: expected ${w}×${h}×3 bytes, got ${src.length}`);
  let img = src;
  let iw = w;
  const vert = pilCoefficients(h, outH, filter);
  if (outW !== w) {
    const horiz = pilCoefficients(w, outW, filter);
    // only the rows the vertical pass reads
    const first = outH !== h ? (vert.bounds[0] as number) : 0;
    const last = outH !== h ? (vert.bounds[(outH - 1) * 2] as number) + (vert.bounds[(outH - 1) * 2 + 1] as number) : h;
    if (outH !== h) for (let i = 0; i < outH; i++) vert.bounds[i * 2] = (vert.bounds[i * 2] as number) - first;
    const rows = last - first;
    const out = new Uint8Array(outW * rows * 3);
    const { ksize, bounds, kk } = horiz;
    for (let y = 0; y < rows; y++) {
      const row = (y + first) * w * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2] as number;
        const xmax = bounds[xx * 2 + 1] as number;
        const k = xx * ksize;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < xmax; x++) {
          const c = kk[k + x] as number;
          const p = row + (x + xmin) * 3;
          s0 += (src[p] as number) * c;
          s1 += (src[p + 1] as number) * c;
          s2 += (src[p + 2] as number) * c;
        }
        const o = (y * outW + xx) * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
    img = out;
    iw = outW;
  }
  if (outH === h) return img === src ? src.slice() : img;
  const out = new Uint8Array(iw * outH * 3);
  const { ksize, bounds, kk } = vert;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2] as number;
    const ymax = bounds[yy * 2 + 1] as number;
    const k = yy * ksize;
    for (let xx = 0; xx < iw; xx++) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let y = 0; y < ymax; y++) {
        const c = kk[k + y] as number;
        const p = ((y + ymin) * iw + xx) * 3;
        s0 += (img[p] as number) * c;
        s1 += (img[p + 1] as number) * c;
        s2 += (img[p + 2] as number) * c;
      }
      const o = (yy * iw + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}
