import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { modelPixels, type PixelSpec } from '../embed/preprocess.js';
import { dctHash256, THUMB, type Hash256 } from './image-hash.js';

/** One decode of a stored image: what the heuristics and the near-duplicate index need. */
export type ImageFeatures =
  | { ok: true; width: number; height: number; stddev: number; hash: Hash256; mirrored: Hash256; pixels?: Uint8Array }
  | { ok: false; reason: string };

export interface ImageFeatureTask {
  /** Path of the blob in the content-addressed store. */
  path: string;
  maxPixels: number;
  /** Also return the embedding model's input pixels (decoded once, next to the hash). */
  embed?: PixelSpec;
}

/** Decodes to a 64×64 greyscale thumbnail (libvips shrinks on load) and measures it. Never throws for bad bytes. */
export async function imageFeatures(task: ImageFeatureTask): Promise<ImageFeatures> {
  let bytes: Buffer;
  try {
    bytes = await readFile(task.path);
  } catch (err) {
    return { ok: false, reason: `blob_missing: ${(err as Error).message}` };
  }
  try {
    const image = sharp(bytes, { limitInputPixels: task.maxPixels });
    const meta = await image.metadata();
    const { data } = await image.greyscale().removeAlpha().resize(THUMB, THUMB, { fit: 'fill' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    let sum = 0;
    let sumSq = 0;
    for (const v of data) {
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / data.length;
    const stddev = Math.sqrt(Math.max(0, sumSq / data.length - mean * mean));
    const { hash, mirrored } = dctHash256(data);
    // EXIF-rotated images: the displayed size.
    const rotated = (meta.orientation ?? 1) >= 5;
    const width = (rotated ? meta.height : meta.width) ?? 0;
    const height = (rotated ? meta.width : meta.height) ?? 0;
    const pixels = task.embed ? await modelPixels(sharp(bytes, { limitInputPixels: task.maxPixels }).rotate(), task.embed) : undefined;
    return { ok: true, width, height, stddev, hash, mirrored, ...(pixels ? { pixels } : {}) };
  } catch (err) {
    return { ok: false, reason: `undecodable_image: ${(err as Error).message}` };
  }
}
