/** OCR: 1 − edit_distance / max_len after removing spaces and newlines (case optional). */
import { distance } from 'fastest-levenshtein';

export function ocrSimilarity(pred: string, gold: string, ignoreCase = false): number {
  let p = pred;
  let g = gold;
  if (ignoreCase) {
    p = p.toLowerCase();
    g = g.toLowerCase();
  }
  p = p.trim().replace(/\n/g, ' ').replace(/ /g, '');
  g = g.trim().replace(/\n/g, ' ').replace(/ /g, '');
  const maxLen = Math.max(codePointLength(p), codePointLength(g));
  if (maxLen === 0) return 0;
  // fastest-levenshtein counts UTF-16 units; map astral characters to single units first.
  const [a, b] = toSingleUnits(p, g);
  return 1 - distance(a, b) / maxLen;
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/** Replaces each astral code point by a private-use BMP character (same one for equal code points). */
function toSingleUnits(a: string, b: string): [string, string] {
  if (!/[\ud800-\udbff]/.test(a + b)) return [a, b];
  const table = new Map<string, string>();
  const map = (s: string) =>
    [...s]
      .map((ch) => {
        if (ch.length === 1) return ch;
        let r = table.get(ch);
        if (!r) {
          r = String.fromCharCode(0xe000 + table.size);
          table.set(ch, r);
        }
        return r;
      })
      .join('');
  return [map(a), map(b)];
}
