import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltinImageModel, loadNsfwjsMobileNet } from '../../pipelines/embed/builtin-model.js';
import { ImageEmbedder, processorSpec } from '../../pipelines/embed/embedder.js';
import { kmeans } from '../../pipelines/embed/kmeans.js';
import { modelPixels } from '../../pipelines/embed/preprocess.js';
import { addModel, listModels, resolveModel } from '../../pipelines/embed/registry.js';
import { expectedEmbedding, writeClipExport } from '../support/clip-models.js';
import { makeScene, rng } from '../support/scenes.js';

// In-repo MIT images (MathVision diagrams) and seeded synthetic photos: real decoded pixels.
const REAL = ['examples/qa/mathvision/images/6.jpg', 'examples/qa/mathvision/images/20.jpg'];

describe('embedding models', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-models-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the built-in ONNX conversion of nsfwjs MobileNetV2 equals tfjs on real images', async () => {
    const built = await ensureBuiltinImageModel(dir);
    const again = await ensureBuiltinImageModel(dir);
    expect(again.sha256).toBe(built.sha256);
    const [model] = await listModels(dir);
    const embedder = await ImageEmbedder.open(model!, { device: 'cpu', threads: 2, batchBytes: 4 * 150_528 });
    expect(embedder.batchSize).toBe(4);
    const { model: tfjsModel, weights } = loadNsfwjsMobileNet();
    await tf.setBackend('cpu');
    const specs = tfjsModel.weightsManifest.flatMap((g) => g.weights);
    const keras = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: tfjsModel.modelTopology as never, weightSpecs: specs as never, weightData: weights.slice().buffer as ArrayBuffer }),
    );
    const sub = tfl.model({ inputs: keras.inputs, outputs: [keras.getLayer('flatten_1').output as tfl.SymbolicTensor, keras.outputs[0] as tfl.SymbolicTensor] });
    const images = [...(await Promise.all(REAL.map((f) => modelPixels(sharp(f), embedder.spec)))), await modelPixels(sharp(await makeScene(3)), embedder.spec)];
    const ours = await embedder.embed(images);
    for (const [i, px] of images.entries()) {
      const [emb, probs] = sub.predict(tf.div(tf.tensor4d(Float32Array.from(px), [1, 224, 224, 3]), 255)) as tf.Tensor[];
      const ref = Float32Array.from(await emb!.data());
      let norm = 0;
      for (const v of ref) norm += v * v;
      const refUnit = ref.map((v) => v / Math.sqrt(norm));
      const maxDiff = Math.max(...Array.from(refUnit, (v, j) => Math.abs(v - (ours.vectors[i]![j] as number))));
      expect(maxDiff, `image ${i} embedding`).toBeLessThan(1e-5);
      const p = await probs!.data();
      expect(ours.nsfw[i]!).toBeCloseTo((p[1] as number) + (p[3] as number) + (p[4] as number), 5);
    }
    await embedder.close();
  }, 120_000);

  it('registers a Hugging Face ONNX export and runs it with the processor normalisation, batch by batch', async () => {
    const exportDir = await writeClipExport(join(dir, 'tiny-clip'), { size: 32, dim: 16 });
    await expect(addModel(join(dir, 'nowhere'), 'x', dir)).rejects.toThrow(/not a Hugging Face ONNX export/);
    const entry = await addModel(exportDir, 'tiny-clip', dir);
    expect(entry.textModel).toBeNull();
    expect((await listModels(dir)).map((m) => m.name)).toEqual(['nsfw-mobilenet-v2', 'tiny-clip']);
    await expect(resolveModel('absent', dir)).rejects.toThrow(/models add/);
    const embedder = await ImageEmbedder.open(await resolveModel('tiny-clip', dir), { device: 'cpu', threads: 1, batchBytes: 2 * 32 * 32 * 3 });
    expect(embedder.spec).toEqual({ mode: 'shortest_edge_crop', resize: 32, crop: 32, kernel: 'cubic', pilResample: 3 });
    expect(embedder.batchSize).toBe(2);
    const r = rng(5);
    const images = Array.from({ length: 2 }, () => Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(r() * 256)));
    const { vectors } = await embedder.embed(images);
    const norm = { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] };
    for (const [i, img] of images.entries()) {
      const want = expectedEmbedding(img, 32, 16, norm);
      const len = Math.sqrt(want.reduce((s, v) => s + v * v, 0));
      for (let d = 0; d < 16; d++) expect(vectors[i]![d]).toBeCloseTo((want[d] as number) / len, 5);
    }
    await embedder.close();
  });

  it('reads CLIP and SigLIP processor configs', () => {
    expect(processorSpec({ size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 }, resample: 3 }).spec).toEqual({ mode: 'shortest_edge_crop', resize: 224, crop: 224, kernel: 'cubic', pilResample: 3 });
    expect(processorSpec({ size: { shortest_edge: 256 }, crop_size: 224, resample: 3 }).spec).toMatchObject({ resize: 256, crop: 224 });
    const siglip = processorSpec({ size: { height: 384, width: 384 }, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
    expect(siglip.spec).toEqual({ mode: 'squash', resize: 384, crop: 384, kernel: 'linear', pilResample: 2 });
    // what the pipeline cannot reproduce is refused with the reason, not approximated
    expect(() => processorSpec({ size: { shortest_edge: 224 }, crop_size: 224, resample: 0 })).toThrow(/resample 0 is not supported/);
    expect(() => processorSpec({ size: { shortest_edge: 224 }, crop_size: { height: 224, width: 200 } })).toThrow(/only square/);
    expect(() => processorSpec({ size: { shortest_edge: 224 }, do_center_crop: false })).toThrow(/non-square/);
    expect(siglip.mean).toEqual([0.5, 0.5, 0.5]);
  });

  it('centre-crops after resizing the shortest edge, as the CLIP processor does', async () => {
    // a 64×32 image: left half red, right half blue, a green 16-px band in the middle → after resize to 32×16 … crop 16
    const img = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#ff0000' } })
      .composite([{ input: await sharp({ create: { width: 32, height: 32, channels: 3, background: '#0000ff' } }).png().toBuffer(), left: 32, top: 0 }])
      .png()
      .toBuffer();
    const px = await modelPixels(sharp(img), { mode: 'shortest_edge_crop', resize: 16, crop: 16, kernel: 'linear' });
    expect(px.length).toBe(16 * 16 * 3);
    // the crop keeps columns 8..23 of the 32×16 resize: the left 8 red-ish, the right 8 blue-ish
    expect(px[0]).toBeGreaterThan(200);
    expect(px[15 * 3 + 2]).toBeGreaterThan(200);
  });

  it('k-means separates seeded clusters and is deterministic', () => {
    const r = rng(9);
    const centres = Array.from({ length: 4 }, () => Float32Array.from({ length: 8 }, () => r() * 2 - 1));
    const points = Array.from({ length: 200 }, (_, i) => {
      const c = centres[i % 4]!;
      const v = c.map((x) => x + (r() - 0.5) * 0.1);
      const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      return v.map((x) => x / n);
    });
    const a = kmeans(points, 4, { iterations: 50, seed: 1 });
    const b = kmeans(points, 4, { iterations: 50, seed: 1 });
    expect(a.centroids).toEqual(b.centroids);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] as number), 0);
    const label = (p: Float32Array) => a.centroids.map((c) => dot(p, c)).reduce((best, s, i, all) => (s > (all[best] as number) ? i : best), 0);
    for (let i = 0; i < 200; i++) expect(label(points[i]!)).toBe(label(points[i % 4]!));
    expect(new Set(points.slice(0, 4).map(label)).size).toBe(4);
  });
});
