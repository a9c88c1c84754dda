/** Optional penalties: language mixing (GLM's long-paragraph rule) and degenerate repetition. */

/** True when the text has both a long Chinese paragraph and a long English paragraph. */
export function hasLanguageMixing(text: string, minChineseChars = 50, minEnglishWords = 200): boolean {
  const paragraphs = text.slice(0, 2_000_000).split(/\n{2,}/).map((p) => p.trim()).filter(Boolean);
  let zh = false;
  let en = false;
  for (const p of paragraphs) {
    const chinese = p.match(/[\u4e00-\u9fff]/g)?.length ?? 0;
    const english = p.match(/\b[a-zA-Z]{2,}\b/g)?.length ?? 0;
    if (chinese >= minChineseChars && chinese / p.length > 0.8) zh = true;
    if (english >= minEnglishWords && english / (p.split(/\s+/).length + 1e-5) > 0.7) en = true;
    if (zh && en) return true;
  }
  return zh && en;
}

/**
 * True when some window of `minChars` characters occurs `minRepetition` times (after removing long
 * runs of separator characters such as "-----" or "====="). Rolling hash, linear time; only the
 * last 400k characters are scanned (degenerate loops show up at the end).
 */
export function hasRepetition(input: string, minChars = 50, minRepetition = 10, excludeLength = 3): boolean {
  let text = input.length > 400_000 ? input.slice(-400_000) : input;
  text = text.replace(/\|-+\|/g, '|');
  for (const ch of ['=', '|', '-', '~', '_', '#', '*', '.', '%', '－', '█', ' ', '─']) {
    const esc = ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    text = text.replace(new RegExp(`${esc}{${excludeLength},}`, 'g'), '');
  }
  if (text.length < minChars) return false;
  const B1 = 257;
  const B2 = 263;
  const M1 = 1_000_000_007;
  const M2 = 998_244_353;
  let p1 = 1;
  let p2 = 1;
  for (let i = 0; i < minChars - 1; i++) {
    p1 = (p1 * B1) % M1;
    p2 = (p2 * B2) % M2;
  }
  let h1 = 0;
  let h2 = 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (i >= minChars) {
      const o = text.charCodeAt(i - minChars);
      h1 = (h1 - ((o * p1) % M1) + M1) % M1;
      h2 = (h2 - ((o * p2) % M2) + M2) % M2;
    }
    h1 = (h1 * B1 + c) % M1;
    h2 = (h2 * B2 + c) % M2;
    if (i >= minChars - 1) {
      const key = h1 * 1_000_003 + (h2 % 1_000_003);
      const n = (counts.get(key) ?? 0) + 1;
      if (n >= minRepetition) return true;
      counts.set(key, n);
    }
  }
  return false;
}
