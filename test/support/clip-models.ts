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

export const TOKENS = { sot: '<|startoftext|>', eot: '<|endoftext|>' };
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789,.';

/**
 * A CLIP-style BPE tokenizer.json: lower-cased, whitespace-split words, byte-less BPE over letters
 * with the `</w>` end-of-word suffix and a few merges, wrapped in start/end tokens.
 */
export function clipTokenizerJson(): object {
  const vocab: Record<string, number> = {};
  for (const c of LETTERS) vocab[c] = Object.keys(vocab).length;
  for (const c of LETTERS) vocab[`${c}</w>`] = Object.keys(vocab).length;
  const merges = ['t h', 'th e</w>', 's h', 'a p', 'e s</w>'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  vocab[TOKENS.sot] = Object.keys(vocab).length;
  vocab[TOKENS.eot] = Object.keys(vocab).length;
  return {
    version: '1.0',
    added_tokens: [TOKENS.sot, TOKENS.eot].map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: TOKENS.sot, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: TOKENS.eot, type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: Object.fromEntries([TOKENS.sot, TOKENS.eot].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    },
    decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '</w>', fuse_unk: false, vocab, merges },
  };
}

export function clipTextTable(vocabSize: number, dim: number, seed = 2): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: vocabSize * dim }, () => r() * 2 - 1);
}

/** Text tower: mean of a seeded embedding table's rows over the unmasked tokens → `text_embeds`. */
export function clipTextModel(vocabSize: number, dim: number, seed = 2): Uint8Array {
  const g = new GraphBuilder();
  const rows = g.op('Gather', [g.f32('table', [vocabSize, dim], clipTextTable(vocabSize, dim, seed)), 'input_ids'], { axis: { i: 0 } });
  const mask = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: { i: 1 } }), g.i64('axis', [2])]);
  const sum = g.op('ReduceSum', [g.op('Mul', [rows, mask]), g.i64('axes', [1])], { keepdims: { i: 0 } });
  const count = g.op('ReduceSum', [mask, g.i64('axes', [1])], { keepdims: { i: 0 } });
  g.op('Div', [sum, count], undefined, 'text_embeds');
  return encodeModel(
    g.build(
      'clip_text',
      [
        { name: 'input_ids', type: 'int64', shape: ['batch', 'seq'] },
        { name: 'attention_mask', type: 'int64', shape: ['batch', 'seq'] },
      ],
      [{ name: 'text_embeds', type: 'float32', shape: ['batch', dim] }],
    ),
    { opset: 18 },
  );
}

/** Adds the text tower, tokenizer and a max length of 16 to an export folder. */
export async function addClipText(dir: string, dim = 16): Promise<void> {
  const tok = clipTokenizerJson() as { model: { vocab: Record<string, number> } };
  await writeFile(join(dir, 'onnx', 'text_model.onnx'), clipTextModel(Object.keys(tok.model.vocab).length, dim));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 16, pad_token: TOKENS.eot }));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', projection_dim: dim, text_config: { max_position_embeddings: 16 } }));
}
