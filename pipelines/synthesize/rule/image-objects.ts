import type { Sample } from '../../../schemas/sample.js';
import type { BoxTuple } from './geometry.js';

/** The objects the grounding ingest records on the first task of each image (`meta.image_objects`). */
export interface ImageObjects {
  boxes: Array<{ category: string; box: BoxTuple }>;
  crowd: Record<string, number>;
}

/** `meta.image_objects` when the sample carries a well-formed one, else null. */
export function imageObjectsOf(sample: Sample): ImageObjects | null {
  const meta = parseMeta(sample.meta);
  const value = meta?.image_objects as Partial<ImageObjects> | undefined;
  if (!value || !Array.isArray(value.boxes)) return null;
  const boxes = value.boxes.filter(
    (b): b is ImageObjects['boxes'][number] =>
      !!b && typeof b.category === 'string' && Array.isArray(b.box) && b.box.length === 4 && b.box.every((v) => Number.isFinite(v)),
  );
  const crowd = value.crowd && typeof value.crowd === 'object' ? (value.crowd as Record<string, number>) : {};
  return { boxes, crowd };
}

export function parseMeta(meta: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(meta);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The image parts of a sample, for a derived question about the same image. */
export function imageContent(sample: Sample): Sample['content'] {
  return sample.content.filter((p) => p.type === 'image');
}

/** Boxes grouped by category, in the order categories first appear. */
export function byCategory(objects: ImageObjects): Map<string, BoxTuple[]> {
  const groups = new Map<string, BoxTuple[]>();
  for (const { category, box } of objects.boxes) groups.set(category, [...(groups.get(category) ?? []), box]);
  return groups;
}

/** A derived sample's meta: the source's fields (less the image's object list) plus what the generator adds. */
export function derivedMeta(sample: Sample, extra: Record<string, unknown>): string {
  const { image_objects: _objects, ...rest } = parseMeta(sample.meta) ?? {};
  return JSON.stringify({ ...rest, ...extra });
}
