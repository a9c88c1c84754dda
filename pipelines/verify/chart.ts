/**
 * Chart QA: numbers within 2.5% relative tolerance, years (integers in 1000–3000) exact,
 * yes/true and number words, label lists and matching pairs; the rest goes to the judge.
 */
import { booleanValue, compareMath, looksLikeProse } from './math.js';
import { parseEnglishNumber, parseNumber, relClose } from './numbers.js';
import { canonicalText, splitTopLevel } from './text.js';
import { different, equal, unknown, type Verdict } from './types.js';
import type { Deadline } from './timeout.js';

export const CHART_REL_TOL = 2.5e-2;

function isYear(v: number): boolean {
  return Number.isInteger(v) && Math.abs(v) >= 1000 && Math.abs(v) <= 3000;
}

function plainNumber(s: string): number | null {
  const t = s.trim().replace(/^\$|\$$/g, '');
  const n = parseNumber(t);
  if (n) return n.percent ? null : n.value;
  return null;
}

/** "A-Paris, B-Berlin", "A:Paris B:Berlin", "(A)Paris (B)Berlin" → Map A→paris. */
export function matchingPairs(s: string): Map<string, string> | null {
  const re = /\(?([A-Z]|\d{1,2})\)?\s*(?:->|→|=>|[-:=：)])\s*([^,;，；\n]+?)(?=\s*[,;，；]?\s*\(?(?:[A-Z]|\d{1,2})\)?\s*(?:->|→|=>|[-:=：)])|\s*[,;，；]?\s*$)/g;
  const out = new Map<string, string>();
  let covered = 0;
  for (const m of s.matchAll(re)) {
    out.set(m[1]!, canonicalText(m[2]!).toLowerCase());
    covered += m[0].length;
  }
  if (out.size < 2) {
    // "A Paris B Berlin C Rome"
    const loose = /(?:^|\s)([A-Z])\s+([^\s]+)/g;
    out.clear();
    covered = 0;
    for (const m of s.matchAll(loose)) {
      out.set(m[1]!, canonicalText(m[2]!).toLowerCase());
      covered += m[0].length;
    }
  }
  // Labels must run A, B, C… (or 1, 2, 3…) for the text to read as pairs.
  const keys = [...out.keys()];
  const sequential = keys.every((k, i) => i === 0 || k.charCodeAt(0) === keys[i - 1]!.charCodeAt(0) + 1 || Number(k) === Number(keys[i - 1]) + 1);
  return out.size >= 2 && covered >= s.replace(/\s+/g, '').length * 0.6 && (sequential || s.includes('-') || s.includes(':')) ? out : null;
}

export function compareChart(pred: string, gold: string, question: string | undefined, deadline?: Deadline): Verdict {
  const p = pred.trim();
  const g = gold.trim();
  if (p.length === 0) return different('empty answer');
  if (p === g) return equal('exact match');
  const pn = plainNumber(p);
  const gn = plainNumber(g);
  if (pn !== null && gn !== null) {
    if (isYear(pn) && isYear(gn)) return pn === gn ? equal('same year') : different('different year');
    return relClose(pn, gn, CHART_REL_TOL) ? equal('within 2.5%') : different('outside 2.5%');
  }
  const gb = booleanValue(g);
  if (gb !== null && /^[a-z]+$/i.test(g)) {
    const pb = booleanValue(p);
    if (pb !== null) return pb === gb ? equal('same truth value') : different('opposite truth value');
    return unknown('not a truth value');
  }
  if (gn !== null) {
    const word = parseEnglishNumber(p);
    if (word !== null) return relClose(word, gn, CHART_REL_TOL) && !(isYear(gn) && word !== gn) ? equal('number word') : different('number word differs');
  }
  const gp = matchingPairs(g);
  if (gp) {
    const pp = matchingPairs(p);
    if (pp) {
      if (pp.size !== gp.size) return different('different pairs');
      for (const [k, v] of gp) if (pp.get(k) !== v) return different(`pair ${k} differs`);
      return equal('same pairs');
    }
  }
  if (canonicalText(p).toLowerCase() === canonicalText(g).toLowerCase()) return equal('same text (case-insensitive)');
  const gl = splitTopLevel(g, [',', ';', '，', ' and ']).map((x) => canonicalText(x).toLowerCase()).filter(Boolean);
  const pl = splitTopLevel(p, [',', ';', '，', ' and ']).map((x) => canonicalText(x).toLowerCase()).filter(Boolean);
  if (gl.length > 1 && pl.length === gl.length) {
    if (gl.every((x, i) => x === pl[i])) return equal('same labels in order');
    if ([...gl].sort().join('\u0000') === [...pl].sort().join('\u0000')) {
      // Order matters for differences ("x minus y"), not for sums.
      if (question && /\b(?:sum|sums|add|total|together|both)\b/i.test(question)) return equal('same labels (order-free question)');
      return unknown('same labels in another order');
    }
  }
  if (!looksLikeProse(p) && !looksLikeProse(g)) {
    const v = compareMath(p, g, { relTol: CHART_REL_TOL, question, deadline });
    if (v.kind !== 'unknown') return v;
  }
  return unknown('text answer');
}
