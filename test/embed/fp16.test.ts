import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBuiltinImageModel } from '../../pipelines/embed/builtin-model.js';
import { ImageEmbedder, pixelValues } from '../../pipelines/embed/embedder.js';
import { fromHalfBits, toFloat16, toHalfBits } from '../../pipelines/embed/fp16.js';
import { modelPixels } from '../../pipelines/embed/preprocess.js';
import { addModel, modelsDir, type RegisteredModel } from '../../pipelines/embed/registry.js';
import { encodeModel, GraphBuilder } from '../../pipelines/shared/onnx/onnx-writer.js';
import { makeScene, rng } from '../support/scenes.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

describe('half precision', () => {
  it('round-trips every half value and rounds float32 to the nearest half, ties to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = fromHalfBits(h);
      if (Number.isNaN(v)) expect(Number.isNaN(fromHalfBits(toHalfBits(v)))).toBe(true);
      else expect(toHalfBits(v)).toBe(h);
    }
    expect(fromHalfBits(toHalfBits(1 + 2 ** -11))).toBe(1); // halfway, mantissa 0 is even
    expect(fromHalfBits(toHalfBits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // halfway, rounds up to the even mantissa
    expect(fromHalfBits(toHalfBits(65520))).toBe(Infinity);
    expect(fromHalfBits(toHalfBits(65519))).toBe(65504);
    expect(fromHalfBits(toHalfBits(2 ** -25))).toBe(0); // halfway to the smallest subnormal: to even (0)
    expect(fromHalfBits(toHalfBits(3 * 2 ** -26))).toBe(2 ** -24);
    // nearest: no half value lies closer than the one chosen
    const r = rng(11);
    for (let i = 0; i < 20_000; i++) {
      const x = Math.fround((r() * 2 - 1) * 2 ** Math.floor(r() * 40 - 26));
      const h = toHalfBits(x);
      const err = Math.abs(fromHalfBits(h) - x);
      for (const n of [h - 1, h + 1]) if (n >= 0 && n < 0x10000 && (n & 0x7c00) !== 0x7c00 && (n & 0x8000) === (h & 0x8000)) expect(Math.abs(fromHalfBits(n) - x)).toBeGreaterThanOrEqual(err);
    }
  });
});

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

describe('fp16 models', () => {
  it('the built-in model’s fp16 variant is half the size and agrees with fp32 on real images', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const fp32 = buildBuiltinImageModel('fp32').bytes;
    const fp16 = buildBuiltinImageModel('fp16').bytes;
    expect(fp16.length / fp32.length).toBeLessThan(0.51);
    await ws.write('fp32.onnx', fp32);
    await ws.write('fp16.onnx', fp16);
    const model = (file: string): RegisteredModel => ({ name: 'nsfw-mobilenet-v2', kind: 'builtin-image', dir: ws.dir, visionModel: ws.path(file), textModel: null, visionSha256: '0'.repeat(64), addedAt: '' });
    const opts = { device: 'cpu' as const, threads: 1, batchBytes: 8 * 224 * 224 * 3 };
    const a = await ImageEmbedder.open(model('fp32.onnx'), opts);
    const b = await ImageEmbedder.open(model('fp16.onnx'), opts);
    const dir = join(import.meta.dirname, 'reference', 'images');
    const inputs = [...(await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f))))), ...(await Promise.all([1, 2, 3, 4, 5, 6].map((s) => makeScene(s))))];
    const pixels = await Promise.all(inputs.map((bytes) => modelPixels(sharp(bytes).rotate(), a.spec)));
    const x = await a.embed(pixels);
    const y = await b.embed(pixels);
    const cos = x.vectors.map((v, i) => cosine(v, y.vectors[i]!));
    const nsfwDiff = Math.max(...x.nsfw.map((v, i) => Math.abs((v as number) - (y.nsfw[i] as number))));
    console.log(`fp16 vs fp32 on ${inputs.length} images: min cosine ${Math.min(...cos).toFixed(6)}, max NSFW difference ${nsfwDiff.toFixed(5)}`);
    expect(Math.min(...cos)).toBeGreaterThan(0.999);
    expect(nsfwDiff).toBeLessThan(0.01);
    await Promise.all([a.close(), b.close()]);
  });

  it('runs an fp16 export with half-precision inputs and outputs, registered with --variant fp16', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const size = 16;
    const dim = 8;
    const proj = Float32Array.from({ length: 3 * dim }, (_, i) => Math.sin(i + 1));
    const g = new GraphBuilder();
    const mean = g.op('ReduceMean', ['pixel_values', g.i64('axes', [2, 3])], { keepdims: { i: 0 } });
    g.op('MatMul', [mean, g.f32('proj', [3, dim], proj)], undefined, 'image_embeds');
    const graph = toFloat16(g.build('fp16_vision', [{ name: 'pixel_values', type: 'float16', shape: ['batch', 3, size, size] }], [{ name: 'image_embeds', type: 'float32', shape: ['batch', dim] }]));
    // half-precision output too: drop the cast back to float32 that toFloat16 adds
    graph.nodes = graph.nodes.filter((n) => !(n.op === 'Cast' && n.outputs[0] === 'image_embeds')).map((n) => ({ ...n, outputs: n.outputs.map((o) => (o === 'image_embeds__fp16' ? 'image_embeds' : o)) }));
    graph.outputs = [{ name: 'image_embeds', type: 'float16', shape: ['batch', dim] }];
    const exportDir = ws.path('export');
    await mkdir(join(exportDir, 'onnx'), { recursive: true });
    await writeFile(join(exportDir, 'onnx', 'vision_model_fp16.onnx'), encodeModel(graph, { opset: 18 }));
    const norm = { image_mean: [0.5, 0.4, 0.3], image_std: [0.2, 0.25, 0.3], rescale_factor: 1 / 255 };
    await writeFile(join(exportDir, 'preprocessor_config.json'), JSON.stringify({ size: { height: size, width: size }, resample: 3, ...norm }));
    await writeFile(join(exportDir, 'config.json'), JSON.stringify({ model_type: 'clip' }));
    await expect(addModel(exportDir, 'half', modelsDir(ws.dir))).rejects.toThrow(/missing onnx\/vision_model.onnx/);
    const entry = await addModel(exportDir, 'half', modelsDir(ws.dir), { variant: 'fp16' });
    expect(entry.visionModel).toMatch(/vision_model_fp16\.onnx$/);
    const embedder = await ImageEmbedder.open(entry, { device: 'cpu', threads: 1, batchBytes: 1 << 20 });
    const r = rng(4);
    const images = Array.from({ length: 5 }, () => Uint8Array.from({ length: size * size * 3 }, () => Math.floor(r() * 256)));
    const { vectors } = await embedder.embed(images);
    for (const [i, img] of images.entries()) {
      const values = pixelValues(img, { mean: norm.image_mean, std: norm.image_std, rescale: norm.rescale_factor });
      const m = [0, 1, 2].map((c) => values.subarray(c * size * size, (c + 1) * size * size).reduce((s, v) => s + v, 0) / (size * size));
      const want = Float32Array.from({ length: dim }, (_, d) => m.reduce((s, v, c) => s + v * (proj[c * dim + d] as number), 0));
      const len = Math.hypot(...want);
      expect(cosine(vectors[i]!, want.map((v) => v / len))).toBeGreaterThan(0.999);
    }
    await embedder.close();
  });
});
