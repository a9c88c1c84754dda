import { getPath } from '../qa/map-record.js';

/** The captions found for one image, or why the caption source could not be read. */
export type CaptionRead =
  | { ok: true; captions: string[]; meta: Record<string, unknown> }
  | { ok: false; reason: string; message: string };

/** Sidecar and member captions larger than this are refused (a caption is a sentence or a paragraph). */
export const MAX_CAPTION_BYTES = 1024 * 1024;

/** A caption file or member: plain text (one caption) or JSON (caption fields, other keys kept as meta). */
export function captionsFromBytes(bytes: Buffer, ext: string, captionFields: string[], name: string): CaptionRead {
  if (bytes.length > MAX_CAPTION_BYTES) return { ok: false, reason: 'caption_too_large', message: `${name} is ${bytes.length} bytes (limit ${MAX_CAPTION_BYTES})` };
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (!ext.endsWith('json')) return { ok: true, captions: [text], meta: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'malformed_caption_json', message: `${name}: ${(err as Error).message}` };
  }
  return captionsFromRecord(value, captionFields, name);
}

/** Captions at the first of `fields` present in a JSON value; the remaining keys become meta. */
export function captionsFromRecord(value: unknown, fields: string[], name: string): CaptionRead {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not_an_object', message: `${name}: expected a JSON object with ${fields.join(' / ')}` };
  }
  for (const field of fields) {
    const found = captionsFromValue(getPath(value, field));
    if (found === null) continue;
    const meta = { ...(value as Record<string, unknown>) };
    delete meta[field.split('.')[0] as string];
    return { ok: true, captions: found, meta };
  }
  return { ok: true, captions: [], meta: value as Record<string, unknown> };
}

/** A string, a list of strings, or a list of `{caption}`/`{text}` objects; null when absent or unusable. */
export function captionsFromValue(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  if (typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const v of value) {
      if (typeof v === 'string') out.push(v);
      else if (v && typeof v === 'object') {
        const text = (v as Record<string, unknown>).caption ?? (v as Record<string, unknown>).text;
        if (typeof text === 'string') out.push(text);
      }
    }
    return out;
  }
  return null;
}

/** Trimmed, with runs of blank lines and spaces squeezed; the wording is never changed. */
export function cleanCaption(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/[ \t]+/g, ' ').replace(/\n{3,}/g, '\n\n').trim();
}
