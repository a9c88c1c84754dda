import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../shared/errors.js';
import { createOnnxSession, type OnnxDevice, type OnnxProvider } from '../shared/onnx/session.js';
import { loadOnnxRuntime } from '../shared/onnx/runtime.js';
import { fromHalfBits, toHalfBits } from './fp16.js';
import { NSFW_CLASSES, NSFW_SCORE_CLASSES } from './builtin-model.js';
import type { PixelSpec } from './preprocess.js';
import { modelId, type RegisteredModel } from './registry.js';

export interface EmbedResult {
  /** L2-normalised embedding per image. */
  vectors: Float32Array[];
  /** NSFW score per image (built-in model), else null. */
  nsfw: Array<number | null>;
}

interface ProcessorConfig {
  size?: number | { shortest_edge?: number; height?: number; width?: number };
  crop_size?: number | { height?: number; width?: number };
  do_center_crop?: boolean;
  do_resize?: boolean;
  resample?: number;
  image_mean?: number[];
  image_std?: number[];
  rescale_factor?: number;
}

/** PixelSpec and normalisation from a Hugging Face `preprocessor_config.json` (CLIP, SigLIP, OpenCLIP exports). */
export function processorSpec(cfg: ProcessorConfig): { spec: PixelSpec; mean: number[]; std: number[]; rescale: number } {
  const size = cfg.size;
  const crop = typeof cfg.crop_size === 'number' ? cfg.crop_size : (cfg.crop_size?.height ?? null);
  if (typeof cfg.crop_size === 'object' && cfg.crop_size.width !== undefined && cfg.crop_size.width !== crop) throw new UserError(`preprocessor_config.json: crop_size ${JSON.stringify(cfg.crop_size)}: only square inputs are supported`);
  // PIL resample codes: 2 bilinear, 3 bicubic, 1 lanczos, 4 box, 5 hamming; resized with Pillow's algorithm (pil-resize.ts)
  const pilResample = cfg.resample ?? 3;
  if (![1, 2, 3, 4, 5].includes(pilResample)) throw new UserError(`preprocessor_config.json: resample ${String(cfg.resample)} is not supported (1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)`);
  const kernel = pilResample === 2 ? 'linear' : pilResample === 1 ? 'lanczos3' : 'cubic';
  const mean = cfg.image_mean ?? [0.48145466, 0.4578275, 0.40821073];
  const std = cfg.image_std ?? [0.26862954, 0.26130258, 0.27577711];
  const rescale = cfg.rescale_factor ?? 1 / 255;
  if (typeof size === 'object' && size.shortest_edge) {
    if (cfg.do_center_crop === false) throw new UserError('preprocessor_config.json: a shortest_edge resize without a centre crop gives non-square inputs, which are not supported');
    return { spec: { mode: 'shortest_edge_crop', resize: size.shortest_edge, crop: crop ?? size.shortest_edge, kernel, pilResample }, mean, std, rescale };
  }
  const side = typeof size === 'number' ? size : (size?.height ?? crop ?? 224);
  if (typeof size === 'object' && size.height !== size.width) throw new UserError(`preprocessor size ${JSON.stringify(size)}: only square inputs are supported`);
  return { spec: { mode: 'squash', resize: side, crop: side, kernel, pilResample }, mean, std, rescale };
}

/**
 * An image tower on onnxruntime: takes uint8 RGB pixels as the model's PixelSpec made them, runs
 * them in batches, returns normalised vectors. A graph with a uint8 input gets NHWC pixels as they
 * are (the cast and normalisation are inside the graph, the fast path on GPUs); a float input gets
 * NCHW pixel values rescaled and normalised here with the processor's mean and std.
 */
export class ImageEmbedder {
  private constructor(
    readonly id: string,
    readonly spec: PixelSpec,
    readonly provider: OnnxProvider,
    private readonly session: InferenceSession,
    private readonly input: { name: string; type: 'uint8' | 'float32' | 'float16' },
    private readonly output: string,
    private readonly nsfwOutput: string | null,
    private readonly norm: { mean: number[]; std: number[]; rescale: number },
    readonly batchSize: number,
  ) {}

  static async open(model: RegisteredModel, opts: { device: OnnxDevice; threads: number; batchBytes: number }): Promise<ImageEmbedder> {
    const { session, provider } = await createOnnxSession(model.visionModel, { device: opts.device, intraOpNumThreads: opts.threads });
    const meta = session.inputMetadata[0];
    if (!meta) throw new Error(`model ${model.name}: the vision model has no input`);
    const type = meta.isTensor && (meta.type === 'uint8' || meta.type === 'float16') ? meta.type : 'float32';
    let spec: PixelSpec;
    let norm = { mean: [0, 0, 0], std: [1, 1, 1], rescale: 1 };
    if (model.kind === 'builtin-image') spec = { mode: 'squash', resize: 224, crop: 224, kernel: 'linear' };
    else {
      const file = join(model.dir, 'preprocessor_config.json');
      const p = processorSpec(existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProcessorConfig) : {});
      spec = p.spec;
      norm = p;
    }
    const outputs = session.outputNames;
    const output = ['image_embeds', 'embedding', 'pooler_output'].find((n) => outputs.includes(n)) ?? outputs[0];
    if (!output) throw new Error(`model ${model.name}: the vision model has no output`);
    const nsfwOutput = outputs.includes('nsfw') ? 'nsfw' : null;
    const batchSize = Math.max(1, Math.floor(opts.batchBytes / (spec.crop * spec.crop * 3)));
    return new ImageEmbedder(modelId(model), spec, provider, session, { name: meta.name, type }, output, nsfwOutput, norm, batchSize);
  }

  /** Embeds one batch (the caller keeps batches at `batchSize`). */
  async embed(images: Uint8Array[]): Promise<EmbedResult> {
    if (!images.length) return { vectors: [], nsfw: [] };
    const ort = await loadOnnxRuntime();
    const s = this.spec.crop;
    const plane = s * s;
    for (const img of images) if (img.length !== plane * 3) throw new Error(`embed: expected ${s}×${s}×3 pixels, got ${img.length} bytes`);
    let feed: Tensor;
    if (this.input.type === 'uint8') {
      const data = new Uint8Array(images.length * plane * 3);
      images.forEach((img, i) => data.set(img, i * plane * 3));
      feed = new ort.Tensor('uint8', data, [images.length, s, s, 3]);
    } else {
      const data = new Float32Array(images.length * plane * 3);
      images.forEach((img, i) => pixelValues(img, this.norm, data.subarray(i * plane * 3, (i + 1) * plane * 3)));
      // fp16 exports without float32 inputs take half-precision pixel values
      feed = this.input.type === 'float16' ? new ort.Tensor('float16', toHalfArray(data), [images.length, 3, s, s]) : new ort.Tensor('float32', data, [images.length, 3, s, s]);
    }
    const out = await this.session.run({ [this.input.name]: feed });
    const emb = out[this.output] as Tensor;
    const dim = emb.dims[emb.dims.length - 1] as number;
    const flat = floats(emb);
    const vectors = images.map((_, i) => normalise(flat.slice(i * dim, (i + 1) * dim)));
    let nsfw: Array<number | null> = images.map(() => null);
    if (this.nsfwOutput) {
      const probs = floats(out[this.nsfwOutput] as Tensor);
      const k = NSFW_CLASSES.length;
      const idx = NSFW_SCORE_CLASSES.map((c) => NSFW_CLASSES.indexOf(c));
      nsfw = images.map((_, i) => idx.reduce((sum, j) => sum + (probs[i * k + j] as number), 0));
    }
    return { vectors, nsfw };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** The processor's `pixel_values` (CHW float32: pixel × rescale, minus mean, over std) from HWC uint8 RGB, as transformers computes them. */
export function pixelValues(img: Uint8Array, norm: { mean: number[]; std: number[]; rescale: number }, out = new Float32Array(img.length)): Float32Array {
  const plane = img.length / 3;
  for (let c = 0; c < 3; c++) {
    const m = norm.mean[c] as number;
    const sd = norm.std[c] as number;
    for (let p = 0; p < plane; p++) out[c * plane + p] = ((img[p * 3 + c] as number) * norm.rescale - m) / sd;
  }
  return out;
}

/** A float output as float32 values (fp16 exports may return float16, which onnxruntime-node gives as raw bits). */
export function floats(t: Tensor): Float32Array {
  if (t.type !== 'float16') return t.data as Float32Array;
  const bits = t.data as Uint16Array;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromHalfBits(bits[i] as number);
  return out;
}

function toHalfArray(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i] as number);
  return out;
}

export function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
  return v;
}
