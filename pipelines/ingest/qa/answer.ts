/** Ground-truth answers in GLM-4.1V's answer format, and the extraction rules the QA presets use. */
export const BOX_OPEN = '<|begin_of_box|>';
export const BOX_CLOSE = '<|end_of_box|>';

export function toGlmBox(answer: string): string {
  return `${BOX_OPEN}${answer}${BOX_CLOSE}`;
}

/** The content of the last `\boxed{...}` (or `\fbox{...}`), with nested braces matched; null when absent or unbalanced. */
export function lastBoxed(text: string): string | null {
  const at = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'));
  if (at < 0) return null;
  const open = text.indexOf('{', at);
  if (open < 0) return null;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(open + 1, i).trim();
  }
  return null;
}

/** GSM8K puts the final answer after `####`. */
export function gsm8kAnswer(text: string): { answer: string; solution: string } | null {
  const at = text.lastIndexOf('####');
  if (at < 0) return null;
  return { answer: text.slice(at + 4).trim().replaceAll(',', ''), solution: text.slice(0, at).trim() };
}

/** Tidies an answer string: surrounding `$…$`, `\(…\)`, whitespace. */
export function cleanAnswer(raw: string): string {
  let a = raw.trim();
  for (;;) {
    const before = a;
    if (/^\$[^$]*\$$/.test(a)) a = a.slice(1, -1).trim();
    else if (a.startsWith('\\(') && a.endsWith('\\)')) a = a.slice(2, -2).trim();
    else if (a.startsWith('\\[') && a.endsWith('\\]')) a = a.slice(2, -2).trim();
    if (a === before) return a;
  }
}

/** `9 (apples)` → `9`: a leading number without its unit note; other answers (`Yes`, `Mrs. Hilt`) lose only a trailing `(...)`. */
export function leadingNumber(raw: string): string | null {
  const m = /^\s*(-?\d[\d,]*(?:\.\d+)?)(?:\s*\([^)]*\))?\s*$/.exec(raw);
  if (m?.[1]) return m[1].replaceAll(',', '');
  const text = raw.replace(/\s*\([^)]*\)\s*$/, '').trim();
  return text || null;
}

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `A`, `(B)`, `C.`, `A, C` → letters; null when the text is not only option letters. */
export function choiceLetters(raw: string, optionCount: number): string[] | null {
  const parts = raw
    .trim()
    .replace(/^\(|\)$/g, '')
    .split(/\s*[,;&]\s*|\s+and\s+|\s+/)
    .map((p) => p.replace(/^\(?([A-Za-z])[).:]?$/, '$1'))
    .filter(Boolean);
  if (parts.length === 0) return null;
  const letters = parts.map((p) => p.toUpperCase());
  if (!letters.every((l) => l.length === 1 && LETTERS.indexOf(l) >= 0 && LETTERS.indexOf(l) < Math.max(optionCount, 1))) return null;
  return [...new Set(letters)].sort();
}

/** `["A)5", "B)6"]` → `["5", "6"]`. */
export function stripLetterPrefixes(options: string[]): string[] {
  return options.map((o) => o.replace(/^\s*\(?[A-Z]\s*[).:]\s*/, '').trim());
}

/**
 * `A) $x$ B) $y$` or `A. 1,190 B. 1,900` → the option texts. Letters are looked for in sequence
 * (A, then B, ...), so a "B." inside an option's text does not split it.
 */
export function splitInlineOptions(text: string): string[] {
  const starts: Array<{ at: number; body: number }> = [];
  let from = 0;
  for (const letter of LETTERS) {
    const match = new RegExp(`(?:^|\\s)\\(?${letter}[.):]\\s*`).exec(text.slice(from));
    if (!match) break;
    const at = from + match.index;
    starts.push({ at, body: at + match[0].length });
    from = at + match[0].length;
  }
  return starts.map((s, i) => text.slice(s.body, starts[i + 1]?.at ?? text.length).trim());
}

/**
 * Options written as a literal: a list, a `{A: x}` object, or either as a JSON / Python string
 * (`"['shortage', 'surplus']"`, `"{'A': '97.6', 'B': '98.6'}"`); `None`, `null` or empty = none.
 */
export function literalOptions(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.map(String);
  if (value && typeof value === 'object') return Object.keys(value).sort().map((k) => String((value as Record<string, unknown>)[k]));
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^(none|null)?$/i.test(text)) return [];
  const strings = [...text.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
  if (text.startsWith('[') && text.endsWith(']')) return strings;
  if (text.startsWith('{') && text.endsWith('}') && strings.length % 2 === 0) {
    const pairs = Array.from({ length: strings.length / 2 }, (_, i) => [strings[2 * i] as string, strings[2 * i + 1] as string] as const);
    return pairs.sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  }
  return null;
}
