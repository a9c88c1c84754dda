import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../shared/hash.js';
import { convertTfjsLayers, type TfjsLayersModel } from './tfjs-to-onnx.js';

/**
 * The embedded default image model: the MIT-licensed MobileNetV2 NSFW classifier that the `nsfwjs`
 * npm package ships (tfjs layers format, uint8-quantised weights), converted to ONNX on first use
 * from the installed package, with no download. Input: uint8 RGB [batch, 224, 224, 3] (the image
 * squashed to 224×224, as nsfwjs feeds it); outputs: `embedding` (1280-d, the global average pool
 * of the ImageNet-pretrained backbone) and `nsfw` (softmax over NSFW_CLASSES).
 */
export const BUILTIN_IMAGE_MODEL = 'nsfw-mobilenet-v2';
export const NSFW_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
/** Classes that make up the `nsfw` score (the probability mass on explicit or suggestive content). */
export const NSFW_SCORE_CLASSES = ['hentai', 'porn', 'sexy'] as const;
const CONVERTER_VERSION = 1;

function nsfwjsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('nsfwjs')), '..', '..'); // …/nsfwjs/dist/cjs/index.js → …/nsfwjs
}

/** The tfjs model and weight bytes exactly as nsfwjs ships them (UMD files wrapping JSON and base64). */
export function loadNsfwjsMobileNet(): { model: TfjsLayersModel; weights: Uint8Array; version: string } {
  const dir = nsfwjsDir();
  const require = createRequire(join(dir, 'package.json'));
  const base = join(dir, 'dist', 'models', 'mobilenet_v2');
  const model = require(join(base, 'model.min.js')) as TfjsLayersModel;
  const shards = model.weightsManifest.flatMap((g) => g.paths);
  const parts = shards.map((p) => Buffer.from(require(join(base, `${p}.min.js`)) as string, 'base64'));
  const version = (require(join(dir, 'package.json')) as { version: string }).version;
  return { model, weights: new Uint8Array(Buffer.concat(parts)), version };
}

export interface BuiltinModelFile {
  path: string;
  sha256: string;
  source: string;
}

/** Converts the nsfwjs model (deterministic bytes for a given package version). */
export function buildBuiltinImageModel(precision: 'fp32' | 'fp16' = 'fp32'): { bytes: Uint8Array; source: string } {
  const { model, weights, version } = loadNsfwjsMobileNet();
  const source = `nsfwjs@${version} mobilenet_v2 (MIT), converter v${CONVERTER_VERSION}${precision === 'fp16' ? ', fp16' : ''}`;
  const bytes = convertTfjsLayers(model, weights, {
    rescale: 1 / 255,
    embeddingLayer: 'average_pooling2d_1',
    outputName: 'nsfw',
    metadata: { source, classes: NSFW_CLASSES.join(',') },
    precision,
  });
  return { bytes, source };
}

/** The built-in model's ONNX file under `modelsDir`, converted and written atomically when missing or stale. */
export async function ensureBuiltinImageModel(modelsDir: string): Promise<BuiltinModelFile> {
  const dir = join(modelsDir, BUILTIN_IMAGE_MODEL);
  const path = join(dir, 'model.onnx');
  const metaPath = join(dir, 'builtin.json');
  const { version } = JSON.parse(await readFile(join(nsfwjsDir(), 'package.json'), 'utf8')) as { version: string };
  const expected = `nsfwjs@${version} mobilenet_v2 (MIT), converter v${CONVERTER_VERSION}`;
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as BuiltinModelFile;
    if (meta.source === expected) return meta;
  }
  const { bytes, source } = buildBuiltinImageModel();
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  const meta: BuiltinModelFile = { path, sha256: sha256Hex(Buffer.from(bytes)), source };
  await writeFile(`${metaPath}.${process.pid}.tmp`, JSON.stringify(meta, null, 1));
  await rename(`${metaPath}.${process.pid}.tmp`, metaPath);
  return meta;
}
