import type { Sample } from '../../schemas/sample.js';
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

/** The question as the policy sees it: content parts in order (images as data: URLs), options listed, instruction last. */
export async function buildMessages(sample: Sample, blobs: BlobStore, opts: { systemPrompt?: string; instruction: string }): Promise<ChatMessage[]> {
  const mediaById = new Map(sample.media.map((m) => [m.id, m]));
  const parts: ChatContentPart[] = [];
  for (const part of sample.content) {
    if (part.type === 'text') parts.push({ type: 'text', text: part.text });
    else if (part.type === 'image') {
      const media = mediaById.get(part.media_id);
      parts.push({ type: 'image_url', image_url: { url: imageDataUrl(await blobs.get(part.media_id), media?.mime ?? 'image/png') } });
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
