/** String similarities used by the GUI verifiers. */
import { distance } from 'fastest-levenshtein';

const MAX_LCS = 4000;

/** Length of the longest common subsequence (code points; inputs capped at 4000 each). */
export function lcsLength(a: string, b: string): number {
  const x = [...a].slice(0, MAX_LCS);
  const y = [...b].slice(0, MAX_LCS);
  if (x.length === 0 || y.length === 0) return 0;
  let prev = new Uint16Array(y.length + 1);
  let cur = new Uint16Array(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      cur[j] = x[i - 1] === y[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length]!;
}

/** LCS / max length (0 when both are empty). */
export function lcsRatio(a: string, b: string): number {
  const n = Math.max([...a].length, [...b].length);
  return n === 0 ? 0 : lcsLength(a, b) / n;
}

function editSimilarity(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  return n === 0 ? 1 : 1 - distance(a, b) / n;
}

function bigrams(s: string): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + 2 <= s.length; i++) out.add(s.slice(i, i + 2));
  return out;
}

function jaccard(a: string, b: string): number {
  const x = bigrams(a.toLowerCase());
  const y = bigrams(b.toLowerCase());
  if (x.size === 0 && y.size === 0) return 1;
  let inter = 0;
  for (const g of x) if (y.has(g)) inter++;
  const union = x.size + y.size - inter;
  return union > 0 ? inter / union : 0;
}

function excessiveRepetition(text: string, threshold = 0.7): boolean {
  if (text.length < 10) return false;
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  if (Math.max(...counts.values()) / text.length > threshold) return true;
  for (const len of [2, 3, 4]) {
    if (len >= text.length) continue;
    const sub = new Map<string, number>();
    let best = 0;
    for (let i = 0; i + len <= text.length; i++) {
      const k = text.slice(i, i + len);
      const v = (sub.get(k) ?? 0) + 1;
      sub.set(k, v);
      if (v > best) best = v;
    }
    if ((best * len) / text.length > threshold) return true;
  }
  return false;
}

/** OSWorld typed-text similarity: 0.6·edit + 0.4·bigram Jaccard, with length and repetition penalties. */
export function typedTextSimilarity(s1: string, s2: string): number {
  const a = s1.trim().toLowerCase().slice(0, 10_000);
  const b = s2.trim().toLowerCase().slice(0, 10_000);
  if (a.length === 0 || b.length === 0) return 0;
  const ratio = Math.min(a.length, b.length) / Math.max(a.length, b.length);
  const lengthPenalty = ratio < 0.3 ? ratio : 1;
  const repetitionPenalty = excessiveRepetition(a) || excessiveRepetition(b) ? 0.3 : 1;
  const combined = 0.6 * editSimilarity(a, b) + 0.4 * jaccard(a, b);
  return Math.min(1, Math.max(0, combined * lengthPenalty * repetitionPenalty));
}
