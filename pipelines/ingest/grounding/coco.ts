import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { mapBounded } from '../../shared/concurrency.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit } from '../adapter.js';
import { RecordError } from '../record-error.js';
import { rejectFile, SourceConfigError, sourceFiles } from '../source-files.js';
import { processAnnotatedImage, type AnnotatedImage, type RawAnnotation } from './annotated-image.js';
import type { CocoGroundingConfig } from './config.js';
import { topLevelArrayItems } from './json-array-stream.js';

interface CocoImage {
  id: number;
  file_name: string;
  width: number | null;
  height: number | null;
  meta: Record<string, unknown>;
}

type CocoUnitPayload =
  | { kind: 'images'; file: string; captionsFile: string | null; imageRoot: string; categories: Record<string, string>; images: CocoImage[] }
  /** Annotations whose image_id names no image, found while planning. */
  | { kind: 'orphans'; file: string; imageIds: number[] }
  /** The file cannot be read as COCO JSON at all. */
  | { kind: 'broken'; file: string; reason: string; message: string }
  /** Entries of "images" that are not image objects with a numeric id and a file_name. */
  | { kind: 'invalid-images'; file: string; entries: InvalidImage[] };

interface InvalidImage {
  index: number;
  message: string;
  raw: string;
}

interface FileIndex {
  images: CocoImage[];
  categories: Record<string, string>;
  orphanImageIds: number[];
  invalidImages: InvalidImage[];
  fingerprint: string;
}

/**
 * COCO instances JSON. Planning streams each file once (never holding the whole document, so the
 * 450 MB train2017 file fits) to list images and categories, hash the bytes and find annotations of
 * unknown images; each unit then streams the annotations again, keeping only those of its own
 * images, so memory is bounded by the unit size (`imagesPerUnit`), not the file size.
 */
export async function planCoco(source: CocoGroundingConfig, ctx: StageContext): Promise<AdapterUnit[]> {
  const perUnit = source.imagesPerUnit ?? ctx.config.ingest.unitRows;
  const units: AdapterUnit[] = [];
  for (const file of await sourceFiles(source.name, source.path, ctx.baseDir, '**/instances_*.json')) {
    const rel = relative(ctx.baseDir, file);
    const captionsFile = captionsFor(source, file, ctx.baseDir);
    let index: FileIndex;
    try {
      // Through the file memo: an unchanged instances file (450 MB for train2017) is not streamed again to plan.
      index = await ctx.files.get(file, 'coco-grounding-index', () => indexFile(file));
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      const payload: CocoUnitPayload = { kind: 'broken', file, reason: err.reason, message: err.message };
      units.push({ key: `${rel}#broken`, label: `${source.name} ${rel} (unreadable)`, fingerprint: fileStamp(file), size: 1, payload });
      continue;
    }
    const fingerprint = captionsFile ? `${index.fingerprint}+${fileStamp(captionsFile)}` : index.fingerprint;
    const imageRoot = imageRootFor(source, file, ctx.baseDir);
    for (let start = 0; start < index.images.length; start += perUnit) {
      const images = index.images.slice(start, start + perUnit);
      const payload: CocoUnitPayload = { kind: 'images', file, captionsFile, imageRoot, categories: index.categories, images };
      units.push({ key: `${rel}#images-${start}-${start + images.length}`, label: `${source.name} ${rel} images ${start}–${start + images.length}`, fingerprint, size: images.length, payload });
    }
    if (index.invalidImages.length) {
      const payload: CocoUnitPayload = { kind: 'invalid-images', file, entries: index.invalidImages };
      units.push({ key: `${rel}#invalid-images`, label: `${source.name} ${rel} invalid image entries`, fingerprint, size: index.invalidImages.length, payload });
    }
    if (!index.images.length && !index.invalidImages.length && !index.orphanImageIds.length) {
      await rejectFile(file, 'no_images', `${file} has no "images" entries: not a COCO instances file, or an empty one`);
    }
    if (index.orphanImageIds.length) {
      const payload: CocoUnitPayload = { kind: 'orphans', file, imageIds: index.orphanImageIds };
      units.push({ key: `${rel}#orphans`, label: `${source.name} ${rel} annotations of unknown images`, fingerprint, size: index.orphanImageIds.length, payload });
    }
  }
  return units;
}

export async function processCoco(source: CocoGroundingConfig, unit: AdapterUnit, ctx: StageContext, sink: UnitSink): Promise<void> {
  const payload = unit.payload as CocoUnitPayload;
  const uri = relative(ctx.baseDir, payload.file);
  if (payload.kind === 'broken') {
    sink.inputs(1);
    sink.quarantine({ sample_id: null, source_uri: uri, locator: 'file' }, payload.reason, { message: `${payload.message}; no image of this file can be read` });
    return;
  }
  if (payload.kind === 'invalid-images') {
    sink.inputs(payload.entries.length);
    for (const entry of payload.entries) {
      sink.quarantine({ sample_id: null, source_uri: uri, locator: `images:${entry.index}` }, 'malformed_image_entry', { message: entry.message, raw: entry.raw });
    }
    return;
  }
  if (payload.kind === 'orphans') {
    const wanted = new Set(payload.imageIds);
    for await (const item of topLevelArrayItems(payload.file, new Set(['annotations']))) {
      const imageId = imageIdOf(item.text);
      if (imageId === null || !wanted.has(imageId)) continue;
      sink.inputs(1);
      sink.quarantine({ sample_id: null, source_uri: uri, locator: `annotations:${item.index}` }, 'unknown_image', {
        message: `annotation names image_id ${imageId}, which is not in "images"`,
        raw: item.text,
      });
    }
    return;
  }

  const byId = new Map(payload.images.map((img) => [img.id, { image: img, annotations: [] as RawAnnotation[], captions: [] as string[] }]));
  for await (const item of topLevelArrayItems(payload.file, new Set(['annotations']))) {
    const imageId = imageIdOf(item.text);
    const entry = imageId === null ? undefined : byId.get(imageId);
    if (!entry) continue;
    entry.annotations.push(toRawAnnotation(item.text, item.index, imageId as number, payload.categories));
  }
  if (payload.captionsFile) {
    for await (const item of topLevelArrayItems(payload.captionsFile, new Set(['annotations']))) {
      const imageId = imageIdOf(item.text);
      const entry = imageId === null ? undefined : byId.get(imageId);
      const caption = entry ? parseObject(item.text)?.caption : undefined;
      if (entry && typeof caption === 'string' && caption.trim()) entry.captions.push(caption.trim());
    }
  }

  await mapBounded([...byId.values()], ctx.config.ingest.concurrency, async ({ image, annotations, captions }) => {
    const annotated: AnnotatedImage = {
      key: String(image.id),
      file: resolve(payload.imageRoot, image.file_name),
      uri,
      locator: `image:${image.id}`,
      declaredSize: image.width && image.height ? { width: image.width, height: image.height } : null,
      frame: 'pixels',
      annotations,
      captions,
      meta: { file_name: image.file_name, ...image.meta },
    };
    await processAnnotatedImage(source, annotated, ctx, sink);
  });
}

async function indexFile(file: string): Promise<FileIndex> {
  const hash = createHash('sha256');
  const images: CocoImage[] = [];
  const categories: Record<string, string> = {};
  const annotatedIds = new Set<number>();
  const invalidImages: InvalidImage[] = [];
  for await (const item of topLevelArrayItems(file, new Set(['images', 'categories', 'annotations']), (c) => hash.update(c))) {
    if (item.key === 'annotations') {
      const id = imageIdOf(item.text);
      if (id !== null) annotatedIds.add(id);
      continue;
    }
    const value = parseObject(item.text);
    if (item.key === 'images' && (!value || typeof value.id !== 'number' || typeof value.file_name !== 'string')) {
      const raw = item.text.length > 2000 ? `${item.text.slice(0, 2000)}…` : item.text;
      invalidImages.push({ index: item.index, message: value ? `an image needs a numeric "id" and a string "file_name", got id ${JSON.stringify(value.id ?? null)}, file_name ${JSON.stringify(value.file_name ?? null)}` : 'the entry is not a JSON object', raw });
      continue;
    }
    if (!value) continue;
    if (item.key === 'categories' && value.id !== undefined && typeof value.name === 'string') categories[String(value.id)] = value.name;
    if (item.key === 'images' && typeof value.id === 'number' && typeof value.file_name === 'string') {
      const { id, file_name, width, height, license, flickr_url, coco_url, date_captured } = value as Record<string, unknown>;
      images.push({
        id: id as number,
        file_name: file_name as string,
        width: typeof width === 'number' ? width : null,
        height: typeof height === 'number' ? height : null,
        meta: { license: license ?? null, flickr_url: flickr_url ?? null, coco_url: coco_url ?? null, date_captured: date_captured ?? null },
      });
    }
  }
  const known = new Set(images.map((i) => i.id));
  return { images, categories, orphanImageIds: [...annotatedIds].filter((id) => !known.has(id)).sort((a, b) => a - b), invalidImages, fingerprint: hash.digest('hex') };
}

function toRawAnnotation(text: string, index: number, imageId: number, categories: Record<string, string>): RawAnnotation {
  const value = parseObject(text);
  const id = value?.id !== undefined ? String(value.id) : `#${index}`;
  const locator = `image:${imageId}/ann:${id}`;
  const bbox = value?.bbox;
  const categoryId = String(value?.category_id ?? '');
  const raw = text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  const wellFormed = Array.isArray(bbox) && bbox.length === 4 && bbox.every((v) => typeof v === 'number');
  const box = wellFormed
    ? { x1: bbox[0] as number, y1: bbox[1] as number, x2: (bbox[0] as number) + (bbox[2] as number), y2: (bbox[1] as number) + (bbox[3] as number) }
    : { x1: Number.NaN, y1: Number.NaN, x2: Number.NaN, y2: Number.NaN };
  const annotation: RawAnnotation = { id, category: categories[categoryId] ?? null, categoryId, crowd: value?.iscrowd === 1, box, locator, raw };
  if (!value) annotation.invalid = { reason: 'malformed_json', message: 'the annotation is not a valid JSON object' };
  else if (!wellFormed) annotation.invalid = { reason: 'malformed_box', message: `bbox must be [x, y, width, height] numbers, got ${JSON.stringify(bbox ?? null)}` };
  return annotation;
}

/** `image_id` without parsing the whole annotation (segmentations can be large). */
function imageIdOf(text: string): number | null {
  const m = /"image_id"\s*:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const splitOf = (file: string): string | null => /^instances_(.+)\.json$/.exec(basename(file))?.[1] ?? null;

function imageRootFor(source: CocoGroundingConfig, file: string, baseDir: string): string {
  if (source.imageRoot) return resolve(baseDir, source.imageRoot);
  const split = splitOf(file);
  for (const candidate of split ? [join(dirname(file), '..', split), join(dirname(file), '..', 'images', split)] : []) {
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
  }
  return dirname(file);
}

function captionsFor(source: CocoGroundingConfig, file: string, baseDir: string): string | null {
  if (source.captions === false) return null;
  if (typeof source.captions === 'string') {
    const path = resolve(baseDir, source.captions);
    if (!existsSync(path)) throw new SourceConfigError(`source ${source.name}: captions file ${path} does not exist`);
    return path;
  }
  const split = splitOf(file);
  const sibling = split ? join(dirname(file), `captions_${split}.json`) : null;
  return sibling && existsSync(sibling) ? sibling : null;
}

/** Size + mtime: cheap change detection for files not hashed while planning. */
function fileStamp(file: string): string {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}
