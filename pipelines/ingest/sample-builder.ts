import { SAMPLE_SCHEMA_VERSION, unratedDifficulty, type ContentPart, type MediaDescriptor, type Sample, type SampleKind, type Task } from '../../schemas/sample.js';
import { sha256Hex, stableHash } from '../shared/hash.js';
import type { StageContext } from '../shared/runner/stage.js';

export interface SampleParts {
  source: { name: string; license?: string | null; lang?: string | null };
  uri: string;
  locator: string;
  /** The record's own id when it has one; otherwise the locator identifies the sample. */
  recordId?: string | null;
  kind: SampleKind;
  domain: string;
  content: ContentPart[];
  media: MediaDescriptor[];
  task?: Task | null;
  license?: string | null;
  lang?: string | null;
  signals?: Record<string, unknown>;
  meta?: unknown;
}

/**
 * The one way adapters make a canonical sample. `id` is stable across runs (dataset, source,
 * record id or locator); `signals.content_hash` is the exact-dedup key over the content itself.
 */
export function buildSample(ctx: StageContext, parts: SampleParts): Sample {
  const text = contentText(parts.content);
  return {
    id: sha256Hex(`${ctx.dataset}\u0000${parts.source.name}\u0000${parts.recordId ?? `${parts.uri}#${parts.locator}`}`),
    schema_version: SAMPLE_SCHEMA_VERSION,
    dataset: ctx.dataset,
    source: { name: parts.source.name, uri: parts.uri, locator: parts.locator },
    kind: parts.kind,
    domain: parts.domain,
    license: parts.license ?? parts.source.license ?? null,
    lang: parts.lang ?? parts.source.lang ?? sampleLanguage(text.join(' ')),
    content: parts.content,
    media: parts.media,
    task: parts.task ?? null,
    signals: {
      content_hash: contentHash(parts.content, parts.task ?? null),
      extra: JSON.stringify(parts.signals ?? {}),
      quality: null,
      dedup: null,
      embedding: null,
    },
    difficulty: unratedDifficulty(),
    meta: safeJson(parts.meta ?? {}),
    derived_from: null,
  };
}

function contentText(content: readonly ContentPart[]): string[] {
  return content.map((p) => (p.type === 'text' ? p.text.replace(/\s+/g, ' ').trim() : `<${p.type}:${p.media_id}>`));
}

/** The exact-dedup key of a sample: its normalised content, answer and boxes (`signals.content_hash`). */
export function contentHash(content: readonly ContentPart[], task: Task | null): string {
  return stableHash({ t: contentText(content), a: task?.answer ?? null, b: task?.boxes ?? [] });
}

let loadImage: Promise<typeof import('./media/load-image.js')> | null = null;

/**
 * Loads an image (path, data URL, base64, bytes), stores it once in the blob store, and describes it.
 * Decoding runs on the image process pool when there is one (see media/image-pool.ts).
 */
export async function storeImage(ctx: StageContext, ref: unknown, baseDir: string): Promise<MediaDescriptor> {
  // Loaded on first image: sharp's native library is not needed to plan, nor by text-only sources.
  const { ingestImage } = await (loadImage ??= import('./media/load-image.js'));
  return (await ingestImage(ref, baseDir, { maxPixels: ctx.config.ingest.maxImagePixels, blobs: ctx.blobs })).descriptor;
}

export const textPart = (text: string): ContentPart => ({ type: 'text', text, media_id: null });
export const imagePart = (media: MediaDescriptor): ContentPart => ({ type: 'image', text: null, media_id: media.id });
export const videoPart = (media: MediaDescriptor): ContentPart => ({ type: 'video', text: null, media_id: media.id });

let identification: typeof import('../shared/language/identify.js') | null = null;

/** Loads language identification (ELD's n-gram database, ~0.4 s): the ingest stage does it once units are pending. */
export async function loadLanguageIdentification(): Promise<void> {
  identification ??= await import('../shared/language/identify.js');
}

/**
 * A sample's `lang` when its source sets none: the ISO 639-1 code of its text, or null where the
 * detector is not confident (short or mixed text). It used to be 'zh' for text more than 10% Han and
 * 'en' for everything else, French, Russian or Arabic alike.
 */
function sampleLanguage(text: string): string | null {
  if (!identification) throw new Error('language identification is not loaded: call loadLanguageIdentification() before building samples');
  return text.trim() ? (identification.identifyLanguage(text.slice(0, 2000))?.iso639_1 ?? null) : null;
}

/** JSON for meta/details; bytes are summarised, bigints narrowed. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === 'bigint' ? Number(v) : v)) ?? 'null';
}
