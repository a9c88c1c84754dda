import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeModel, GraphBuilder } from '../../pipelines/shared/onnx/onnx-writer.js';
import { rng } from './scenes.js';

/**
 * A small CLIP-shaped vision tower with deterministic weights, in the Hugging Face ONNX export
 * layout: `pixel_values` float32 [batch, 3, S, S] → per-channel means and 2×2 quadrant means of
 * each channel (15 features) → a seeded [15, dim] projection → `image_embeds` [batch, dim].
 * Linear in the normalised pixels, so a test can compute the exact expected output in JS.
 */
export function clipVisionWeights(dim: number, seed = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: 15 * dim }, () => r() * 2 - 1);
}

export function clipVisionModel(size: number, dim: number, seed = 1): Uint8Array {
  const g = new GraphBuilder();
  const half = size / 2;
  const feats: string[] = [g.op('ReduceMean', ['pixel_values', g.i64('axes', [2, 3])], { keepdims: { i: 0 } })];
  for (const [y, x] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
    const crop = g.op('Slice', ['pixel_values', g.i64('starts', [y * half, x * half]), g.i64('ends', [(y + 1) * half, (x + 1) * half]), g.i64('axes', [2, 3])]);
    feats.push(g.op('ReduceMean', [crop, g.i64('axes', [2, 3])], { keepdims: { i: 0 } }));
  }
  const concat = g.op('Concat', feats, { axis: { i: 1 } });
  g.op('MatMul', [concat, g.f32('proj', [15, dim], clipVisionWeights(dim, seed))], undefined, 'image_embeds');
  return encodeModel(
    g.build('clip_vision', [{ name: 'pixel_values', type: 'float32', shape: ['batch', 3, size, size] }], [{ name: 'image_embeds', type: 'float32', shape: ['batch', dim] }]),
    { opset: 18 },
  );
}

/** What the model computes, in JS, from RGB uint8 HWC pixels and a processor's rescale/mean/std. */
export function expectedEmbedding(pixels: Uint8Array, size: number, dim: number, norm: { mean: number[]; std: number[] }, seed = 1): Float32Array {
  const w = clipVisionWeights(dim, seed);
  const half = size / 2;
  const feats = new Array<number>(15).fill(0);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        const v = ((pixels[(y * size + x) * 3 + c] as number) / 255 - (norm.mean[c] as number)) / (norm.std[c] as number);
        feats[c] = (feats[c] as number) + v / (size * size);
        const q = (y < half ? 0 : 2) + (x < half ? 0 : 1);
        feats[3 + q * 3 + c] = (feats[3 + q * 3 + c] as number) + v / (half * half);
      }
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) for (let f = 0; f < 15; f++) out[d] = (out[d] as number) + (feats[f] as number) * (w[f * dim + d] as number);
  return out;
}

/** Writes the export folder (vision tower, processor and model configs) and returns it. */
export async function writeClipExport(dir: string, opts: { size?: number; dim?: number; processor?: object } = {}): Promise<string> {
  const size = opts.size ?? 32;
  const dim = opts.dim ?? 16;
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'onnx', 'vision_model.onnx'), clipVisionModel(size, dim));
  await writeFile(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify(
      opts.processor ?? {
        do_center_crop: true,
        crop_size: { height: size, width: size },
        size: { shortest_edge: size },
        resample: 3,
        image_mean: [0.48145466, 0.4578275, 0.40821073],
        image_std: [0.26862954, 0.26130258, 0.27577711],
        rescale_factor: 1 / 255,
      },
    ),
  );
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', projection_dim: dim }));
  return dir;
}
