/**
 * Image embeddings end to end (JPEG file → decode + hash + model pixels in the filter's image
 * process pool → batched ONNX model → vectors), next to the decode-only ceiling (the same pool and
 * tasks, no model) and the model alone on pixels prepared beforehand, all in one run, so the ratio
 * shows whether decoding or the model is the bottleneck. The model is the built-in image model
 * (nsfwjs MobileNetV2, converted at first use), on the device `STRATUM_ONNX_DEVICE` picks (auto:
 * CUDA when its provider library is installed, see docs/gpu.md).
 *
 *   pnpm bench embed
 * env: EMBED_BENCH_IMAGES (count, default 240), EMBED_BENCH_WORKERS (decode processes, default: cores),
 * EMBED_BENCH_THREADS (ORT intra-op threads, default: cores), EMBED_BENCH_BATCH (images per model batch, default 32),
 * EMBED_BENCH_PYTHON (a python3 with PIL for the Pillow peer), EMBED_BENCH_CORPUS (photo folder, default
 * ../shared/corpora/natural_images), EMBED_BENCH_WORKER (the image worker module; the GPU bundle's own).
 * On a GPU host: docs/gpu.md, scripts/gpu/pack-embed-bench.sh and run-embed-bench.sh.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { buildBuiltinImageModel } from '../pipelines/embed/builtin-model.js';
import { ImageEmbedder } from '../pipelines/embed/embedder.js';
import { resizedSize, type PixelSpec } from '../pipelines/embed/preprocess.js';
import { pilResize } from '../pipelines/embed/pil-resize.js';
import { listModels } from '../pipelines/embed/registry.js';
import type { ImageFeatures, ImageFeatureTask } from '../pipelines/filter/image-features.js';
import { ProcessPool } from '../pipelines/shared/pool/process-pool.js';
import { referencePilResize } from '../test/support/pil-resize-reference.js';
import { makeScene } from '../test/support/scenes.js';

const CORPUS = process.env.EMBED_BENCH_CORPUS ?? resolve(import.meta.dirname, '..', '..', 'shared', 'corpora', 'natural_images');
// the bundled bench on a GPU host (scripts/gpu/pack-embed-bench.sh) names its bundled image worker
const WORKER = process.env.EMBED_BENCH_WORKER ?? fileURLToPath(new URL('../pipelines/filter/image-worker.ts', import.meta.url));

async function sourceImages(count: number, dir: string): Promise<string[]> {
  const photos: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(jpe?g|png)$/i.test(f) && statSync(p).size > 20_000) photos.push(p);
    }
  };
  if (existsSync(CORPUS)) walk(CORPUS);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    // photos at up to 1024 px (varied crops so every file is distinct), else synthetic scenes
    const src = photos[i % Math.max(1, photos.length)];
    const bytes = src
      ? await sharp(src).rotate().resize(1024 - (i % 7) * 32, 1024, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 90 }).toBuffer()
      : await makeScene(i, 800, 600);
    const file = join(dir, `${i}.jpg`);
    await writeFile(file, bytes);
    files.push(file);
  }
  return files;
}

/** CLIP's 224-pixel preprocessing in Pillow: short side to 224 (bicubic), centre crop (Python lines). */
const PIL_CLIP_PREP = [
  'import sys, time, json',
  'import PIL',
  'from PIL import Image',
  'def decode(p): return Image.open(p).convert("RGB")',
  'def resize(im):',
  '    w, h = im.size; nw, nh = (224, int(224 * h / w)) if w <= h else (int(224 * w / h), 224)',
  '    im = im.resize((nw, nh), Image.BICUBIC); l, t = (nw - 224) // 2, (nh - 224) // 2',
  '    return im.crop((l, t, l + 224, t + 224)).tobytes()',
  'files = json.load(sys.stdin)',
];

/** Runs a Python peer script (file list on stdin) with the first interpreter that has PIL; its last stdout line is JSON. */
function runPillowPeer<T>(lines: string[], args: string[], files: string[]): T | null {
  const candidates = [process.env.EMBED_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  const script = [...PIL_CLIP_PREP, ...lines].join('\n');
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', script, ...args], { input: JSON.stringify(files), encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status === 0) return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
  }
  return null;
}

/** Pillow decoding, converting to RGB, resizing the short side to 224 (bicubic) and centre-cropping, in `workers` processes. */
function pillowPeer(files: string[], workers: number): { rate: number; version: string } | null {
  return runPillowPeer(
    [
      'from multiprocessing import Pool',
      'def one(p): return len(resize(decode(p)))',
      'with Pool(int(sys.argv[1])) as pool:',
      '    pool.map(one, files[:8]); t = time.perf_counter(); pool.map(one, files); dt = time.perf_counter() - t',
      'print(json.dumps({"rate": len(files) / dt, "version": PIL.__version__}))',
    ],
    [String(workers)],
    files,
  );
}

/**
 * Per core: CPU milliseconds per image for CLIP's 224 pixels in one process, split into decoding
 * (file → 8-bit RGB) and the resize + centre crop, for Pillow (`time.process_time`) and for ours
 * (sharp's full decode, then pil-resize.ts: `process.cpuUsage`, which counts libvips' threads too).
 */
function pillowCpuPeer(files: string[]): { decodeMs: number; resizeMs: number; version: string } | null {
  return runPillowPeer(
    [
      'for p in files[:8]: resize(decode(p))',
      't = time.process_time(); ims = [decode(p) for p in files]; d = time.process_time() - t',
      't = time.process_time(); [resize(im) for im in ims]; r = time.process_time() - t',
      'print(json.dumps({"decodeMs": 1000 * d / len(files), "resizeMs": 1000 * r / len(files), "version": PIL.__version__}))',
    ],
    [],
    files,
  );
}

async function oursCpu(files: string[]): Promise<{ decodeMs: number; resizeMs: number; jsResizeMs: number }> {
  const spec: PixelSpec = { mode: 'shortest_edge_crop', resize: 224, crop: 224, kernel: 'cubic', pilResample: 3 };
  const decode = (f: string) => sharp(f).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const ms = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
  // one libvips thread, as in the filter's image workers (image-worker.ts)
  const threads = sharp.concurrency();
  sharp.concurrency(1);
  for (const f of files.slice(0, 8)) {
    const { data, info } = await decode(f);
    const { w, h } = resizedSize(info.width, info.height, spec);
    pilResize(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, w, h, 3, { left: (w - 224) >> 1, top: (h - 224) >> 1, width: 224, height: 224 });
  }
  let c0 = process.cpuUsage();
  const decoded = [];
  for (const f of files) decoded.push(await decode(f));
  const decodeMs = ms(process.cpuUsage(c0)) / files.length;
  c0 = process.cpuUsage();
  for (const { data, info } of decoded) {
    const { w, h } = resizedSize(info.width, info.height, spec);
    pilResize(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, w, h, 3, { left: (w - 224) >> 1, top: (h - 224) >> 1, width: 224, height: 224 });
  }
  const resizeMs = ms(process.cpuUsage(c0)) / files.length;
  // the plain-JS loops the WebAssembly kernel replaced (whole resize, then the crop), for the record
  c0 = process.cpuUsage();
  for (const { data, info } of decoded) {
    const { w, h } = resizedSize(info.width, info.height, spec);
    referencePilResize(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, w, h, 3);
  }
  const jsResizeMs = ms(process.cpuUsage(c0)) / files.length;
  sharp.concurrency(threads);
  return { decodeMs, resizeMs, jsResizeMs };
}

export async function benchEmbed(): Promise<void> {
  const count = Number(process.env.EMBED_BENCH_IMAGES ?? 240);
  const cores = availableParallelism();
  const workers = Number(process.env.EMBED_BENCH_WORKERS ?? cores);
  const threads = Number(process.env.EMBED_BENCH_THREADS ?? cores);
  const batch = Number(process.env.EMBED_BENCH_BATCH ?? 32);
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-embed-'));
  try {
    const files = await sourceImages(count, dir);
    const [model] = await listModels(join(dir, 'models'));
    const embedder = await ImageEmbedder.open(model!, { device: 'auto', threads, batchBytes: batch * 224 * 224 * 3 });
    const pool = new ProcessPool<ImageFeatureTask, ImageFeatures>({
      name: 'bench-embed',
      workerModule: WORKER,
      size: workers,
      tasksPerWorker: 4,
      taskTimeoutMs: 120_000,
    });
    const task = (path: string): ImageFeatureTask => ({ path, maxPixels: 100_000_000, embed: embedder.spec });
    process.stdout.write(`${count} JPEGs (${existsSync(CORPUS) ? 'natural_images photos, ≤1024 px' : 'synthetic 800×600 scenes'}), ${workers} decode processes, ORT ${embedder.provider} with ${threads} threads, batch ${embedder.batchSize}\n`);

    // warm-up: pool processes and ORT kernels
    const warm = await Promise.all(files.slice(0, Math.min(8, count)).map((f) => pool.run(task(f))));
    await embedder.embed(warm.flatMap((w) => (w.ok && w.pixels ? [w.pixels] : [])));

    let t = performance.now();
    const pixels = (await Promise.all(files.map((f) => pool.run(task(f))))).flatMap((f) => (f.ok && f.pixels ? [f.pixels] : []));
    const decodeS = (performance.now() - t) / 1000;

    // every timed shape once first (a full batch, the last partial one): a new input shape costs
    // set-up (on CUDA, cuDNN's plans) that is not throughput
    await embedder.embed(pixels.slice(0, embedder.batchSize));
    if (pixels.length % embedder.batchSize) await embedder.embed(pixels.slice(0, pixels.length % embedder.batchSize));
    t = performance.now();
    for (let i = 0; i < pixels.length; i += embedder.batchSize) await embedder.embed(pixels.slice(i, i + embedder.batchSize));
    const modelS = (performance.now() - t) / 1000;

    // the fp16 variant of the same model (fp16.ts) on the same pixels: rate, CPU time, agreement with fp32
    const fp16File = join(dir, 'fp16.onnx');
    await writeFile(fp16File, buildBuiltinImageModel('fp16').bytes);
    const half = await ImageEmbedder.open({ ...model!, visionModel: fp16File }, { device: 'auto', threads, batchBytes: batch * 224 * 224 * 3 });
    await half.embed(pixels.slice(0, half.batchSize));
    const timed = async (e: ImageEmbedder): Promise<{ s: number; cpu: number; vectors: Float32Array[] }> => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const vectors: Float32Array[] = [];
      for (let i = 0; i < pixels.length; i += e.batchSize) vectors.push(...(await e.embed(pixels.slice(i, i + e.batchSize))).vectors);
      const c = process.cpuUsage(c0);
      return { s: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, vectors };
    };
    const full32 = await timed(embedder);
    const full16 = await timed(half);
    await half.close();
    const cosines = full32.vectors.map((v, i) => v.reduce((acc, x, k) => acc + x * (full16.vectors[i]![k] as number), 0));

    // end to end: batches go to the model as decodes finish, the model runs while the pool decodes
    t = performance.now();
    let pending: Uint8Array[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    let embedded = 0;
    const flush = (): void => {
      const b = pending;
      pending = [];
      if (b.length) chain = chain.then(async () => (embedded += (await embedder.embed(b)).vectors.length));
    };
    await Promise.all(
      files.map(async (f) => {
        const r = await pool.run(task(f));
        if (r.ok && r.pixels) pending.push(r.pixels);
        if (pending.length >= embedder.batchSize) flush();
      }),
    );
    flush();
    await chain;
    const e2eS = (performance.now() - t) / 1000;
    // registered CLIP-family models: the processor's resize is Pillow's, reproduced in JS (pil-resize.ts),
    // on the full decode; next to libvips' cubic resize of the same spec and, where Python has PIL, Pillow itself
    const clip: PixelSpec = { mode: 'shortest_edge_crop', resize: 224, crop: 224, kernel: 'cubic' };
    const clipRate = async (spec: PixelSpec): Promise<number> => {
      const t0 = performance.now();
      await Promise.all(files.map((f) => pool.run({ path: f, maxPixels: 100_000_000, embed: spec })));
      return files.length / ((performance.now() - t0) / 1000);
    };
    const vips = await clipRate(clip);
    const pil = await clipRate({ ...clip, pilResample: 3 });
    const peer = pillowPeer(files, workers);
    const cpuPeer = pillowCpuPeer(files);
    const cpuOurs = await oursCpu(files);
    await pool.close();
    await embedder.close();

    const rate = (n: number, s: number): string => `${(n / s).toFixed(1)} img/s`;
    process.stdout.write(`decode only (decode + 256-bit hash + 224×224 model pixels): ${rate(pixels.length, decodeS)}\n`);
    process.stdout.write(`model only (${embedder.provider}, pixels in memory):        ${rate(pixels.length, modelS)}\n`);
    process.stdout.write(`end to end (JPEG → embedding, pipelined):          ${rate(embedded, e2eS)}\n`);
    process.stdout.write(`end to end / decode-only ceiling: ${(decodeS / e2eS).toFixed(2)}; model / decode throughput: ${(decodeS / modelS).toFixed(2)} (<1: the model is the bottleneck)\n`);
    process.stdout.write(
      `fp16 variant (${embedder.provider}): ${rate(pixels.length, full16.s)} vs fp32 ${rate(pixels.length, full32.s)}; CPU s per 100 images fp16 ${((100 * full16.cpu) / pixels.length).toFixed(2)} vs fp32 ${((100 * full32.cpu) / pixels.length).toFixed(2)} (${(full16.cpu / full32.cpu).toFixed(2)}× the CPU); cosine to fp32 min ${Math.min(...cosines).toFixed(6)}, mean ${(cosines.reduce((x, y) => x + y, 0) / cosines.length).toFixed(6)}\n`,
    );
    process.stdout.write(`CLIP 224 pixels (decode + hash + resize + crop), ${workers} processes: libvips cubic ${vips.toFixed(1)} img/s, Pillow's bicubic reproduced (pil-resize.ts) ${pil.toFixed(1)} img/s (${(pil / vips).toFixed(2)}× libvips)\n`);
    if (peer) process.stdout.write(`Pillow ${peer.version} itself (decode + resize + crop, ${workers} processes): ${peer.rate.toFixed(1)} img/s; ours with Pillow's resize / Pillow: ${(pil / peer.rate).toFixed(2)}\n`);
    else process.stdout.write('Pillow peer: no python3 with PIL found (set EMBED_BENCH_PYTHON)\n');
    if (cpuPeer) {
      const f = (x: number): string => x.toFixed(2);
      process.stdout.write(
        `per core, CPU ms per image (one process): resize + crop to CLIP 224 (bicubic): ours ${f(cpuOurs.resizeMs)} vs Pillow ${f(cpuPeer.resizeMs)} → ${f(cpuPeer.resizeMs / cpuOurs.resizeMs)}× Pillow's speed; ` +
          `(the plain-JS port it replaced: ${f(cpuOurs.jsResizeMs)} → ${f(cpuPeer.resizeMs / cpuOurs.jsResizeMs)}×); decode to RGB: sharp ${f(cpuOurs.decodeMs)} vs Pillow ${f(cpuPeer.decodeMs)}; decode + resize: ours ${f(cpuOurs.decodeMs + cpuOurs.resizeMs)} vs Pillow ${f(cpuPeer.decodeMs + cpuPeer.resizeMs)} → ${f((cpuPeer.decodeMs + cpuPeer.resizeMs) / (cpuOurs.decodeMs + cpuOurs.resizeMs))}× Pillow's speed\n`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
