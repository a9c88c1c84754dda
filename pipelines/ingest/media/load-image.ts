import { sha256Hex } from '../../shared/hash.js';
import { isAbsolute, resolve } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import type { MediaDescriptor } from '../../../schemas/sample.js';
import { PoolClosedError, PoolStartError, WorkerCrashedError } from '../../shared/pool/process-pool.js';
import { BlobStore } from '../../shared/store/blob-store.js';
import { readInputFile } from '../read-input.js';
import { RecordError } from '../record-error.js';
import { disableImagePool, getImagePool } from './image-pool.js';
import { dHash, HASH_THUMB_SIZE, pHash } from './perceptual-hash.js';

export interface LoadedImage {
  bytes: Buffer;
  descriptor: MediaDescriptor;
}

/** What one decode yields: the media descriptor (sha256 id, format, size, DCT pHash and dHash). */
export interface ImageAnalysis {
  descriptor: MediaDescriptor;
}

/** Where an image's bytes are: already in memory, or in a file that the decoding process reads itself. */
export type ImageSource = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'file'; path: string };

/** One decode job, as run in a pool worker or in-process. With `blobRoot`, the bytes are stored there too. */
export interface ImageTask {
  source: ImageSource;
  maxPixels: number;
  blobRoot: string | null;
}

export type ImageTaskResult = { ok: true; analysis: ImageAnalysis } | { ok: false; reason: string; message: string };

const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/**
 * Decodes, describes and (with `blobs`) stores an image given as a path, `data:` URL, base64 string,
 * bytes, or `{bytes, path}` (the Hugging Face image struct). The work runs on the image process pool
 * when there is one (files are read by the worker, so their bytes never cross into this process),
 * else in-process. Bad input throws RecordError.
 */
export async function ingestImage(ref: unknown, baseDir: string, opts: { maxPixels: number; blobs: BlobStore | null }): Promise<ImageAnalysis> {
  const result = await runImageTaskAnywhere({ source: resolveImageSource(ref, baseDir), maxPixels: opts.maxPixels, blobRoot: opts.blobs?.root ?? null });
  if (!result.ok) throw new RecordError(result.reason, result.message);
  return result.analysis;
}

/** Reads an image and describes it, returning its bytes too (decode on the pool when there is one). */
export async function loadImage(ref: unknown, baseDir: string, maxPixels: number): Promise<LoadedImage> {
  const bytes = await readImageSource(resolveImageSource(ref, baseDir));
  return { bytes, descriptor: await describeImage(bytes, maxPixels) };
}

/** Full decode (truncation and pixel bombs refused) → sha256 id, format, size and 64-bit dHash. */
export async function describeImage(bytes: Buffer, maxPixels: number): Promise<MediaDescriptor> {
  const result = await runImageTaskAnywhere({ source: { kind: 'bytes', bytes }, maxPixels, blobRoot: null });
  if (!result.ok) throw new RecordError(result.reason, result.message);
  return result.analysis.descriptor;
}

/** Classifies an image reference without touching the disk; refuses what cannot be an image. */
export function resolveImageSource(ref: unknown, baseDir: string): ImageSource {
  if (ref instanceof Uint8Array) {
    if (ref.length === 0) throw new RecordError('missing_image', 'image bytes are empty');
    return { kind: 'bytes', bytes: ref };
  }
  if (ref && typeof ref === 'object') {
    const { bytes, path } = ref as { bytes?: unknown; path?: unknown };
    if (bytes instanceof Uint8Array && bytes.length) return { kind: 'bytes', bytes };
    if (typeof bytes === 'string' && bytes.length) return { kind: 'bytes', bytes: decodeBase64(bytes) };
    if (typeof path === 'string' && path.length) return resolveImageSource(path, baseDir);
    throw new RecordError('missing_image', 'image object has neither bytes nor path');
  }
  if (typeof ref !== 'string' || !ref) throw new RecordError('missing_image', `unsupported image reference: ${typeof ref}`);
  if (ref.startsWith('data:')) {
    const comma = ref.indexOf(',');
    if (comma < 0 || !ref.slice(0, comma).includes(';base64')) throw new RecordError('corrupt_image', 'data: URL is not base64');
    return { kind: 'bytes', bytes: decodeBase64(ref.slice(comma + 1)) };
  }
  if (/^https?:\/\//i.test(ref)) {
    throw new RecordError('remote_image', `${ref} is a URL; declare a source type that downloads (e.g. caption with \`download: {}\`) or fetch it first`);
  }
  if (ref.length > 512 && /^[A-Za-z0-9+/=\s]+$/.test(ref)) return { kind: 'bytes', bytes: decodeBase64(ref) };
  return { kind: 'file', path: isAbsolute(ref) ? ref : resolve(baseDir, ref) };
}

export async function readImageSource(source: ImageSource): Promise<Buffer> {
  if (source.kind === 'bytes') return Buffer.from(source.bytes.buffer, source.bytes.byteOffset, source.bytes.byteLength);
  return readInputFile(source.path, MAX_IMAGE_BYTES, { missing: 'missing_image', tooLarge: 'image_too_large' });
}

/** The decode job itself; the image pool's workers run this, and so does the in-process fallback. */
export async function runImageTask(task: ImageTask): Promise<ImageTaskResult> {
  try {
    const bytes = await readImageSource(task.source);
    const analysis = await analyzeImageBytes(bytes, task.maxPixels);
    if (task.blobRoot) await new BlobStore(task.blobRoot).put(bytes);
    return { ok: true, analysis };
  } catch (err) {
    if (err instanceof RecordError) return { ok: false, reason: err.reason, message: err.message };
    throw err;
  }
}

/**
 * One sharp pipeline: header → pixel limit checked before any decoding → full decode to a 32×32
 * greyscale thumbnail (libvips shrinks on load where the format allows) → both perceptual hashes.
 */
export async function analyzeImageBytes(bytes: Buffer, maxPixels: number): Promise<ImageAnalysis> {
  let meta: Metadata;
  let thumb: Buffer;
  try {
    // The header alone (no pixel is decoded), so the refusal can name the declared size.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new RecordError('corrupt_image', (err as Error).message);
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) {
    throw new RecordError(
      'image_too_large',
      `the header declares ${meta.width}×${meta.height} = ${pixels} pixels, over the limit of ${maxPixels}; refused before decoding (a decompression bomb, or raise ingest.maxImagePixels)`,
    );
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .greyscale()
      .removeAlpha()
      .resize(HASH_THUMB_SIZE, HASH_THUMB_SIZE, { fit: 'fill' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 || data.length !== HASH_THUMB_SIZE * HASH_THUMB_SIZE) throw new Error(`unexpected thumbnail layout: ${info.channels} channel(s), ${data.length} bytes`);
    thumb = data;
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) throw new RecordError('image_too_large', `${message} (limit ${maxPixels} pixels; raise ingest.maxImagePixels)`);
    throw new RecordError('corrupt_image', message);
  }
  return {
    descriptor: {
      id: sha256Hex(bytes),
      mime: `image/${meta.format ?? 'unknown'}`,
      width: meta.width ?? null,
      height: meta.height ?? null,
      bytes: bytes.length,
      duration: null,
      frames: null,
      phash: pHash(thumb),
      dhash: dHash(thumb),
    },
  };
}

/** On the pool when there is one; a pool that cannot start is switched off and the work runs here. */
async function runImageTaskAnywhere(task: ImageTask): Promise<ImageTaskResult> {
  const pool = getImagePool();
  if (!pool) return runImageTask(task);
  try {
    return await pool.run(task.source.kind === 'bytes' ? { ...task, source: { kind: 'bytes', bytes: standalone(task.source.bytes) } } : task);
  } catch (err) {
    if (err instanceof WorkerCrashedError) {
      return { ok: false, reason: 'decoder_crashed', message: `${err.message}. The image may be malformed in a way that crashes the decoder; a re-run retries it` };
    }
    if (err instanceof PoolStartError || err instanceof PoolClosedError) {
      disableImagePool(err);
      return runImageTask(task);
    }
    throw err;
  }
}

/** A view over part of a larger buffer would send the whole buffer over IPC; copy just the view. */
function standalone(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Uint8Array.prototype.slice.call(bytes);
}

function decodeBase64(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) throw new RecordError('corrupt_image', 'empty base64 image');
  return bytes;
}
