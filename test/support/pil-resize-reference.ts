/**
 * The first, plain-JS port of Pillow's resample (kept as the reference the WebAssembly kernel in
 * pipelines/embed/pil-resize.ts is compared against on many generated cases; it passed the same 85
 * Pillow reference cases). Pillow's `Image.resize` for 8-bit RGB (`ImagingResample` in Pillow's Resample.c), reproduced to the
 * pixel: a separable convolution whose kernel widens with the downscale factor (antialiasing),
 * coefficients normalised per output pixel and rounded to 22-bit fixed point, horizontal pass
 * first into 8-bit rows (only the rows the vertical pass reads), then the vertical pass. CLIP's and
 * SigLIP's processors (Hugging Face's PIL backend, OpenAI's and OpenCLIP's torchvision-on-PIL
 * transforms) resize with it, so the model sees these pixels only if we compute them this way;
 * libvips' kernels differ by up to tens of levels on upscales and edges
 * (test/embed/reference.test.ts has the measured differences).
 */

interface Filter {
  support: number;
  weight(x: number): number;
}

// Pillow writes these two as C floats (0.54f, 0.46f)
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

/** PIL resample codes: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING (0 NEAREST takes another code path in Pillow). */
export const PIL_FILTERS: Record<number, Filter> = {
  1: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  2: { support: 1, weight: (x) => ((x = Math.abs(x)) < 1 ? 1 - x : 0) },
  3: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  4: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  5: {
    support: 1,
    weight: (x) => {
      x = Math.abs(x);
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x *= Math.PI;
      return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Coefficients {
  ksize: number;
  /** Per output pixel: first input index and count. */
  bounds: Int32Array;
  /** Per output pixel, `ksize` fixed-point weights. */
  kk: Int32Array;
}

/** `precompute_coeffs` + `normalize_coeffs_8bpc`, for the whole input range (box = 0..inSize). */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.weight((x + xmin - center + 0.5) * ss);
      ww += w[x] as number;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? (w[x] as number) / ww : x < xmax ? (w[x] as number) : 0;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

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
  let ih = h;
  const vert = coefficients(h, outH, filter);
  if (outW !== w) {
    const horiz = coefficients(w, outW, filter);
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
    ih = rows;
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
  void ih;
  return out;
}
