import { existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { stableHash } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { AdapterUnit } from '../adapter.js';
import { sourceFiles } from '../source-files.js';

export const IMAGE_PATTERN = '**/*.{png,jpg,jpeg,tif,tiff,bmp,webp,PNG,JPG,JPEG,TIF,TIFF,BMP,WEBP}';

export interface ImageUnitPayload {
  files: string[];
}

export interface ImagePlanOptions {
  sourceName: string;
  path: string;
  imagesPerUnit: number;
  /** Input items per image (synthetic mode draws several variants on one background). */
  itemsPerImage?: number;
  /** Files whose changes must redo the image's unit too (its ground truth). */
  companions?: (image: string) => string | null;
  /** Folded into every unit's fingerprint (e.g. the synthetic text corpus). */
  extraFingerprint?: string;
}

/**
 * Units of `imagesPerUnit` image files in path order. The fingerprint covers each image's and
 * companion's path, size and mtime (hashing every image of a large folder on each plan would cost
 * more than the work it saves).
 */
export async function planImageUnits(opts: ImagePlanOptions, ctx: StageContext): Promise<AdapterUnit[]> {
  const files = await sourceFiles(opts.sourceName, opts.path, ctx.baseDir, IMAGE_PATTERN);
  const units: AdapterUnit[] = [];
  for (let start = 0; start < files.length; start += opts.imagesPerUnit) {
    const slice = files.slice(start, start + opts.imagesPerUnit);
    const stamps = [];
    for (const file of slice) {
      const companion = opts.companions?.(file) ?? null;
      stamps.push([relative(ctx.baseDir, file), await fileStamp(file), companion ? [relative(ctx.baseDir, companion), await fileStamp(companion)] : null]);
    }
    const first = relative(ctx.baseDir, slice[0] as string);
    const payload: ImageUnitPayload = { files: slice };
    units.push({
      key: `${first}#${slice.length}`,
      label: `${opts.sourceName} ${first} (+${slice.length - 1} images)`,
      fingerprint: stableHash({ stamps, extra: opts.extraFingerprint ?? null }),
      size: slice.length * (opts.itemsPerImage ?? 1),
      payload,
    });
  }
  return units;
}

async function fileStamp(file: string): Promise<[number, number]> {
  const s = await stat(file);
  return [s.size, Math.round(s.mtimeMs)];
}

/** The folder image paths are taken relative to: the source folder, a file's folder, or a glob's fixed leading folders. */
export function imageRoot(path: string, baseDir: string): string {
  const abs = resolve(baseDir, path);
  if (existsSync(abs)) return statSync(abs).isDirectory() ? abs : dirname(abs);
  const segments = abs.split(sep);
  const fixed = segments.findIndex((s) => /[*?[\]{}()!]/.test(s));
  return fixed < 0 ? dirname(abs) : segments.slice(0, fixed).join(sep) || sep;
}
