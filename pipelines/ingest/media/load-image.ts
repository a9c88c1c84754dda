import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import type { MediaDescriptor } from '../../../schemas/sample.js';
import { RecordError } from '../record-error.js';

export interface LoadedImage {
  bytes: Buffer;
  descriptor: MediaDescriptor;
}

const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/**
 * Reads an image given as a path, `data:` URL, base64 string, bytes, or `{bytes, path}` (the
 * Hugging Face image struct), decodes it fully (so truncated files are caught) and describes it.
 */
export async function loadImage(ref: unknown, baseDir: string, maxPixels: number): Promise<LoadedImage> {
  const bytes = await readImageBytes(ref, baseDir);
  return { bytes, descriptor: await describeImage(bytes, maxPixels) };
}

async function readImageBytes(ref: unknown, baseDir: string): Promise<Buffer> {
  if (ref instanceof Uint8Array) return Buffer.from(ref);
  if (ref && typeof ref === 'object') {
    const { bytes, path } = ref as { bytes?: unknown; path?: unknown };
    if (bytes instanceof Uint8Array && bytes.length) return Buffer.from(bytes);
    if (typeof bytes === 'string' && bytes.length) return decodeBase64(bytes);
    if (typeof path === 'string' && path.length) return readImageBytes(path, baseDir);
    throw new RecordError('missing_image', 'image object has neither bytes nor path');
  }
  if (typeof ref !== 'string' || !ref) throw new RecordError('missing_image', `unsupported image reference: ${typeof ref}`);
  if (ref.startsWith('data:')) {
    const comma = ref.indexOf(',');
    if (comma < 0 || !ref.slice(0, comma).includes(';base64')) throw new RecordError('corrupt_image', 'data: URL is not base64');
    return decodeBase64(ref.slice(comma + 1));
  }
  if (ref.length > 512 && /^[A-Za-z0-9+/=\s]+$/.test(ref)) return decodeBase64(ref);
  const path = isAbsolute(ref) ? ref : resolve(baseDir, ref);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new RecordError('missing_image', `image file not found: ${path}`);
  }
  if (size > MAX_IMAGE_BYTES) throw new RecordError('image_too_large', `${path} is ${size} bytes (limit ${MAX_IMAGE_BYTES})`);
  return readFile(path);
}

function decodeBase64(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0) throw new RecordError('corrupt_image', 'empty base64 image');
  return bytes;
}

/** Full decode with sharp (truncation and pixel bombs refused) → format, size and a 64-bit dHash. */
export async function describeImage(bytes: Buffer, maxPixels: number): Promise<MediaDescriptor> {
  const { createHash } = await import('node:crypto');
  let meta: Metadata;
  let grey: Buffer;
  try {
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' });
    meta = await image.metadata();
    grey = await image.clone().greyscale().resize(9, 8, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) throw new RecordError('image_too_large', `${message} (limit ${maxPixels} pixels; raise ingest.maxImagePixels)`);
    throw new RecordError('corrupt_image', message);
  }
  return {
    id: createHash('sha256').update(bytes).digest('hex'),
    mime: `image/${meta.format ?? 'unknown'}`,
    width: meta.width ?? null,
    height: meta.height ?? null,
    bytes: bytes.length,
    duration: null,
    frames: null,
    phash: dHash(grey),
  };
}

/** Difference hash: 8 rows × 8 comparisons of horizontally adjacent pixels of a 9×8 grey thumbnail. */
function dHash(grey: Buffer): string {
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      hash = (hash << 1n) | ((grey[y * 9 + x] as number) > (grey[y * 9 + x + 1] as number) ? 1n : 0n);
    }
  }
  return hash.toString(16).padStart(16, '0');
}
