/** Character-level normalisation shared by the verifiers. */

const SUPERSCRIPTS: Record<string, string> = {
  '⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9',
  '⁺': '+', '⁻': '-', '⁼': '=', '⁽': '(', '⁾': ')', 'ⁿ': 'n', 'ⁱ': 'i',
};
const SUBSCRIPTS: Record<string, string> = {
  '₀': '0', '₁': '1', '₂': '2', '₃': '3', '₄': '4', '₅': '5', '₆': '6', '₇': '7', '₈': '8', '₉': '9',
  '₊': '+', '₋': '-', '₌': '=', '₍': '(', '₎': ')', 'ₐ': 'a', 'ₑ': 'e', 'ₒ': 'o', 'ₓ': 'x', 'ₕ': 'h',
  'ₖ': 'k', 'ₗ': 'l', 'ₘ': 'm', 'ₙ': 'n', 'ₚ': 'p', 'ₛ': 's', 'ₜ': 't', 'ᵢ': 'i', 'ⱼ': 'j',
};
const SUP_RE = new RegExp(`[${Object.keys(SUPERSCRIPTS).join('')}]+`, 'g');
const SUB_RE = new RegExp(`[${Object.keys(SUBSCRIPTS).join('')}]+`, 'g');

const VULGAR_FRACTIONS: Record<string, string> = {
  '½': '1/2', '⅓': '1/3', '⅔': '2/3', '¼': '1/4', '¾': '3/4', '⅕': '1/5', '⅖': '2/5', '⅗': '3/5',
  '⅘': '4/5', '⅙': '1/6', '⅚': '5/6', '⅛': '1/8', '⅜': '3/8', '⅝': '5/8', '⅞': '7/8',
};
const VULGAR_RE = new RegExp(`[${Object.keys(VULGAR_FRACTIONS).join('')}]`, 'g');

/** Full-width ASCII (ＡＢＣ１２３，．) and ideographic space to ASCII. */
/** Plain ASCII text: the Unicode rewrites below have nothing to do (the common case, checked once). */
export const ASCII_ONLY = /^[\x00-\x7f]*$/;

export function toHalfWidth(s: string): string {
  if (ASCII_ONLY.test(s)) return s;
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) {
      out += String.fromCharCode(c - 0xfee0);
      changed = true;
    } else if (c === 0x3000) {
      out += ' ';
      changed = true;
    } else out += s[i];
  }
  return changed ? out : s;
}

/** Unicode super/subscripts to `^{…}` / `_{…}`; vulgar fractions to `a/b`. */
export function unicodeScriptsToAscii(s: string, style: 'latex' | 'plain' = 'latex'): string {
  if (ASCII_ONLY.test(s)) return s;
  let out = s.replace(SUP_RE, (m) => {
    const v = [...m].map((c) => SUPERSCRIPTS[c]).join('');
    return style === 'latex' ? `^{${v}}` : `^${v}`;
  });
  out = out.replace(SUB_RE, (m) => {
    const v = [...m].map((c) => SUBSCRIPTS[c]).join('');
    return style === 'latex' ? `_{${v}}` : v;
  });
  return out.replace(VULGAR_RE, (m) => `(${VULGAR_FRACTIONS[m]})`);
}

/** Dashes, minus signs, primes and quotes that look alike become one character each. */
export function unifyPunctuation(s: string): string {
  if (ASCII_ONLY.test(s)) return s;
  return s
    .replace(/[\u2212\u2012\u2013\u2014\u2015\ufe63]/g, '-')
    .replace(/[\u2018\u2019\u2032]/g, "'")
    .replace(/[\u201c\u201d\u2033]/g, '"')
    .replace(/\u20d7/g, '') // combining right arrow above (vector notation)
    .replace(/[\u200b\u200c\u200d\ufeff]/g, '');
}

export function collapseSpaces(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Cheap canonical text for exact comparison of free-form answers. */
export function canonicalText(s: string): string {
  return collapseSpaces(unifyPunctuation(toHalfWidth(s.normalize('NFKC'))))
    .replace(/[.。!！]+$/u, '')
    .trim();
}

export function hasCjk(s: string): boolean {
  return /[\u3400-\u9fff\uf900-\ufaff]/.test(s);
}

/** Replaces lone surrogates (invalid UTF-16 from broken UTF-8 decoding) with U+FFFD. */
export function toWellFormed(s: string): string {
  // String.prototype.toWellFormed exists from Node 20.
  const f = (s as unknown as { toWellFormed?: () => string }).toWellFormed;
  return typeof f === 'function' ? f.call(s) : s;
}

/** Splits on a separator at bracket depth 0 (parentheses, brackets, braces). */
export function splitTopLevel(s: string, separators: string[]): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (depth === 0) {
      for (const sep of separators) {
        if (s.startsWith(sep, i)) {
          // A backslash before a comma is LaTeX spacing (`\,`), not a separator.
          if (sep === ',' && i > 0 && s[i - 1] === '\\') break;
          parts.push(s.slice(start, i));
          start = i + sep.length;
          i = start - 1;
          break;
        }
      }
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Maximum bracket nesting depth (for guards). */
export function maxNesting(s: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 41 || c === 93 || c === 125) depth = Math.max(0, depth - 1);
  }
  return max;
}

export function isBalanced(s: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of s) {
    if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== pairs[c]) return false;
    }
  }
  return stack.length === 0;
}
