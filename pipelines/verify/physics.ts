/**
 * Physics: unit-aware. GLM sends every answer with a unit to the judge; here quantities are
 * converted to SI and compared first (with the question's requested unit respected), formulas
 * are compared as equations (F = ma ⇔ a = F/m), and only the rest goes to the judge.
 */
import { hedgeReason, methodOnlyReason } from './hedging.js';
import { compareMath } from './math.js';
import { canonicalText } from './text.js';
import type { Deadline } from './timeout.js';
import { different, equal, unknown, type Verdict } from './types.js';
import { compareQuantities, parseQuantity } from './units.js';

export const SCIENCE_REL_TOL = 1e-5;

export interface ScienceOptions {
  question?: string;
  relTol?: number;
  deadline?: Deadline;
}

/** "pH = 7" → ["pH", "7"] when the left side is a short label. */
export function splitLabel(s: string): [string, string] | null {
  const m = /^\s*([A-Za-zΔ\\][A-Za-z_{}\\Δ0-9]{0,12})\s*(?:=|＝)\s*(.+)$/.exec(s);
  return m ? [m[1]!.replace(/\s+/g, ''), m[2]!] : null;
}

/** Quantity comparison shared by physics and chemistry; null when the answers are not quantities. */
export function compareAsQuantities(pred: string, gold: string, opts: ScienceOptions): Verdict | null {
  const qp = parseQuantity(pred);
  const qg = parseQuantity(gold);
  if (!qp || !qg) return null;
  const r = compareQuantities(qp, qg, { relTol: opts.relTol ?? SCIENCE_REL_TOL, question: opts.question, goldLiteral: gold });
  return toVerdict(r);
}

function toVerdict(r: { kind: 'equal' | 'different' | 'unknown'; how: string }): Verdict {
  return r.kind === 'equal' ? equal(r.how) : r.kind === 'different' ? different(r.how) : unknown(r.how);
}

export function comparePhysics(predRaw: string, goldRaw: string, opts: ScienceOptions): Verdict {
  const pred = predRaw.trim();
  const gold = goldRaw.trim();
  if (pred.length === 0) return different('empty answer');
  if (pred === gold || canonicalText(pred) === canonicalText(gold)) return equal('exact match');
  const hedge = hedgeReason(pred, gold);
  if (hedge) return different(hedge);
  const method = methodOnlyReason(pred, gold);
  if (method) return different(method);

  const q = compareLabelledQuantities(pred, gold, opts);
  if (q) return q;

  const v = compareMath(pred, gold, {
    relTol: opts.relTol ?? SCIENCE_REL_TOL,
    monomialEquations: true,
    stripUnits: false,
    question: opts.question,
    deadline: opts.deadline,
  });
  return v;
}

/** Quantities with units, also when both sides carry the same label (`v = 3 m/s`); null when undecided. */
export function compareLabelledQuantities(pred: string, gold: string, opts: ScienceOptions): Verdict | null {
  const pl = splitLabel(pred);
  const gl = splitLabel(gold);
  if (pl && gl && pl[0] === gl[0]) {
    const q = compareAsQuantities(pl[1], gl[1], opts);
    if (q && q.kind !== 'unknown') return q;
  }
  const q = compareAsQuantities(pred, gold, opts);
  return q && q.kind !== 'unknown' ? q : null;
}
