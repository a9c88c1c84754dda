/**
 * Text normalisation shared by exact dedup, MinHash and decontamination: Unicode NFKC, lower case,
 * punctuation and symbols to spaces (letters, their combining marks and digits of every script
 * kept: a Devanagari vowel sign or a Thai tone mark is part of its word), whitespace collapsed.
 */
export function normaliseText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ')
    .trim();
}

/** Scripts written without spaces between words. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
let wordSegmenter: Intl.Segmenter | undefined;

/**
 * The words of a normalised text: split at spaces, and where a script writes no spaces (Chinese,
 * Japanese, Thai, Lao, Khmer, Burmese) by ICU's dictionary word breaker (`Intl.Segmenter`), so
 * "一只猫坐在沙发上" is 6 words, not 1: word counts, repetition and MinHash shingles mean the same
 * in every script.
 */
export function words(normalised: string): string[] {
  if (!normalised) return [];
  const parts = normalised.split(' ');
  if (!UNSPACED.test(normalised)) return parts;
  wordSegmenter ??= new Intl.Segmenter('und', { granularity: 'word' });
  const out: string[] = [];
  for (const part of parts) {
    if (!UNSPACED.test(part)) out.push(part);
    else for (const s of wordSegmenter.segment(part)) if (s.isWordLike) out.push(s.segment);
  }
  return out;
}

/** 32-bit FNV-1a of a string (word hashing for shingles). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection on 32-bit integers. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes of the word n-grams of a word list (one per n-gram; a text shorter than n gives one hash of all its words). */
export function shingleHashes(tokens: string[], n: number): Uint32Array {
  const wordHashes = tokens.map(fnv1a);
  const count = Math.max(1, tokens.length - n + 1);
  const out = new Uint32Array(tokens.length === 0 ? 0 : count);
  for (let i = 0; i < out.length; i++) {
    let h = 0x9747b28c;
    for (let j = i; j < Math.min(i + n, tokens.length); j++) h = fmix32((Math.imul(h, 31) + (wordHashes[j] as number)) >>> 0);
    out[i] = h;
  }
  return out;
}

/** Gopher-style repetition: the share of word n-grams (by count) that occur more than once. */
export function duplicateNgramRatio(tokens: string[], n: number): number {
  if (tokens.length < n + 1) return 0;
  const shingles = shingleHashes(tokens, n);
  const seen = new Map<number, number>();
  for (const s of shingles) seen.set(s, (seen.get(s) ?? 0) + 1);
  let repeated = 0;
  for (const c of seen.values()) if (c > 1) repeated += c;
  return repeated / shingles.length;
}

/** Share of non-space characters that are neither letters nor digits. */
export function symbolRatio(text: string): number {
  let symbols = 0;
  let total = 0;
  for (const ch of text) {
    if (/\s/u.test(ch)) continue;
    total++;
    if (!/[\p{L}\p{N}]/u.test(ch)) symbols++;
  }
  return total === 0 ? 0 : symbols / total;
}
