import type { Sample } from '../../schemas/sample.js';
import type { EmbedConfig } from './config.js';
import type { TextEmbedder } from './text-embedder.js';


/** The time labels ingest places after each frame (`[t=1.5s]`): structure, not the clip's text. */
const TIME_LABEL = /^\[t=[0-9.]+s\]$/;

/**
 * The text a video clip carries: its text parts (caption, transcript, question, in content order)
 * without the per-frame time labels, and the task's question when no part holds it already.
 */
export function videoClipText(sample: Sample): string {
  const parts = sample.content.filter((p) => p.type === 'text').map((p) => (p.text ?? '').trim()).filter((t) => t && !TIME_LABEL.test(t));
  const question = sample.task?.question?.trim();
  if (question && !parts.some((p) => p.includes(question))) parts.push(question);
  return parts.join('\n');
}

/** Whether the video rule's text half runs: a text tower is there and the config asks for it. */
export function videoTextWanted(config: EmbedConfig): boolean {
  return config.semantic.enabled && config.semantic.video.enabled && config.semantic.video.text;
}

/**
 * Text embeddings of the video samples' clip texts (the model's text tower, normalised), keyed by
 * sample id; null for a clip without text. Batched like the CLIP scores.
 */
export async function embedVideoTexts(text: TextEmbedder, samples: Sample[]): Promise<Map<string, { chars: number; vector: Float32Array | null }>> {
  const out = new Map<string, { chars: number; vector: Float32Array | null }>();
  const withText: Array<{ id: string; text: string }> = [];
  for (const s of samples) {
    if (s.kind !== 'video') continue;
    const t = videoClipText(s);
    out.set(s.id, { chars: t.length, vector: null });
    if (t) withText.push({ id: s.id, text: t });
  }
  for (let i = 0; i < withText.length; i += 64) {
    const chunk = withText.slice(i, i + 64);
    const vectors = await text.embed(chunk.map((c) => c.text));
    for (const [j, c] of chunk.entries()) out.set(c.id, { chars: c.text.length, vector: vectors[j] as Float32Array });
  }
  return out;
}
