import { existsSync } from 'node:fs';
import sharp from 'sharp';
import type { BlobStore } from '../shared/store/blob-store.js';

const SIDE = 160;

/**
 * A small JPEG of a stored image as a `data:` URL, so the report carries its pictures inside the
 * file. Null when the blob is missing or does not decode (the report then shows the id only).
 */
export async function thumbnail(blobs: BlobStore, mediaId: string): Promise<string | null> {
  let path: string;
  try {
    path = blobs.pathOf(mediaId);
  } catch {
    return null;
  }
  if (!existsSync(path)) return null;
  try {
    const jpeg = await sharp(path, { limitInputPixels: 64_000_000, failOn: 'none' })
      .rotate()
      .resize(SIDE, SIDE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 70 })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch {
    return null;
  }
}
