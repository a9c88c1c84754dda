import type { Sample } from '../../schemas/sample.js';
import { sampleText } from '../filter/heuristics.js';
import type { EmbedConfig } from './config.js';
import type { UnitEmbedding } from './map-embed.js';

/**
 * Characters of neighbouring text an image of a document is scored against, on each side: about
 * what CLIP's 77 tokens hold, taken next to the image (the end of the text before it, the start of
 * the text after it), since the tokenizer would otherwise keep only a paragraph's first words.
 */
export const CONTEXT_CHARS = 300;

/** The texts one image of a document is scored against: the nearest non-empty text part before it and after it (images in between are skipped). */
export function imageContexts(sample: Sample, chars = CONTEXT_CHARS): Map<string, string[]> {
  const images = new Set(sample.media.filter((m) => m.mime.startsWith('image/')).map((m) => m.id));
  const text = (i: number): string | null => {
    const p = sample.content[i];
    return p?.type === 'text' && p.text.trim() ? p.text.trim() : null;
  };
  const out = new Map<string, string[]>();
  for (const [i, part] of sample.content.entries()) {
    if (part.type !== 'image' || !images.has(part.media_id)) continue;
    let before: string | null = null;
    for (let j = i - 1; j >= 0 && before === null; j--) before = text(j);
    let after: string | null = null;
    for (let j = i + 1; j < sample.content.length && after === null; j++) after = text(j);
    const texts = out.get(part.media_id) ?? [];
    if (before !== null) texts.push(tail(before, chars));
    if (after !== null) texts.push(head(after, chars));
    out.set(part.media_id, [...new Set(texts)]);
  }
  return out;
}

/** The first `chars` characters, cut back to a word boundary when one is near. */
export function head(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const cut = text.slice(0, chars);
  const space = cut.search(/\s\S*$/);
  return (space > chars / 2 ? cut.slice(0, space) : cut).trim();
}

/** The last `chars` characters, starting at a word boundary when one is near. */
export function tail(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const cut = text.slice(text.length - chars);
  const space = cut.search(/\s/);
  return (space >= 0 && space < chars / 2 ? cut.slice(space) : cut).trim();
}

/** A sample's image–text relevance: its score column and, for documents, the images it loses. */
export interface Relevance {
  /** Captions: the pair's score. Documents: the lowest score among the images the document keeps (null when it keeps none that was scored). */
  score: number | null;
  /** Documents: images whose best score against their neighbouring text is under the kind's threshold. */
  removed: Array<{ media_id: string; value: number }>;
  threshold: number | null;
}

/**
 * CLIP scores of a unit's caption pairs (the caption against its image) and of every image inside
 * interleaved documents (the best of its scores against the text before and after it; an image with
 * no text around it is not scored). Images under `minScore.interleaved` are to be removed from their
 * document; caption pairs under `minScore.caption` are dropped by the caller. Empty without a text tower.
 */
export async function scoreRelevance(embedding: UnitEmbedding, samples: Sample[], clip: EmbedConfig['clipScore']): Promise<Map<string, Relevance>> {
  const pairs: Array<{ key: string; mediaId: string; text: string }> = [];
  const contexts = new Map<string, Map<string, string[]>>();
  for (const s of samples) {
    if (s.kind === 'caption' && s.media[0]) pairs.push({ key: s.id, mediaId: s.media[0].id, text: sampleText(s) });
    if (s.kind !== 'interleaved') continue;
    const ctx = imageContexts(s);
    contexts.set(s.id, ctx);
    for (const [mediaId, texts] of ctx) for (const [k, text] of texts.entries()) pairs.push({ key: `${s.id}\u0000${mediaId}\u0000${k}`, mediaId, text });
  }
  if (!pairs.length) return new Map();
  const scores = await embedding.clipScores(pairs);
  const out = new Map<string, Relevance>();
  for (const s of samples) {
    if (s.kind === 'caption') {
      const score = scores.get(s.id);
      if (score !== undefined) out.set(s.id, { score, removed: [], threshold: clip.minScore.caption ?? null });
      continue;
    }
    const ctx = contexts.get(s.id);
    if (!ctx) continue;
    const threshold = clip.minScore.interleaved ?? null;
    const removed: Relevance['removed'] = [];
    let lowestKept: number | null = null;
    for (const [mediaId, texts] of ctx) {
      const values = texts.map((_, k) => scores.get(`${s.id}\u0000${mediaId}\u0000${k}`)).filter((v): v is number => v !== undefined);
      if (!values.length) continue;
      const best = Math.max(...values);
      if (threshold !== null && best < threshold) removed.push({ media_id: mediaId, value: best });
      else lowestKept = lowestKept === null ? best : Math.min(lowestKept, best);
    }
    if (removed.length || lowestKept !== null) out.set(s.id, { score: lowestKept, removed, threshold });
  }
  return out;
}
