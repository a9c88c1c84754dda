import { PIL_RESIZE_WASM } from './pil-resize-wasm.js';

/**
 * Pillow's `Image.resize` for 8-bit RGB (`ImagingResample` in Pillow's Resample.c), reproduced to the
 * pixel: a separable convolution whose kernel widens with the downscale factor (antialiasing),
 * coefficients normalised per output pixel and rounded to 22-bit fixed point, horizontal pass
 * first into 8-bit rows (only the rows the vertical pass reads), then the vertical pass. The two
 * passes run in WebAssembly (`pil-resize.wat`: Pillow's int32 arithmetic, about Pillow's speed; the
 * plain-JS loops ran at a third of it), on the coefficient tables computed here once per size. CLIP's and
 * SigLIP's processors (Hugging Face's PIL backend, OpenAI's and OpenCLIP's torchvision-on-PIL
 * transforms) resize with it, so the model sees these pixels only if we compute them this way;
 * libvips' kernels differ by up to tens of levels on upscales and edges
 * (test/embed/reference.test.ts has the measured differences).
 */

export interface Filter {
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

export interface Coefficients {
  ksize: number;
  /** Per output pixel: first input index and count. */
  bounds: Int32Array;
  /** Per output pixel, `ksize` fixed-point weights. */
  kk: Int32Array;
}

/** `precompute_coeffs` + `normalize_coeffs_8bpc`, for the whole input range (box = 0..inSize). */
export function pilCoefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
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

/** Coefficient tables per (in, out, filter): a worker resizing many images of a few sizes computes each once. */
const cache = new Map<string, Coefficients>();
function cachedCoefficients(inSize: number, outSize: number, resample: number, filter: Filter): Coefficients {
  const key = `${inSize}:${outSize}:${resample}`;
  let c = cache.get(key);
  if (!c) {
    if (cache.size >= 256) cache.delete(cache.keys().next().value as string);
    c = pilCoefficients(inSize, outSize, filter);
    cache.set(key, c);
  }
  return c;
}

/** A window of the resized image: only its pixels are computed (each output pixel depends only on its own coefficients). */
export interface ResizeBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

const KERNEL_KEEP_BYTES = 64 * 1024 * 1024;
// Node's WebAssembly, typed here (the TS lib this project compiles with has no WebAssembly declarations)
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
const Wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: unknown } } }).WebAssembly;
interface Kernel {
  memory: WasmMemory;
  horizontal(src: number, w: number, y0: number, rows: number, x0: number, cols: number, kk: number, bounds: number, ksize: number, out: number): void;
  vertical(img: number, rowLen: number, first: number, y0: number, rows: number, kk: number, bounds: number, ksize: number, out: number): void;
}
let wasmModule: object | null = null;
let kept: Kernel | null = null;

/** The WebAssembly passes with at least `bytes` of memory; one instance is kept per process (up to 64 MiB, larger images get their own). */
function kernel(bytes: number): Kernel {
  if (kept && kept.memory.buffer.byteLength >= bytes) return kept;
  wasmModule ??= new Wasm.Module(Buffer.from(PIL_RESIZE_WASM, 'base64'));
  const k = new Wasm.Instance(wasmModule).exports as unknown as Kernel;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / 65536));
  if (bytes <= KERNEL_KEEP_BYTES) kept = k;
  return k;
}

/**
 * Resizes RGB uint8 pixels (row-major, 3 channels) from `w`×`h` to `outW`×`outH` exactly as Pillow
 * does with the given resample code; with `box`, returns only that window of the result (a centre
 * crop costs only its own pixels).
 */
export function pilResize(src: Uint8Array, w: number, h: number, outW: number, outH: number, resample: number, box?: ResizeBox): Uint8Array {
  const filter = PIL_FILTERS[resample];
  if (!filter) throw new Error(`resample ${resample}: Pillow's nearest-neighbour (0) and unknown filters are not supported; use 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or 5 (hamming)`);
  if (src.length !== w * h * 3) throw new Error(`pilResize: expected ${w}×${h}×3 bytes, got ${src.length}`);
  const { left, top, width, height } = box ?? { left: 0, top: 0, width: outW, height: outH };
  if (left < 0 || top < 0 || width < 1 || height < 1 || left + width > outW || top + height > outH) throw new Error(`pilResize: box ${left},${top} ${width}×${height} is outside ${outW}×${outH}`);
  const needH = outW !== w;
  const needV = outH !== h;
  // the input rows the output rows read (all of the box's rows when there is no vertical pass)
  const vert = needV ? cachedCoefficients(h, outH, resample, filter) : null;
  const first = vert ? vert.bounds[2 * top]! : top;
  const last = vert ? vert.bounds[2 * (top + height - 1)]! + vert.bounds[2 * (top + height - 1) + 1]! : top + height;
  const horiz = needH ? cachedCoefficients(w, outW, resample, filter) : null;
  if (!horiz && !vert) {
    const out = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) out.set(src.subarray(((top + y) * w + left) * 3, ((top + y) * w + left + width) * 3), y * width * 3);
    return out;
  }
  // memory: coefficient tables, the input rows read, the horizontal result, the output
  const rows = last - first;
  const cols = horiz ? width : w;
  const align = (n: number): number => (n + 7) & ~7;
  const tables = [horiz?.kk, horiz?.bounds, vert?.kk, vert?.bounds].map((t) => align((t?.length ?? 0) * 4));
  const at = { hkk: 0, hb: tables[0]!, vkk: tables[0]! + tables[1]!, vb: tables[0]! + tables[1]! + tables[2]!, src: tables.reduce((x, y) => x + y, 0) };
  const srcBytes = rows * w * 3;
  const tmpAt = align(at.src + srcBytes);
  const tmpBytes = horiz && vert ? cols * rows * 3 : 0;
  const outAt = align(tmpAt + tmpBytes);
  const outBytes = cols * height * 3;
  const k = kernel(outAt + outBytes);
  const mem = new Uint8Array(k.memory.buffer);
  const i32 = new Int32Array(k.memory.buffer);
  if (horiz) {
    i32.set(horiz.kk, at.hkk / 4);
    i32.set(horiz.bounds, at.hb / 4);
  }
  if (vert) {
    i32.set(vert.kk, at.vkk / 4);
    i32.set(vert.bounds, at.vb / 4);
  }
  mem.set(src.subarray(first * w * 3, last * w * 3), at.src);
  if (horiz) k.horizontal(at.src, w, 0, vert ? rows : height, left, width, at.hkk, at.hb, horiz.ksize, vert ? tmpAt : outAt);
  if (vert) k.vertical(horiz ? tmpAt : at.src, cols * 3, first, top, height, at.vkk, at.vb, vert.ksize, outAt);
  if (horiz || (left === 0 && width === w)) return mem.slice(outAt, outAt + outBytes);
  // a vertical pass only: the box's columns of its rows
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(mem.subarray(outAt + (y * w + left) * 3, outAt + (y * w + left + width) * 3), y * width * 3);
  return out;
}
