/**
 * Math verifier: exact match → normalised match → numbers (separators, percent, words) →
 * lists → CAS structural/symbolic equivalence. Undecidable pairs (prose, unparseable text) come back
 * as `unknown` for the LLM judge.
 */
import { parseArithmetic } from './arith-parse.js';
import { freeSymbols, parseLatex, type MathJson } from './cas.js';
import { compareChoice, resolveChoices } from './choice.js';
import { hedgeReason, methodOnlyReason } from './hedging.js';
import { cleanLatex, plainToLatex, stripMathDelimiters } from './latex.js';
import { compareMathJson, type EquivalenceOptions } from './math-equivalence.js';
import { integerLiteral, mixedNumberLatex, parseChineseNumber, parseEnglishNumber, parseNumber, relClose, roundedEqual } from './numbers.js';
import { labelBase, solutionItems, stripFunctionLabel, stripLabel } from './solution-list.js';
import { canonicalText, hasCjk } from './text.js';
import type { Deadline } from './timeout.js';
import { different, equal, unknown, type Verdict } from './types.js';
import { compareQuantityTexts, mayHaveUnit } from './units.js';

export interface MathCompareOptions {
  relTol: number;
  floatRounding?: number;
  intervalMatchesRelation?: boolean;
  monomialEquations?: boolean;
  ordered?: boolean;
  question?: string;
  choices?: string[];
  deadline?: Deadline;
  /** Drop unit words/\text{} groups before comparing (math: yes unless the question asks for units). */
  stripUnits?: boolean;
  /**
   * Exact comparison when the ground truth is exact (integers, fractions, closed forms): the tolerance
   * applies only when the gold itself is a decimal. Off for domains whose golds are readings (chart).
   */
  exactWhenExact?: boolean;
}

/** A decimal literal (a measured or rounded value); repeating decimals written with "..." are exact. */
const DECIMAL_LITERAL = /(?<![\d.])\d*\.\d+(?![\d.]|\s*(?:\.\.\.|…|\\[lc]?dots))/;

export function hasDecimalLiteral(text: string): boolean {
  return DECIMAL_LITERAL.test(text);
}

/** Relative closeness that also holds between tiny values (float noise around 0 at sample points). */
function exactClose(tol: number): (a: number, b: number) => boolean {
  return (a, b) => a === b || (Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b), 1e-3));
}

/**
 * How two numbers are compared: Math-Verify rounding when asked; the relative tolerance when the gold
 * is a decimal (or exactness is off); else exactly — up to double rounding of closed forms (1e-9),
 * and a decimal prediction must equal the exact gold to 12 digits (1.7320508 is not √3).
 */
export function closeness(
  opts: { relTol: number; floatRounding?: number; exactWhenExact?: boolean },
  gold?: string,
  pred?: string,
): (a: number, b: number) => boolean {
  if (opts.floatRounding !== undefined) return (a, b) => roundedEqual(a, b, opts.floatRounding!);
  if (!opts.exactWhenExact || gold === undefined || hasDecimalLiteral(gold)) return (a, b) => relClose(a, b, opts.relTol);
  return exactClose(pred !== undefined && hasDecimalLiteral(pred) ? 1e-12 : 1e-9);
}

const BOOLEAN_TRUE = new Set(['true', 't', 'yes', 'y', '1', 'correct', 'right', '对', '是', '正确', '√', '✓']);
const BOOLEAN_FALSE = new Set(['false', 'f', 'no', 'n', '0', 'incorrect', 'wrong', '错', '否', '错误', '×', '✗']);

export function booleanValue(s: string): boolean | null {
  const t = s.trim().toLowerCase().replace(/[.。!]$/, '');
  if (BOOLEAN_TRUE.has(t)) return true;
  if (BOOLEAN_FALSE.has(t)) return false;
  return null;
}

/** Prepares an answer for comparison: LaTeX clean-up, ≈ tails, unit words. */
export function mathText(raw: string, stripUnits: boolean): string {
  let s = cleanLatex(raw, { dropText: false });
  // x = 1/3 ≈ 0.33 keeps the exact part; a lone x ≈ 11 reads as x = 11.
  if (/\\approx|≈/.test(s)) {
    const cut = s.split(/\\approx|≈/);
    s = cut[0]!.includes('=') || cut.length === 1 ? cut[0]! : `${cut[0]}=${cut[cut.length - 1]}`;
    if (cut[0]!.trim().length === 0) s = cut[cut.length - 1]!;
  }
  if (stripUnits) s = stripUnitWords(s);
  // "x ≤ -2 or x ≥ 2": joined conditions become logic the CAS reads as a union / intersection.
  if (/[<>]|\\(?:le|ge|lt|gt|ne)(?![a-z])/.test(s)) {
    s = s.replace(/\s*(?:\bor\b|或)\s*/g, ' \\lor ').replace(/\s*(?:\band\b|且)\s*/g, ' \\land ');
  }
  return s.trim();
}

const UNIT_WORDS =
  /(?<=[\d}\s)])\s*(?:square|sq\.?|cubic)?\s*(?:units?|meters?|metres?|centimeters?|cm|mm|km|m|inches|inch|in|feet|foot|ft|yards?|miles?|seconds?|sec|s|minutes?|mins?|hours?|hrs?|h|days?|weeks?|years?|dollars?|cents?|degrees?|deg|radians?|rad|kg|grams?|g|pounds?|lbs?|liters?|litres?|ml|mL|L|people|persons?|students?|apples?|ways?|points?|times|pieces?|items?)(?:\s*\^\s*\{?\s*[23]\s*\}?|²|³)?\s*$/i;
const CJK_UNIT = /(?<=[\d}\s)])\s*(?:平方|立方)?(?:厘米|毫米|千米|公里|分米|米|千克|公斤|克|吨|秒|分钟|小时|天|元|角|分|个|只|人|次|度|本|朵|棵|块|张|条|辆|名|岁|年|月|日|页|道|种)\s*$/u;

/** Removes a trailing unit word ("125 miles", "15 cm^2", "40厘米"). */
export function stripUnitWords(s: string): string {
  let t = s;
  for (let k = 0; k < 2; k++) {
    const before = t;
    t = t.replace(UNIT_WORDS, '').replace(CJK_UNIT, '').trim();
    if (t === before || t.length === 0) {
      if (t.length === 0) t = before;
      break;
    }
  }
  return t;
}

/** An answer the CAS would misread (prose: "Evelyn", "red", Chinese text). */
export function looksLikeProse(s: string): boolean {
  if (hasCjk(s)) return true;
  const t = s.replace(/\\[a-zA-Z]+/g, ' ');
  if (/^[A-Za-z][A-Za-z\s'-]*[A-Za-z]$/.test(t.trim()) && /[a-z]{2}/.test(t)) return true;
  const words = t.match(/[A-Za-z]{4,}/g) ?? [];
  return words.some((w) => /[aeiouy]/i.test(w) && !KNOWN_WORDS.has(w.toLowerCase()));
}

const KNOWN_WORDS = new Set([
  'sqrt', 'frac', 'sinh', 'cosh', 'tanh', 'arcsin', 'arccos', 'arctan', 'infty', 'infinity', 'cdot', 'times',
  'left', 'right', 'text', 'mathrm', 'begin', 'end', 'pmatrix', 'bmatrix', 'matrix', 'array', 'theta', 'alpha',
  'beta', 'gamma', 'delta', 'lambda', 'sigma', 'omega', 'varphi', 'boxed', 'quad', 'approx', 'exp',
]);

function numberOf(s: string): { value: number; percent: boolean } | null {
  const n = parseNumber(s);
  if (n) return n;
  const en = parseEnglishNumber(s);
  if (en !== null) return { value: en, percent: false };
  const zh = parseChineseNumber(s);
  if (zh !== null && s.trim().length > 0) return { value: zh, percent: false };
  return null;
}

/** Percent semantics: 50% ≡ 0.5 and 28% ≡ 28 (the number written without its sign). */
function compareNumbers(
  p: { value: number; percent: boolean },
  g: { value: number; percent: boolean },
  close: (a: number, b: number) => boolean,
): boolean {
  if (p.percent === g.percent) return close(p.value, g.value);
  const pct = p.percent ? p : g;
  const plain = p.percent ? g : p;
  return close(plain.value, pct.value / 100) || close(plain.value, pct.value) || close(pct.value / 100, plain.value);
}

const APPROX = /\\approx(?![a-zA-Z])|≈/;
const APPROX_SPLIT = /\\approx(?![a-zA-Z])|≈/;

const RELATION = /[<>≤≥≠]|\\(?:le|ge|lt|gt|ne|leq|geq|neq|lor|land)(?![a-z])/;

/** Parses to MathJSON via the CAS, or null. */
export function toMathJson(text: string): MathJson | null {
  const latex = plainToLatex(text);
  const parsed = parseLatex(latex);
  if (parsed.ok) return parsed.json;
  // "a = b = c" that does not parse as a whole: its last part is the answer (not when a guard refused
  // the whole, and only a part with balanced braces: "\sum_{k=0}^{n}" has no last part).
  if (!/[,;]/.test(latex) && parsed.reason === 'parse-error') {
    const parts = latex.split(/(?<![\\<>!])=/);
    if (parts.length > 2 && balancedBraces(parts[parts.length - 1]!)) {
      const last = parseLatex(parts[parts.length - 1]!.trim());
      if (last.ok) return last.json;
    }
  }
  return null;
}

function balancedBraces(s: string): boolean {
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') d++;
    else if (s[i] === '}' && --d < 0) return false;
  }
  return d === 0;
}

/**
 * Whether a free-text candidate reads as a math answer (the extraction's acceptance test). A list of
 * solutions whose items each parse ("6 and 8", "(x, y) = (5, 8) and (8, 5)") is accepted without
 * asking the engine, which would read the words as products of letters anyway.
 */
export function acceptsMathCandidate(candidate: string): boolean {
  if (parseNumber(candidate)) return true;
  const text = mathText(candidate, true);
  if (parseArithmetic(plainToLatex(text)) !== null) return true;
  const list = solutionItems(text);
  if (list.isList && list.items.every((x) => parseNumber(x) !== null || parseArithmetic(plainToLatex(x)) !== null)) return true;
  return toMathJson(text) !== null;
}

/** Compares a predicted math answer with the ground truth. */
export function compareMath(predRaw: string, goldRaw: string, opts: MathCompareOptions, depth = 0): Verdict {
  opts.deadline?.check();
  const pred = predRaw.trim();
  const gold = goldRaw.trim();
  if (pred.length === 0) return different('empty answer');
  if (pred === gold) return equal('exact match');

  if (depth === 0) {
    const hedge = hedgeReason(pred, gold);
    if (hedge) return different(hedge);
    const method = methodOnlyReason(pred, gold);
    if (method) return different(method);
    const choices = resolveChoices(opts.question, opts.choices);
    if (choices) {
      const inner = { ...opts, question: undefined, choices: undefined };
      const sameValue = (a: string, b: string) => /[\d\\^]/.test(a) && /[\d\\^]/.test(b) && compareMath(stripMathDelimiters(a), stripMathDelimiters(b), inner, 1).kind === 'equal';
      const v = compareChoice(pred, gold, choices, false, sameValue);
      if (v.kind !== 'unknown') return v;
    }
  }

  if (depth === 0 && (mayHaveUnit(pred) || mayHaveUnit(gold))) {
    const q = compareQuantityTexts(pred, gold, { relTol: opts.relTol, question: opts.question });
    if (q && q.kind !== 'unknown') return q.kind === 'equal' ? equal(q.how) : different(q.how);
  }

  if (depth === 0) {
    const angle = degreesAgainstRadians(pred, gold);
    if (angle) return compareMath(angle[0], angle[1], opts, depth + 1);
  }

  if (depth === 0 && APPROX.test(pred)) {
    // "9.5/π ≈ 3.02": the exact part is the answer; its rounding also counts where the gold is a rounded decimal.
    const cut = pred.split(APPROX_SPLIT);
    const exactPart = cut[0]!.trim();
    if (exactPart.length > 0 && !exactPart.includes('=') && !/[a-zA-Z]/.test(exactPart.replace(/\\[a-zA-Z]+/g, ''))) {
      const v = compareMath(exactPart, gold, opts, depth + 1);
      if (v.kind === 'equal' || !hasDecimalLiteral(gold)) return v;
      return compareMath(cut[cut.length - 1]!, gold, opts, depth + 1);
    }
  }

  const stripUnits = opts.stripUnits ?? true;
  const p = mathText(pred, stripUnits);
  const g = mathText(gold, stripUnits);
  if (p.length === 0) return different('empty answer');
  if (p === g || p.replace(/\s+/g, '') === g.replace(/\s+/g, '')) return equal('normalised match');
  const pc = canonicalText(p).toLowerCase();
  const gc = canonicalText(g).toLowerCase();

  const gb = booleanValue(g);
  if (gb !== null && /^[a-z]+$/i.test(g)) {
    const pb = booleanValue(p);
    if (pb !== null) return pb === gb ? equal('same truth value') : different('opposite truth value');
  }

  const close = closeness(opts, g, p);
  const gn = numberOf(g);
  const pn = numberOf(p);
  if ((gn === null) !== (pn === null)) {
    // A mixed number against a closed form: the CAS would read "4 4/9" as 4·4/9.
    const gm = mixedNumberLatex(g);
    const pm = mixedNumberLatex(p);
    if (gm || pm) return compareMath(pm ?? p, gm ?? g, opts, depth + 1);
  }
  if (gn && pn) {
    const gi = integerLiteral(g);
    const pi = integerLiteral(p);
    if (gi !== null && pi !== null && opts.exactWhenExact && opts.floatRounding === undefined && gn.percent === pn.percent) {
      return gi === pi ? equal('same integer') : different('different integer');
    }
    return compareNumbers(pn, gn, close) ? equal('numeric match') : different('numeric mismatch');
  }
  if (gn && !pn && !hasCjk(p)) {
    const latex = plainToLatex(p);
    if (!/\d/.test(latex) && !/\\[a-zA-Z]+|(?<![a-zA-Z])[ei](?![a-zA-Z])/.test(latex)) return different('no number in the answer');
  }

  if (looksLikeProse(p) || looksLikeProse(g)) {
    if (pc === gc) return equal('same text (case-insensitive)');
    return unknown('text answer');
  }

  if (depth === 0 && !RELATION.test(g) && !RELATION.test(p)) {
    // Solution lists in any order: "2, -3", "x = 2 or x = -3", "\pm 3", "\{3, -3\}", lists of tuples.
    const gs = solutionItems(g);
    const ps = solutionItems(p);
    // A plain list next to one tuple or interval ("1, 3" vs "(1, 3)") is left to the CAS.
    if ((gs.isList || ps.isList) && !(gs.bracketed && !ps.isSet) && !(ps.bracketed && !gs.isSet)) {
      const gEq = gs.items.some((x) => x.includes('='));
      const pEq = ps.items.some((x) => x.includes('='));
      // "x_1 = 2, x_2 = 3" vs "x = 2 or x = 3": the same unknown on every item is a label, not content.
      const bases = new Set([...gs.items, ...ps.items].map(labelBase));
      const oneUnknown = bases.size === 1 && !bases.has(null);
      const gi = pEq && !oneUnknown ? gs.items : gs.items.map(stripLabel);
      const pi = gEq && !oneUnknown ? ps.items : ps.items.map(stripLabel);
      // A solution set that repeats an item is the same set ("(3, 7), (7, 3), (3,7)"), unless the gold itself repeats (a double root).
      const key = (x: string) => x.replace(/\s+/g, '');
      const goldRepeats = new Set(gi.map(key)).size !== gi.length;
      const pu = goldRepeats || opts.ordered ? pi : pi.filter((x, i) => pi.findIndex((y) => key(y) === key(x)) === i);
      return compareLists(pu, gi, { ...opts, ordered: (opts.ordered ?? false) && !gs.isSet && !ps.isSet });
    }
  }
  if (depth === 0 && g.includes('=') !== p.includes('=')) {
    const gf = stripFunctionLabel(g);
    const pf = stripFunctionLabel(p);
    if (gf !== g || pf !== p) return compareMath(pf, gf, opts, depth + 1);
  }
  // A labelled answer ("(p, q) = (3, 2)", "AB = 4") against a bare value compares the value.
  if (depth <= 1 && g.includes('=') !== p.includes('=')) {
    const gl = g.includes('=') ? stripLabel(g) : g;
    const pl = p.includes('=') ? stripLabel(p) : p;
    if (gl !== g || pl !== p) return compareMath(pl, gl, opts, depth + 1);
  }

  const gj = toMathJson(g);
  const pj = toMathJson(p);
  if (gj === null) return unknown('ground truth does not parse');
  if (pj === null) {
    return /^[\d\s+\-*/^().,=<>\\{}a-z]*$/i.test(p) && !/[a-z]{2}/i.test(p.replace(/\\[a-z]+/gi, ''))
      ? different('malformed expression')
      : unknown('answer does not parse');
  }
  const exact = opts.exactWhenExact && opts.floatRounding === undefined && !hasDecimalLiteral(g);
  const eq: EquivalenceOptions = {
    close,
    bigRelTol: exact ? (hasDecimalLiteral(p) ? 1e-12 : 1e-40) : opts.relTol,
    exactRational: exact && !hasDecimalLiteral(p),
    intervalMatchesRelation: opts.intervalMatchesRelation ?? true,
    monomialEquations: opts.monomialEquations ?? false,
    deadline: opts.deadline,
  };
  const r = compareMathJson(gj, pj, eq);
  if (r === 'equal') return equal('equivalent (CAS)');
  if (r === 'different') {
    // A symbolic answer to a numeric question (or the reverse) is wrong, not undecidable.
    return different(freeSymbols(gj).size === 0 && freeSymbols(pj).size > 0 ? 'symbolic answer to a numeric question' : 'not equivalent (CAS)');
  }
  return unknown('CAS could not decide');
}

const DEGREE_MARK = /\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-z])|\s*\\text\{\s*degrees?\s*\}|\s+degrees?\b/g;
const RADIAN_SIDE = /\\pi(?![a-z])|π|\brad(?:ians?)?\b/;

/**
 * An angle in degrees against one in radians (60° vs π/3): the degree side is rewritten as
 * value·π/180. Only when the other side is visibly in radians (π or "rad"); a bare number next to
 * degrees keeps reading as degrees (72° ≡ 72).
 */
function degreesAgainstRadians(pred: string, gold: string): [string, string] | null {
  const pd = DEGREE_MARK.test(pred);
  DEGREE_MARK.lastIndex = 0;
  const gd = DEGREE_MARK.test(gold);
  DEGREE_MARK.lastIndex = 0;
  if (pd === gd) return null;
  const [deg, rad] = pd ? [pred, gold] : [gold, pred];
  if (!RADIAN_SIDE.test(rad) || RADIAN_SIDE.test(deg)) return null;
  const asRadians = `\\left(${deg.replace(DEGREE_MARK, '')}\\right)\\cdot\\frac{\\pi}{180}`;
  const radians = rad.replace(/\s*(?:\\text\{\s*)?\brad(?:ians?)?\b\}?/g, '');
  return pd ? [asRadians, radians] : [radians, asRadians];
}

const MAX_LIST_ITEMS = 200;

function compareLists(pred: string[], gold: string[], opts: MathCompareOptions): Verdict {
  if (pred.length !== gold.length) return different(`${pred.length} items, expected ${gold.length}`);
  if (gold.length > MAX_LIST_ITEMS) return unknown('list too long to compare');
  const verdictOf = (a: string, b: string) => compareMath(a, b, opts, 1);
  if (opts.ordered) {
    let undecided = false;
    for (let i = 0; i < gold.length; i++) {
      const v = verdictOf(pred[i]!, gold[i]!);
      if (v.kind === 'different') return different(`item ${i + 1}: ${v.how}`);
      if (v.kind === 'unknown') undecided = true;
    }
    return undecided ? unknown('list items undecided') : equal('same list');
  }
  const used = new Array<boolean>(pred.length).fill(false);
  let undecided = false;
  for (const g of gold) {
    let found = false;
    for (let i = 0; i < pred.length; i++) {
      if (used[i]) continue;
      const v = verdictOf(pred[i]!, g);
      if (v.kind === 'equal') {
        used[i] = true;
        found = true;
        break;
      }
      if (v.kind === 'unknown') undecided = true;
    }
    if (!found) return undecided ? unknown('list items undecided') : different(`missing item ${g}`);
  }
  return equal('same items');
}
