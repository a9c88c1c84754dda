/**
 * Structural equivalence of two parsed answers (MathJSON from the CAS): numbers, expressions,
 * tuples (ordered), sets (unordered), intervals and unions, inequalities, equations and matrices.
 */
import {
  args,
  bigNumericCompare,
  evalComplex,
  compareSymbolic,
  maxExponent,
  firstVariableSample,
  evalReal,
  freeSymbols,
  head,
  isSymbol,
  matrixRows,
  numericValue,
  sampleValues,
  stringValue,
  type MathJson,
} from './cas.js';
import { rationalEqual, rationalValue } from './exact-rational.js';
import type { Deadline } from './timeout.js';

export type Outcome = 'equal' | 'different' | 'unknown';

export interface EquivalenceOptions {
  close: (a: number, b: number) => boolean;
  /** Whether an interval gold may match an inequality prediction. */
  intervalMatchesRelation: boolean;
  /** Accept equations whose difference sides differ by a monomial factor (F=ma ⇔ a=F/m). */
  monomialEquations: boolean;
  deadline?: Deadline;
  /** Relative tolerance of the 50-digit comparison used past the range of doubles. */
  bigRelTol?: number;
  /**
   * Both answers are exact (no decimal literal, no rounding asked for): rational values compare
   * exactly with big integers, and a rational next to an irrational look-alike is checked with
   * as many digits as the magnitudes need.
   */
  exactRational?: boolean;
}

const RELATIONS = new Set(['Less', 'LessEqual', 'Greater', 'GreaterEqual', 'NotEqual']);
const COLLECTIONS = new Set(['Tuple', 'List', 'Set', 'Sequence', 'Pair', 'Triple']);

function unwrap(j: MathJson): MathJson {
  let x = j;
  for (let k = 0; k < 10; k++) {
    const h = head(x);
    if ((h === 'Delimiter' || h === 'Parentheses' || h === 'Hold') && args(x).length === 1) x = args(x)[0]!;
    else break;
  }
  return x;
}

/** `a = b = c` keeps only the last part; `x ∈ S` becomes S; `a ± b` becomes {a+b, a−b}. */
export function simplifyAnswerShape(j: MathJson): MathJson {
  let x = unwrap(j);
  const h = head(x);
  if (h === 'Equal' && args(x).length > 2) x = args(x)[args(x).length - 1]!;
  else if (h === 'Equal' && args(x).every((a) => freeSymbols(a).size === 0 && !Number.isNaN(numericValue(a)))) {
    // "1/2 = 10/9" between numbers is a computation trail; its answer is the last value.
    x = args(x)[args(x).length - 1]!;
  }
  else if (h === 'Element' && args(x).length === 2) x = args(x)[1]!;
  else if (h === 'Measurement' && args(x).length === 2) {
    const [a, b] = args(x) as [MathJson, MathJson];
    x = ['Set', ['Add', a, b], ['Subtract', a, b]];
  } else if (h === 'PlusMinus' && args(x).length === 2) {
    const [a, b] = args(x) as [MathJson, MathJson];
    x = ['Set', ['Add', a, b], ['Subtract', a, b]];
  }
  return x;
}

function isSimpleSymbol(j: MathJson): boolean {
  if (isSymbol(j)) return true;
  const h = head(j);
  if (h === 'Subscript' && isSymbol(args(j)[0]!)) return true;
  // "f(x) = …", "g(s, t) = …": a named function of plain variables labels its expression.
  return h !== null && /^[a-zA-Z]$/.test(h) && args(j).length > 0 && args(j).every((a) => isSymbol(a));
}

function isCollection(j: MathJson): boolean {
  const h = head(j);
  return h !== null && COLLECTIONS.has(h);
}

function isIntervalLike(j: MathJson): boolean {
  const h = head(j);
  return h === 'Interval' || h === 'Union' || h === 'EmptySet' || j === 'EmptySet' || j === 'RealNumbers';
}

/** "1 < x ≤ 3" as the engine reads mixed chains: And / Or of relations. */
function isConjunction(j: MathJson): boolean {
  const h = head(j);
  return (h === 'And' || h === 'Or') && args(j).length > 0 && args(j).every((a) => isRelation(a) || isConjunction(a));
}

function isRelation(j: MathJson): boolean {
  const h = head(j);
  return h !== null && RELATIONS.has(h);
}

/** Compares gold and prediction. */
export function compareMathJson(goldIn: MathJson, predIn: MathJson, opts: EquivalenceOptions): Outcome {
  opts.deadline?.check();
  if (JSON.stringify(goldIn) === JSON.stringify(predIn)) return 'equal';
  let gold = simplifyAnswerShape(goldIn);
  let pred = simplifyAnswerShape(predIn);

  // x = 3 vs 3: drop a lone-symbol left side when the other answer is not an equation.
  if (head(pred) === 'Equal' && head(gold) !== 'Equal' && isSimpleSymbol(args(pred)[0]!)) pred = args(pred)[1]!;
  if (head(gold) === 'Equal' && head(pred) !== 'Equal' && isSimpleSymbol(args(gold)[0]!)) gold = args(gold)[1]!;
  gold = unwrap(gold);
  pred = unwrap(pred);

  const gs = stringValue(gold);
  const ps = stringValue(pred);
  if (gs !== null || ps !== null) {
    if (gs !== null && ps !== null) return gs.trim().toLowerCase() === ps.trim().toLowerCase() ? 'equal' : 'different';
    return 'unknown';
  }

  const gh = head(gold);
  const ph = head(pred);

  if (gh === 'Equal' && ph === 'Equal') return compareEquations(gold, pred, opts);
  if (gh === 'Equal' || ph === 'Equal') return 'different';

  const pairKinds = new Set([gh, ph]);
  const numericPair = (j: MathJson) => args(j).length === 2 && freeSymbols(j).size === 0;
  if (pairKinds.has('List') && pairKinds.has('Tuple') && numericPair(gold) && numericPair(pred)) {
    // [a, b] next to (a, b): a closed and an open interval.
    return compareSets(gold, pred, opts);
  }
  if (isRelation(gold) || isRelation(pred) || isIntervalLike(gold) || isIntervalLike(pred) || isConjunction(gold) || isConjunction(pred)) {
    return compareSets(gold, pred, opts);
  }

  const gm = matrixValue(gold);
  const pm = matrixValue(pred);
  if (gm && pm && (containsMatrix(gold) || containsMatrix(pred))) return compareMatrices(gm, pm, opts);
  if ((gm !== null) !== (pm !== null)) {
    // A column (or row) vector against a tuple of its entries: the same vector.
    const gv = gm ? vectorEntries(gm) : head(gold) === 'Tuple' ? args(gold) : null;
    const pv = pm ? vectorEntries(pm) : head(pred) === 'Tuple' ? args(pred) : null;
    if (gv && pv) return compareMatrices([gv], [pv], opts);
  }

  if (isCollection(gold) || isCollection(pred)) return compareCollections(gold, pred, opts);

  return compareScalars(gold, pred, opts);
}

/** The entries of an n×1 or 1×n matrix (n ≥ 2), else null. */
function vectorEntries(rows: MathJson[][]): MathJson[] | null {
  if (rows.length >= 2 && rows.every((r) => r.length === 1)) return rows.map((r) => r[0]!);
  if (rows.length === 1 && rows[0]!.length >= 2) return rows[0]!;
  return null;
}

function containsMatrix(j: MathJson): boolean {
  return head(j) === 'Matrix' || args(j).some((a) => head(a) === 'Matrix');
}

/** Rows of a matrix literal or of a sum / product / scalar multiple of matrix literals. */
function matrixValue(j: MathJson): MathJson[][] | null {
  const rows = matrixRows(j);
  if (rows) return rows;
  const h = head(j);
  if (h === 'Negate') {
    const m = matrixValue(args(j)[0]!);
    return m ? m.map((r) => r.map((x) => ['Negate', x] as MathJson)) : null;
  }
  if (h === 'Add') {
    const ms = args(j).map(matrixValue);
    if (ms.some((m) => !m)) return null;
    const [first, ...rest] = ms as MathJson[][][];
    if (rest.some((m) => m.length !== first!.length || m.some((r, i) => r.length !== first![i]!.length))) return null;
    return first!.map((row, i) => row.map((x, k) => ['Add', x, ...rest.map((m) => m[i]![k]!)] as MathJson));
  }
  if (h === 'Multiply' && args(j).some((a) => matrixValue(a) !== null)) {
    let acc: MathJson[][] | null = null;
    const scalars: MathJson[] = [];
    for (const a of args(j)) {
      const m = matrixValue(a);
      if (!m) {
        scalars.push(a);
        continue;
      }
      if (!acc) acc = m;
      else {
        if (acc[0]!.length !== m.length) return null;
        const left: MathJson[][] = acc;
        acc = left.map((row) => m[0]!.map((_, k) => ['Add', ...row.map((x, t) => ['Multiply', x, m[t]![k]!] as MathJson)] as MathJson));
      }
    }
    if (!acc) return null;
    return scalars.length ? acc.map((r) => r.map((x) => ['Multiply', ...scalars, x] as MathJson)) : acc;
  }
  return null;
}

function compareScalars(gold: MathJson, pred: MathJson, opts: EquivalenceOptions): Outcome {
  const vars = [...new Set([...freeSymbols(gold), ...freeSymbols(pred)])].sort();
  if (vars.length === 0) {
    const gr = opts.exactRational ? rationalValue(gold) : null;
    const pr = opts.exactRational ? rationalValue(pred) : null;
    if (gr && pr) return rationalEqual(gr, pr) ? 'equal' : 'different';
    const g = numericValue(gold);
    const p = numericValue(pred);
    if (Number.isNaN(g) || Number.isNaN(p)) return compareComplex(gold, pred, opts);
    // Doubles cannot decide past their range: 10^{-400} is not 0, 2^{1001} is not 2^{1002}.
    const outOfRange = (v: number, j: MathJson) => !Number.isFinite(v) || (Math.abs(v) < 1e-290 && maxExponent(j) > 300) || maxExponent(j) > 300;
    if (Number.isFinite(g) !== Number.isFinite(p) && maxExponent(gold) <= 300 && maxExponent(pred) <= 300) return 'different';
    if (outOfRange(g, gold) || outOfRange(p, pred)) {
      const big = bigNumericCompare(pred, gold, opts.bigRelTol ?? 1e-9, opts.exactRational === true);
      if (big !== 'unknown') return big;
      if (!Number.isFinite(g) && !Number.isFinite(p) && Math.sign(g) !== Math.sign(p)) return 'different';
      return JSON.stringify(gold) === JSON.stringify(pred) ? 'equal' : 'unknown';
    }
    if (!opts.close(p, g)) return 'different';
    // 141421356237/10^11 is close to √2 in doubles, but a rational is not an irrational look-alike.
    if (opts.exactRational && (gr !== null) !== (pr !== null)) {
      const big = bigNumericCompare(pred, gold, 0, true);
      if (big !== 'unknown') return big;
    }
    return 'equal';
  }
  return compareSymbolic(pred, gold, opts.close, vars);
}

/** Complex constants (a + bi, polar, exponential, quotients, products): real and imaginary parts compared. */
function compareComplex(gold: MathJson, pred: MathJson, opts: EquivalenceOptions): Outcome {
  const g = evalComplex(gold);
  const p = evalComplex(pred);
  if (!g || !p || ![...g, ...p].every(Number.isFinite)) return 'unknown';
  const scale = Math.max(Math.hypot(g[0], g[1]), 1e-300);
  // Each part is compared relative to the modulus (a part that is 0 up to float noise is 0).
  const part = (x: number, y: number) => opts.close(x, y) || Math.abs(x - y) <= 1e-12 * scale;
  return part(p[0], g[0]) && part(p[1], g[1]) ? 'equal' : 'different';
}

function compareMatrices(g: MathJson[][], p: MathJson[][], opts: EquivalenceOptions): Outcome {
  if (g.length !== p.length || g.some((row, i) => row.length !== p[i]!.length)) return 'different';
  let unknownSeen = false;
  for (let i = 0; i < g.length; i++) {
    for (let j = 0; j < g[i]!.length; j++) {
      const r = compareMathJson(g[i]![j]!, p[i]![j]!, opts);
      if (r === 'different') return 'different';
      if (r === 'unknown') unknownSeen = true;
    }
  }
  return unknownSeen ? 'unknown' : 'equal';
}

function elements(j: MathJson): MathJson[] {
  return isCollection(j) ? args(j) : [j];
}

function compareCollections(gold: MathJson, pred: MathJson, opts: EquivalenceOptions): Outcome {
  const g = elements(gold);
  const p = elements(pred);
  if (g.length !== p.length) return 'different';
  // Sets compare unordered; a tuple on either side makes the comparison ordered.
  const unordered = head(gold) === 'Set' && head(pred) === 'Set';
  if (!unordered) {
    let unknownSeen = false;
    for (let i = 0; i < g.length; i++) {
      const r = compareMathJson(g[i]!, p[i]!, opts);
      if (r === 'different') return 'different';
      if (r === 'unknown') unknownSeen = true;
    }
    return unknownSeen ? 'unknown' : 'equal';
  }
  return matchUnordered(g, p, opts);
}

/** One-to-one matching of two multisets (greedy is exact here: equivalence is transitive). */
export function matchUnordered(g: MathJson[], p: MathJson[], opts: EquivalenceOptions): Outcome {
  if (g.length !== p.length) return 'different';
  if (g.length > 200) return 'unknown';
  const used = new Array<boolean>(p.length).fill(false);
  let unknownSeen = false;
  for (const ge of g) {
    let found = false;
    for (let i = 0; i < p.length; i++) {
      if (used[i]) continue;
      const r = compareMathJson(ge, p[i]!, opts);
      if (r === 'equal') {
        used[i] = true;
        found = true;
        break;
      }
      if (r === 'unknown') unknownSeen = true;
    }
    if (!found) return unknownSeen ? 'unknown' : 'different';
  }
  return 'equal';
}

// ---------------------------------------------------------------------------------------------
// Intervals, unions and single-variable inequalities, as sorted lists of real intervals.

interface Piece {
  lo: number;
  hi: number;
  loOpen: boolean;
  hiOpen: boolean;
}

function bound(j: MathJson): { v: number; open: boolean } {
  if (head(j) === 'Open') return { v: numericValue(args(j)[0]!), open: true };
  if (head(j) === 'Closed') return { v: numericValue(args(j)[0]!), open: false };
  return { v: numericValue(j), open: false };
}

/** Interval-set form of an answer; null when it is not one (or has symbols). */
function toPieces(j: MathJson, variable: { name: string | null }): Piece[] | null {
  const x = unwrap(j);
  const h = head(x);
  if (x === 'EmptySet' || h === 'EmptySet') return [];
  if (x === 'RealNumbers') return [{ lo: -Infinity, hi: Infinity, loOpen: true, hiOpen: true }];
  if (h === 'Interval') {
    const [a, b] = args(x);
    if (a === undefined || b === undefined) return null;
    const lo = bound(a);
    const hi = bound(b);
    if (Number.isNaN(lo.v) || Number.isNaN(hi.v)) return null;
    return [{ lo: lo.v, hi: hi.v, loOpen: lo.open || !Number.isFinite(lo.v), hiOpen: hi.open || !Number.isFinite(hi.v) }];
  }
  if ((h === 'Tuple' || h === 'List') && args(x).length === 2) {
    // (a, b) next to intervals reads as an open interval, [a, b] as a closed one.
    const lo = numericValue(args(x)[0]!);
    const hi = numericValue(args(x)[1]!);
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo >= hi) return null;
    const open = h === 'Tuple';
    return [{ lo, hi, loOpen: open || !Number.isFinite(lo), hiOpen: open || !Number.isFinite(hi) }];
  }
  if (h === 'Tuple' && args(x).length === 2) {
    // (a, b) next to intervals or inequalities reads as an open interval.
    const lo = numericValue(args(x)[0]!);
    const hi = numericValue(args(x)[1]!);
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo >= hi) return null;
    return [{ lo, hi, loOpen: true, hiOpen: true }];
  }
  if (h === 'Union' || h === 'Or') {
    const parts: Piece[] = [];
    for (const a of args(x)) {
      const p = toPieces(a, variable);
      if (!p) return null;
      parts.push(...p);
    }
    return mergePieces(parts);
  }
  if (h === 'And') {
    let acc: Piece[] | null = [{ lo: -Infinity, hi: Infinity, loOpen: true, hiOpen: true }];
    for (const a of args(x)) {
      const p = toPieces(a, variable);
      if (!p || !acc) return null;
      acc = intersectPieces(acc, p);
    }
    return acc;
  }
  if (h === 'Set') {
    const pts: Piece[] = [];
    for (const a of args(x)) {
      const v = numericValue(a);
      if (Number.isNaN(v)) return null;
      pts.push({ lo: v, hi: v, loOpen: false, hiOpen: false });
    }
    return mergePieces(pts);
  }
  if (h && RELATIONS.has(h)) return relationPieces(x, variable);
  return null;
}

/** "f(x)" stands for one unknown (a range answer, 0 < f(x) < 1): it becomes the symbol "f(x)". */
function functionValueAsSymbol(j: MathJson): MathJson {
  const h = head(j);
  if (h !== null && /^[a-zA-Z]$/.test(h) && args(j).length > 0 && args(j).every((a) => isSymbol(a))) return `${h}(${args(j).join(',')})`;
  return j;
}

function relationPieces(x: MathJson, variable: { name: string | null }): Piece[] | null {
  const h = head(x)!;
  const ops = args(x).map(functionValueAsSymbol);
  const syms = new Set<string>();
  for (const o of ops) freeSymbols(o, syms);
  if (syms.size !== 1) return null;
  const name = [...syms][0]!;
  if (variable.name && variable.name !== name) return null;
  variable.name = name;
  if (h === 'NotEqual') {
    if (ops.length !== 2) return null;
    const [a, b] = ops as [MathJson, MathJson];
    const v = a === name ? numericValue(b) : b === name ? numericValue(a) : Number.NaN;
    if (Number.isNaN(v)) return null;
    return [
      { lo: -Infinity, hi: v, loOpen: true, hiOpen: true },
      { lo: v, hi: Infinity, loOpen: true, hiOpen: true },
    ];
  }
  // Chains a < b ≤ c: each adjacent pair constrains the variable.
  const less = h === 'Less' || h === 'LessEqual';
  const strict = h === 'Less' || h === 'Greater';
  let acc: Piece[] = [{ lo: -Infinity, hi: Infinity, loOpen: true, hiOpen: true }];
  for (let i = 0; i + 1 < ops.length; i++) {
    const [lo, hi] = less ? [ops[i]!, ops[i + 1]!] : [ops[i + 1]!, ops[i]!];
    let piece: Piece;
    if (isVar(hi, name) && !containsVar(lo, name)) {
      const v = numericValue(lo);
      if (Number.isNaN(v)) return null;
      piece = { lo: v, hi: Infinity, loOpen: strict, hiOpen: true };
    } else if (isVar(lo, name) && !containsVar(hi, name)) {
      const v = numericValue(hi);
      if (Number.isNaN(v)) return null;
      piece = { lo: -Infinity, hi: v, loOpen: true, hiOpen: strict };
    } else if (head(hi) === 'Abs' && !containsVar(lo, name)) {
      // c < |g(x)|: g(x) < -c or g(x) > c, with g linear.
      const c = numericValue(lo);
      const g = linearForm(args(hi)[0]!, name);
      if (Number.isNaN(c) || !g) return null;
      const u: Piece[] = c < 0 || (c === 0 && !strict)
        ? [{ lo: -Infinity, hi: Infinity, loOpen: true, hiOpen: true }]
        : [{ lo: -Infinity, hi: -c, loOpen: true, hiOpen: strict }, { lo: c, hi: Infinity, loOpen: strict, hiOpen: true }];
      acc = intersectPieces(acc, preimage(u, g));
      continue;
    } else if (head(lo) === 'Abs' && !containsVar(hi, name)) {
      // |g(x)| < c: -c < g(x) < c.
      const c = numericValue(hi);
      const g = linearForm(args(lo)[0]!, name);
      if (Number.isNaN(c) || !g) return null;
      const u: Piece[] = c < 0 || (c === 0 && strict) ? [] : [{ lo: -c, hi: c, loOpen: strict, hiOpen: strict }];
      acc = intersectPieces(acc, preimage(u, g));
      continue;
    } else {
      const linear = linearBound(lo, hi, name, strict);
      if (!linear) return null;
      piece = linear;
    }
    acc = intersectPieces(acc, [piece]);
  }
  return acc;
}

function isVar(j: MathJson, name: string): boolean {
  return j === name;
}

function containsVar(j: MathJson, name: string): boolean {
  return freeSymbols(j).has(name);
}

/** g(x) = k·x + c over the sample points, or null when g is not linear in x. */
function linearForm(g: MathJson, name: string): { k: number; c: number } | null {
  if (g === name) return { k: 1, c: 0 };
  const [v0, v1, v2] = sampleValues(g, [name]);
  const [x0, x1, x2] = [firstVariableSample(0), firstVariableSample(1), firstVariableSample(2)];
  if (v0 === undefined || v1 === undefined || v2 === undefined) return null;
  const k = (v1 - v0) / (x1 - x0);
  const c = v0 - k * x0;
  if (!Number.isFinite(k) || Math.abs(k) < 1e-12 || Math.abs(k * x2 + c - v2) > 1e-9 * Math.max(1, Math.abs(v2))) return null;
  return { k, c };
}

/** The x for which k·x + c lies in the given pieces. */
function preimage(u: Piece[], g: { k: number; c: number }): Piece[] {
  const map = (v: number) => (Number.isFinite(v) ? (v - g.c) / g.k : g.k > 0 ? v : -v);
  return mergePieces(
    u.map((p) => (g.k > 0
      ? { lo: map(p.lo), hi: map(p.hi), loOpen: p.loOpen, hiOpen: p.hiOpen }
      : { lo: map(p.hi), hi: map(p.lo), loOpen: p.hiOpen, hiOpen: p.loOpen })),
  );
}

/** lo < hi where one side is linear in the variable: solve numerically via two evaluations. */
function linearBound(lo: MathJson, hi: MathJson, name: string, strict: boolean): Piece | null {
  // f(x) = hi - lo > 0 with f linear: f(x) = k x + c.
  const f = ['Subtract', hi, lo] as MathJson;
  const [v0, v1, v2] = sampleValues(f, [name]);
  const [x0, x1, x2] = [firstVariableSample(0), firstVariableSample(1), firstVariableSample(2)];
  if (v0 === undefined || v1 === undefined || v2 === undefined) return null;
  const k = (v1 - v0) / (x1 - x0);
  const c = v0 - k * x0;
  if (!Number.isFinite(k) || Math.abs(k) < 1e-12 || Math.abs(k * x2 + c - v2) > 1e-9 * Math.max(1, Math.abs(v2))) return null;
  const root = -c / k;
  return k > 0
    ? { lo: root, hi: Infinity, loOpen: strict, hiOpen: true }
    : { lo: -Infinity, hi: root, loOpen: true, hiOpen: strict };
}

function intersectPieces(a: Piece[], b: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of a) {
    for (const q of b) {
      const lo = Math.max(p.lo, q.lo);
      const hi = Math.min(p.hi, q.hi);
      const loOpen = p.lo === q.lo ? p.loOpen || q.loOpen : p.lo > q.lo ? p.loOpen : q.loOpen;
      const hiOpen = p.hi === q.hi ? p.hiOpen || q.hiOpen : p.hi < q.hi ? p.hiOpen : q.hiOpen;
      if (lo < hi || (lo === hi && !loOpen && !hiOpen)) out.push({ lo, hi, loOpen, hiOpen });
    }
  }
  return mergePieces(out);
}

function mergePieces(ps: Piece[]): Piece[] {
  const s = [...ps].sort((x, y) => x.lo - y.lo || Number(x.loOpen) - Number(y.loOpen));
  const out: Piece[] = [];
  for (const p of s) {
    const last = out[out.length - 1];
    if (last && (p.lo < last.hi || (p.lo === last.hi && !(p.loOpen && last.hiOpen)))) {
      if (p.hi > last.hi || (p.hi === last.hi && !p.hiOpen)) {
        last.hi = p.hi;
        last.hiOpen = p.hiOpen;
      }
    } else out.push({ ...p });
  }
  return out;
}

function compareSets(gold: MathJson, pred: MathJson, opts: EquivalenceOptions): Outcome {
  const goldRel = isRelation(unwrap(gold)) || head(gold) === 'And' || head(gold) === 'Or';
  const predRel = isRelation(unwrap(pred)) || head(pred) === 'And' || head(pred) === 'Or';
  if (goldRel && predRel) {
    const r = compareRelations(gold, pred);
    if (r !== 'unknown') return r;
  }
  if (!goldRel && predRel && !opts.intervalMatchesRelation) return 'different';
  const gv = { name: null as string | null };
  const pv = { name: null as string | null };
  const g = toPieces(gold, gv);
  const p = toPieces(pred, pv);
  if (!g || !p) {
    if (goldRel !== predRel) return g || p ? 'different' : 'unknown';
    return 'unknown';
  }
  if (goldRel && predRel && gv.name !== pv.name) return 'different';
  if (g.length !== p.length) return 'different';
  for (let i = 0; i < g.length; i++) {
    const a = g[i]!;
    const b = p[i]!;
    if (a.loOpen !== b.loOpen || a.hiOpen !== b.hiOpen) return 'different';
    if (!endpointClose(a.lo, b.lo, opts) || !endpointClose(a.hi, b.hi, opts)) return 'different';
  }
  return 'equal';
}

function endpointClose(a: number, b: number, opts: EquivalenceOptions): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return opts.close(b, a);
}

/** Multi-variable inequalities: normalise `a op b` to `d > 0` / `d ≥ 0` and compare d up to a positive factor. */
function compareRelations(gold: MathJson, pred: MathJson): Outcome {
  const g = relationDiff(gold);
  const p = relationDiff(pred);
  if (!g || !p) return 'unknown';
  if (g.op !== p.op) return 'different';
  const vars = [...new Set([...freeSymbols(g.diff), ...freeSymbols(p.diff)])].sort();
  if (g.op === 'ne') {
    const r = ratioKind(g.diff, p.diff, vars);
    return r === 'constant' || r === 'negative-constant' ? 'equal' : r === 'none' ? 'different' : 'unknown';
  }
  const r = ratioKind(g.diff, p.diff, vars);
  if (r === 'constant') return 'equal';
  if (r === 'unknown') return 'unknown';
  return 'different';
}

function relationDiff(j: MathJson): { diff: MathJson; op: 'gt' | 'ge' | 'ne' } | null {
  const x = unwrap(j);
  const h = head(x);
  const a = args(x);
  if (!h || a.length !== 2) return null;
  const [l, r] = a as [MathJson, MathJson];
  switch (h) {
    case 'Less': return { diff: ['Subtract', r, l], op: 'gt' };
    case 'LessEqual': return { diff: ['Subtract', r, l], op: 'ge' };
    case 'Greater': return { diff: ['Subtract', l, r], op: 'gt' };
    case 'GreaterEqual': return { diff: ['Subtract', l, r], op: 'ge' };
    case 'NotEqual': return { diff: ['Subtract', l, r], op: 'ne' };
  }
  return null;
}

type RatioKind = 'constant' | 'negative-constant' | 'monomial' | 'none' | 'unknown';

/** How b relates to a over the sample points: b = c·a (c > 0 / c < 0), b = monomial·a, or neither. */
function ratioKind(a: MathJson, b: MathJson, vars: string[]): RatioKind {
  if (vars.length === 0) {
    const va = numericValue(a);
    const vb = numericValue(b);
    if (!Number.isFinite(va) || !Number.isFinite(vb)) return 'unknown';
    if (va === 0 && vb === 0) return 'constant';
    if (va === 0 || vb === 0) return 'none';
    return vb / va > 0 ? 'constant' : 'negative-constant';
  }
  const va = sampleValues(a, vars);
  const vb = sampleValues(b, vars);
  const ratios: number[] = [];
  for (let i = 0; i < va.length; i++) {
    const x = va[i]!;
    const y = vb[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (Math.abs(x) < 1e-12 && Math.abs(y) < 1e-12) continue;
    if (Math.abs(x) < 1e-12 || Math.abs(y) < 1e-12) return 'none';
    ratios.push(y / x);
  }
  if (ratios.length < 2) return 'unknown';
  const r0 = ratios[0]!;
  if (ratios.every((r) => Math.abs(r - r0) <= 1e-7 * Math.max(1, Math.abs(r0)))) return r0 > 0 ? 'constant' : 'negative-constant';
  return isMonomialRatio(a, b, vars) ? 'monomial' : 'none';
}

/** b/a = c·Π v_i^k_i (integer k): scaling one variable by 2 scales the ratio by a power of two. */
function isMonomialRatio(a: MathJson, b: MathJson, vars: string[]): boolean {
  const base: Record<string, number> = {};
  vars.forEach((v, i) => (base[v] = 0.8131 + 0.37 * i));
  const ratioAt = (env: Record<string, number>) => {
    const x = evalReal(a, env);
    const y = evalReal(b, env);
    return y / x;
  };
  const r0 = ratioAt(base);
  if (!Number.isFinite(r0) || r0 === 0) return false;
  for (const v of vars) {
    const scaled = { ...base, [v]: base[v]! * 2 };
    const q = ratioAt(scaled) / r0;
    if (!Number.isFinite(q) || q <= 0) return false;
    const k = Math.log2(q);
    if (Math.abs(k - Math.round(k)) > 1e-6) return false;
    const other = { ...base, [v]: base[v]! * 3 };
    const q3 = ratioAt(other) / r0;
    if (Math.abs(Math.log(q3) / Math.log(3) - Math.round(k)) > 1e-6) return false;
  }
  return true;
}


/** Equations: both sides equal pairwise, or (l1 − r1) = c·(l2 − r2) (monomial factor when allowed). */
function compareEquations(gold: MathJson, pred: MathJson, opts: EquivalenceOptions): Outcome {
  const [gl, gr] = args(gold) as [MathJson, MathJson];
  const [pl, pr] = args(pred) as [MathJson, MathJson];
  const sideA = compareMathJson(gl, pl, opts);
  const sideB = compareMathJson(gr, pr, opts);
  if (sideA === 'equal' && sideB === 'equal') return 'equal';
  const swapA = compareMathJson(gl, pr, opts);
  const swapB = compareMathJson(gr, pl, opts);
  if (swapA === 'equal' && swapB === 'equal') return 'equal';
  const gd: MathJson = ['Subtract', gl, gr];
  const pd: MathJson = ['Subtract', pl, pr];
  const vars = [...new Set([...freeSymbols(gd), ...freeSymbols(pd)])].sort();
  const r = ratioKind(gd, pd, vars);
  if (r === 'constant' || r === 'negative-constant') return 'equal';
  if (r === 'monomial') return opts.monomialEquations ? 'equal' : 'different';
  if (r === 'unknown') return 'unknown';
  return 'different';
}
