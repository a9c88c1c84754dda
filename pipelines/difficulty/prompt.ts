import type { Sample } from '../../schemas/sample.js';
import { sha256Hex, stableHash } from '../shared/hash.js';
import type { BlobStore } from '../shared/store/blob-store.js';
import { LETTERS } from '../ingest/qa/answer.js';
import { imageDataUrl, type ChatContentPart, type ChatMessage } from './rollout-client.js';

export const DEFAULT_INSTRUCTIONS = {
  /** GLM-4.1V-Thinking answers in <think>/<answer> with a box on its own; no instruction needed. */
  glm: '',
  glm_think: '',
  none: '',
  lenient: 'Please reason step by step, and put your final answer within \\boxed{}.',
} as const;

/**
 * Recently built `data:` URLs by media id, bounded by their total length: questions that share an
 * image (several questions about one chart) read and base64-encode it once.
 */
export class DataUrlCache {
  private readonly urls = new Map<string, string>();
  private chars = 0;

  constructor(readonly maxChars = 64 * 2 ** 20) {}

  async get(mediaId: string, mime: string, read: () => Promise<Uint8Array>): Promise<string> {
    const key = `${mime}\u0000${mediaId}`;
    const hit = this.urls.get(key);
    if (hit !== undefined) {
      this.urls.delete(key); // most recently used last
      this.urls.set(key, hit);
      return hit;
    }
    const url = imageDataUrl(await read(), mime);
    if (url.length <= this.maxChars / 4) {
      this.urls.set(key, url);
      this.chars += url.length;
      for (const [k, v] of this.urls) {
        if (this.chars <= this.maxChars) break;
        this.urls.delete(k);
        this.chars -= v.length;
      }
    }
    return url;
  }
}

/** The question as the policy sees it: content parts in order (images as data: URLs), options listed, instruction last. */
export async function buildMessages(
  sample: Sample,
  blobs: BlobStore,
  opts: { systemPrompt?: string; instruction: string; dataUrls?: DataUrlCache },
): Promise<ChatMessage[]> {
  const mediaById = new Map(sample.media.map((m) => [m.id, m]));
  const parts: ChatContentPart[] = [];
  for (const part of sample.content) {
    if (part.type === 'text') parts.push({ type: 'text', text: part.text });
    else if (part.type === 'image') {
      const mime = mediaById.get(part.media_id)?.mime ?? 'image/png';
      const read = () => blobs.get(part.media_id);
      const url = opts.dataUrls ? await opts.dataUrls.get(part.media_id, mime, read) : imageDataUrl(await read(), mime);
      parts.push({ type: 'image_url', image_url: { url } });
    }
  }
  const choices = sample.task?.choices ?? [];
  const tail = [
    choices.length && !choices.every((c, i) => c === LETTERS[i]) ? choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n') : '',
    opts.instruction,
  ].filter(Boolean);
  if (tail.length) parts.push({ type: 'text', text: tail.join('\n\n') });
  const messages: ChatMessage[] = [];
  if (opts.systemPrompt) messages.push({ role: 'system', content: opts.systemPrompt });
  messages.push({ role: 'user', content: parts });
  return messages;
}

/**
 * Hash of the question as sent (text, media by content hash, choices), the journal's `prompt_hash`:
 * `stableHash({ content, choices })` truncated. Text-only choices, the usual case, serialise with
 * plain JSON.stringify in sorted key order, which is what stableHash writes, without its per-value replacer.
 */
export function promptHashOf(sample: Pick<Sample, 'content' | 'task'>): string {
  const content = sample.content.map((p) => (p.type === 'text' ? p.text : p.media_id));
  const choices: unknown[] = sample.task?.choices ?? [];
  if (!choices.every((c) => typeof c === 'string')) return stableHash({ content, choices }).slice(0, 16);
  return sha256Hex(JSON.stringify({ choices, content })).slice(0, 16);
}
