/**
 * PP-OCRv4 (the `scene-text` engine) on the CPU and, where the CUDA execution provider is
 * installed next to onnxruntime-node, on the GPU: the same images, the same process.
 * - det model: `session.run` of the detector alone on inputs prepared beforehand;
 * - det: resize + normalise + detector + DB post-processing, one image at a time;
 * - det+rec: the whole `read` (crops, recogniser batches, CTC), one image at a time and 4 in flight.
 * The first full pass over the images is a warm-up (ORT kernels; on CUDA, cuDNN's per-shape
 * algorithm search), reported apart. When both providers ran, the recognised texts are compared.
 * docs/gpu.md has the procedure on a GPU host.
 *
 *   pnpm bench onnx-device
 * env: ONNX_BENCH_IMAGES (a folder of images instead of the corpus selection), ONNX_BENCH_THREADS
 * (CPU intra-op threads, default: all cores), ONNX_BENCH_ROUNDS (timed passes, default 1),
 * ONNX_BENCH_MAX_SIDE (detector input's longest side, default 960 as `scene-text`).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { distance } from 'fastest-levenshtein';
import sharp from 'sharp';
import { mapBounded } from '../pipelines/shared/concurrency.js';
import { cudaProviderLibrary, type OnnxProvider } from '../pipelines/shared/onnx/session.js';
import { DB_DEFAULTS } from '../pipelines/ingest/ocr/ppocr/db-postprocess.js';
import { PpOcr, type ReadOptions, type RgbImage } from '../pipelines/ingest/ocr/ppocr/engine.js';

const CORPORA = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora');
/** 20 images under ../shared/corpora: photos of text, receipts, scanned pages, natural images. */
export const BENCH_IMAGES = [
  ...[1, 2, 3, 4, 5].map((n) => `ocr/qwen25vl_cookbook_unlabeled/ocr/ocr_example${n}.jpg`),
  'ocr/docling_ocr/qr_bill_example.jpg',
  ...['000', '001', '002', '003', '004', '005'].map((n) => `ocr/sroie_receipts/img/${n}.jpg`),
  'ocr/tesseract_testing/phototest.tif',
  'ocr/tesseract_testing/eurotext.tif',
  ...['page', 'text', 'coffee', 'chelsea', 'astronaut'].map((n) => `natural_images/imageio_binaries/${n}.png`),
  'natural_images/skimage_data/rocket.jpg',
];
const OPTS: ReadOptions = { maxSide: Number(process.env.ONNX_BENCH_MAX_SIDE ?? 960), db: DB_DEFAULTS };

interface Named {
  name: string;
  image: RgbImage;
}

interface Run {
  provider: OnnxProvider;
  warmupSeconds: number;
  detModel: number;
  det: number;
  read: number;
  read4: number;
  texts: string[];
}

export async function benchOnnxDevice(): Promise<void> {
  const files = await imageFiles();
  if (!files) {
    console.log('skipped: ../shared/corpora absent');
    return;
  }
  const images = await Promise.all(files.map(async (f) => ({ name: f.split('/').pop() as string, image: await decodeRgb(f) })));
  const threads = Number(process.env.ONNX_BENCH_THREADS ?? availableParallelism());
  const rounds = Number(process.env.ONNX_BENCH_ROUNDS ?? 1);
  const providers: OnnxProvider[] = existsSync(cudaProviderLibrary()) ? ['cpu', 'cuda'] : ['cpu'];
  const pixels = images.reduce((n, i) => n + i.image.width * i.image.height, 0);
  console.log(`${images.length} images (${(pixels / images.length / 1e6).toFixed(2)} Mpx mean), det max side ${OPTS.maxSide}, CPU intra-op threads ${threads}, ${rounds} timed pass(es); providers: ${providers.join(', ')}`);
  if (providers.length === 1) console.log(`  (no CUDA provider library at ${cudaProviderLibrary()}: CPU only)`);

  const runs: Run[] = [];
  for (const provider of providers) {
    const run = await measure(provider, images, threads, rounds);
    runs.push(run);
    console.log(
      `${provider.padEnd(4)}: warm-up pass ${run.warmupSeconds.toFixed(2)} s; det model ${run.detModel.toFixed(1)} img/s; det ${run.det.toFixed(1)} img/s; det+rec ${run.read.toFixed(2)} img/s (1 in flight), ${run.read4.toFixed(2)} img/s (4 in flight)`,
    );
  }
  const [cpu, cuda] = runs;
  if (!cpu || !cuda) return;
  const ratio = (a: number, b: number): string => `×${(a / b).toFixed(2)}`;
  console.log(`CUDA / CPU: det model ${ratio(cuda.detModel, cpu.detModel)}, det ${ratio(cuda.det, cpu.det)}, det+rec ${ratio(cuda.read, cpu.read)} (1 in flight), ${ratio(cuda.read4, cpu.read4)} (4 in flight)`);
  const identical = cpu.texts.filter((t, i) => t === cuda.texts[i]).length;
  const chars = cpu.texts.reduce((n, t) => n + t.length, 0);
  const edits = cpu.texts.reduce((n, t, i) => n + distance(t, cuda.texts[i] ?? ''), 0);
  console.log(`outputs: ${identical}/${images.length} images with identical text; ${edits} character edits over ${chars} characters (${((100 * edits) / Math.max(1, chars)).toFixed(3)}%)`);
  for (const [i, t] of cpu.texts.entries()) {
    if (t !== cuda.texts[i]) console.log(`  ${images[i]?.name}: cpu ${JSON.stringify(t.slice(0, 160))}\n  ${' '.repeat(images[i]?.name.length ?? 0)}  cuda ${JSON.stringify(cuda.texts[i]?.slice(0, 160))}`);
  }
}

async function measure(device: OnnxProvider, images: Named[], threads: number, rounds: number): Promise<Run> {
  const engine = await PpOcr.create({ device, threads });
  try {
    const textOf = async (img: RgbImage): Promise<string> => (await engine.read(img, OPTS)).map((l) => l.text).join('\n');
    let start = performance.now();
    const texts: string[] = [];
    for (const { image } of images) texts.push(await textOf(image));
    const warmupSeconds = (performance.now() - start) / 1000;

    const inputs = await Promise.all(images.map(({ image }) => engine.detectorInput(image, OPTS.maxSide)));
    const rate = async (pass: () => Promise<unknown>): Promise<number> => {
      start = performance.now();
      for (let r = 0; r < rounds; r++) await pass();
      return (rounds * images.length * 1000) / (performance.now() - start);
    };
    const detModel = await rate(async () => {
      for (const input of inputs) await engine.runDetector(input);
    });
    const det = await rate(async () => {
      for (const { image } of images) await engine.detect(image, OPTS);
    });
    const read = await rate(async () => {
      for (const { image } of images) await engine.read(image, OPTS);
    });
    const read4 = await rate(() => mapBounded(images, 4, ({ image }) => engine.read(image, OPTS)));
    return { provider: engine.provider === 'mixed' ? device : engine.provider, warmupSeconds, detModel, det, read, read4, texts };
  } finally {
    await engine.release();
  }
}

async function imageFiles(): Promise<string[] | null> {
  const dir = process.env.ONNX_BENCH_IMAGES;
  if (dir) {
    const names = (await readdir(dir)).filter((f) => ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'].includes(extname(f).toLowerCase())).sort();
    return names.map((n) => join(dir, n));
  }
  if (!existsSync(CORPORA)) return null;
  return BENCH_IMAGES.map((f) => join(CORPORA, f));
}

async function decodeRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
