import { resolve } from 'node:path';
import { RecordError } from '../record-error.js';
import { isFile, locateImage, type DocItem, type ParsedDocument } from './document.js';

type Json = Record<string, unknown>;

function asObject(record: unknown): Json {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new RecordError('not_an_object', `expected a JSON object, got ${Array.isArray(record) ? 'an array' : record === null ? 'null' : typeof record}`);
  }
  return record as Json;
}

/**
 * MMC4: `text_list` holds the document's sentences, `image_info[i].matched_text_index` the sentence
 * each image was matched to; the image goes right after that sentence (images matched to the same
 * sentence keep their `image_info` order). An image is local when `image_name` exists under
 * `imageRoot`, else remote (`raw_url`). The CLIP `similarity_matrix` is not kept.
 */
export function mmc4Document(record: unknown, imageRoot: string): ParsedDocument {
  const r = asObject(record);
  const texts = r.text_list;
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) throw new RecordError('malformed_record', '`text_list` must be a list of strings');
  const infos = r.image_info ?? [];
  if (!Array.isArray(infos)) throw new RecordError('malformed_record', '`image_info` must be a list');
  const after = new Map<number, DocItem[]>();
  infos.forEach((raw, i) => {
    const info = asObject(raw);
    const at = info.matched_text_index;
    if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at >= texts.length) {
      throw new RecordError('bad_matched_text_index', `image_info[${i}].matched_text_index is ${JSON.stringify(at ?? null)}; the document has ${texts.length} sentences`);
    }
    const name = typeof info.image_name === 'string' && info.image_name.trim() ? info.image_name : null;
    const url = typeof info.raw_url === 'string' ? info.raw_url : null;
    const localPath = name ? resolve(imageRoot, name) : null;
    const location = localPath && isFile(localPath) ? { kind: 'local' as const, path: localPath } : url ? locateImage(url, imageRoot, 'file') : null;
    if (!location) throw new RecordError('malformed_record', `image_info[${i}] has neither an image_name under ${imageRoot} nor a raw_url`);
    const faces = Array.isArray(info.face_detections) ? info.face_detections.length : null;
    const item: DocItem = { type: 'image', location, alt: null, meta: { image_name: name, raw_url: url, matched_text_index: at, matched_sim: info.matched_sim ?? null, faces } };
    after.set(at, [...(after.get(at) ?? []), item]);
  });
  const items: DocItem[] = [];
  let sentences: string[] = [];
  texts.forEach((text, i) => {
    if ((text as string).trim()) sentences.push((text as string).trim());
    const images = after.get(i);
    if (!images) return;
    if (sentences.length) items.push({ type: 'text', text: sentences.join(' ') });
    sentences = [];
    items.push(...images);
  });
  if (sentences.length) items.push({ type: 'text', text: sentences.join(' ') });
  return { items, meta: { url: r.url ?? null } };
}

/**
 * OBELICS: parallel `texts` and `images` lists; position i is a text (texts[i] set) or an image
 * (images[i] set, a URL or a path). `general_metadata` (a JSON string with the page URL) is kept.
 */
export function obelicsDocument(record: unknown, imageRoot: string): ParsedDocument {
  const r = asObject(record);
  const { texts, images } = r;
  if (!Array.isArray(texts) || !Array.isArray(images)) throw new RecordError('malformed_record', '`texts` and `images` must both be lists');
  if (texts.length !== images.length) throw new RecordError('malformed_record', `\`texts\` has ${texts.length} entries but \`images\` has ${images.length}; they must be parallel`);
  const items: DocItem[] = [];
  texts.forEach((text, i) => {
    const image = images[i];
    const hasText = typeof text === 'string' && text.trim().length > 0;
    const hasImage = image !== null && image !== undefined && image !== '';
    if (hasText && hasImage) throw new RecordError('malformed_record', `position ${i} has both a text and an image`);
    if (hasText) items.push({ type: 'text', text: (text as string).trim() });
    else if (hasImage) {
      if (typeof image !== 'string') throw new RecordError('malformed_record', `images[${i}] must be a URL or a path`);
      items.push({ type: 'image', location: locateImage(image, imageRoot, 'file'), alt: null });
    }
  });
  return { items, meta: { general_metadata: parseJsonString(r.general_metadata), metadata: parseJsonString(r.metadata) } };
}

/** `items`: an ordered list of `{type: 'text', text}` and `{type: 'image', path | url | src, alt}`, with `doc_id`, `title`, `url` kept. */
export function itemsDocument(record: unknown, imageRoot: string): ParsedDocument {
  const r = asObject(record);
  if (!Array.isArray(r.items)) throw new RecordError('malformed_record', '`items` must be a list');
  const items = r.items.map((raw, i): DocItem => {
    const item = asObject(raw);
    if (item.type === 'text' && typeof item.text === 'string') return { type: 'text', text: item.text.trim() };
    const src = [item.path, item.url, item.src].find((v): v is string => typeof v === 'string' && v.length > 0);
    if (item.type === 'image' && src) return { type: 'image', location: locateImage(src, imageRoot, 'file'), alt: typeof item.alt === 'string' ? item.alt : null };
    throw new RecordError('malformed_record', `items[${i}] is neither {type: "text", text} nor {type: "image", path|url|src}`);
  });
  return { items, meta: { doc_id: r.doc_id ?? r.id ?? null, title: r.title ?? null, url: r.url ?? r.source_html ?? null } };
}

function parseJsonString(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
