/**
 * VQA / general / multi-image / spatial answers: exact and numeric first (numbers, %, °, number
 * words, truth values, options, math), case-insensitive text match; the rest goes to the judge.
 */
import { compareChoice, resolveChoices } from './choice.js';
import { hedgeReason } from './hedging.js';
import { booleanValue, compareMath, looksLikeProse } from './math.js';
import { parseCount, parseNumber, relClose } from './numbers.js';
import { canonicalText } from './text.js';
import type { Deadline } from './timeout.js';
import { different, equal, unknown, type Verdict } from './types.js';

export interface QaOptions {
  question?: string;
  choices?: string[];
  relTol?: number;
  deadline?: Deadline;
}

function looseText(s: string): string {
  return canonicalText(s).toLowerCase().replace(/[\s"'`.,;:!?。，；：！？]+/g, '');
}

function stripDegreesAndPercent(s: string): { text: string; percent: boolean } {
  let t = s.trim().replace(/°|\^\s*\{?\\circ\}?/g, '').trim();
  const percent = /%$/.test(t);
  if (percent) t = t.replace(/\s*%$/, '');
  return { text: t, percent };
}

export function compareQa(predRaw: string, goldRaw: string, opts: QaOptions): Verdict {
  const pred = predRaw.trim();
  const gold = goldRaw.trim();
  if (pred.length === 0) return different('empty answer');
  if (pred === gold) return equal('exact match');
  const hedge = hedgeReason(pred, gold);
  if (hedge) return different(hedge);
  if (looseText(pred) === looseText(gold) && looseText(gold).length > 0) return equal('same text (case/punctuation-insensitive)');
  if (/[a-z]/i.test(pred) && /[a-z]/i.test(gold) && looseText(pred).replace(/-/g, '') === looseText(gold).replace(/-/g, '')) {
    return equal('same words (hyphenation differs)');
  }

  const relTol = opts.relTol ?? 1e-6;
  const p = stripDegreesAndPercent(pred);
  const g = stripDegreesAndPercent(gold);
  const pn = parseNumber(p.text);
  const gn = parseNumber(g.text);
  if (pn && gn) {
    const pv = p.percent ? pn.value / 100 : pn.value;
    const gv = g.percent ? gn.value / 100 : gn.value;
    return relClose(pv, gv, relTol) || (p.percent !== g.percent && relClose(pn.value, gn.value, relTol))
      ? equal('numeric match')
      : different('numeric mismatch');
  }
  const gb = booleanValue(gold);
  const pb = booleanValue(pred);
  if (gb !== null && pb !== null && /^[a-z]+$/i.test(gold) && /^[a-z]+$/i.test(pred)) {
    return gb === pb ? equal('same truth value') : different('opposite truth value');
  }
  const choices = resolveChoices(opts.question, opts.choices);
  if (choices) {
    const v = compareChoice(pred, gold, choices);
    if (v.kind !== 'unknown') return v;
  }
  if (gn && !gn.percent) {
    const pc = parseCount(pred);
    if (pc !== null) return relClose(pc, gn.value, relTol) ? equal('same number') : different('different number');
  }
  if (!looksLikeProse(pred) && !looksLikeProse(gold)) {
    const v = compareMath(pred, gold, { relTol, question: opts.question, deadline: opts.deadline });
    if (v.kind !== 'unknown') return v;
  }
  return unknown('free-text answer');
}
