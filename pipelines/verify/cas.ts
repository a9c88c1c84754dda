/**
 * The CAS boundary: @cortex-js/compute-engine parses LaTeX into MathJSON. Inputs are bounded
 * before they reach it (length, nesting, \frac count, digit runs, unbounded operators such as
 * \sum or \int), because the engine is synchronous and cannot be interrupted. Numeric evaluation
 * of the MathJSON is done here with doubles (fast, and free of the engine's bignum paths); only
 * closed forms the evaluator does not know (complex numbers, special functions) go back to the
 * engine's N().
 */
import { createRequire } from 'node:module';
import type { ComputeEngine } from '@cortex-js/compute-engine';
import { parseArithmetic } from './arith-parse.js';
import { excludeFromBudgets } from './timeout.js';

type EngineModule = typeof import('@cortex-js/compute-engine');
let engineModule: EngineModule | null = null;
/** Called around the engine's one-time load (the pool's worker holds its hard-budget clock meanwhile). */
let loadHooks: { before: () => void; after: (ms: number) => void } | null = null;

/**
 * The engine's module, loaded on first use: loading it and building the first engine costs about
 * 0.3 s of CPU, which a run whose answers our own parser reads (integers, fractions, plain
 * arithmetic) never needs to pay, nor does every verifier worker at start. Synchronous (its CommonJS
 * build through `require`), since verification is. The time it takes, up to the first engine's
 * warm-up parse, is excluded from verification budgets: a cold load must not turn an answer into a
 * timeout.
 */
function computeEngine(): EngineModule {
  if (engineModule) return engineModule;
  loadHooks?.before();
  const started = performance.now();
  try {
    const loaded = createRequire(import.meta.url)('@cortex-js/compute-engine') as EngineModule;
    // The first parse compiles the engine's parser: part of the one-time cost, not of the first answer's budget.
    new loaded.ComputeEngine().parse('\\frac{1}{2}+\\sin(x)');
    // Tests: a load as slow as on a busy machine, whatever this machine's speed (a synchronous sleep).
    const delayMs = Number(process.env.STRATUM_TEST_CAS_LOAD_DELAY_MS ?? 0);
    if (delayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
    engineModule = loaded;
    return loaded;
  } finally {
    const ms = performance.now() - started;
    excludeFromBudgets(ms);
    loadHooks?.after(ms);
  }
}

/** Whether the engine has been loaded in this thread (tests, benchmarks). */
export function casLoaded(): boolean {
  return engineModule !== null;
}

/** Hooks around the engine's one-time load (one set per thread: the pool's worker). */
export function onCasLoad(hooks: { before: () => void; after: (ms: number) => void } | null): void {
  loadHooks = hooks;
}

export type MathJson = number | string | { num: string } | { str: string } | MathJson[];

export interface ParseOutcome {
  ok: boolean;
  json: MathJson | null;
  reason: string;
}

export const CAS_LIMITS = {
  maxLength: 3000,
  maxNesting: 40,
  maxFracs: 60,
  maxDigitRun: 400,
};

const UNBOUNDED = /\\(?:sum|prod|int|iint|iiint|oint|lim|limsup|liminf|coprod|bigcup|bigcap|partial|nabla|mathop)(?![a-zA-Z])/;

let engine: ComputeEngine | null = null;
let parsesSinceReset = 0;

function getEngine(): ComputeEngine {
  // A fresh engine from time to time bounds whatever state the engine accumulates over millions of calls.
  if (!engine || parsesSinceReset > 50_000) {
    engine = new (computeEngine().ComputeEngine)();
    engine.precision = 'machine';
    parsesSinceReset = 0;
  }
  return engine;
}

/** Why a LaTeX string must not be handed to the CAS, or null when it is safe. */
export function guardLatex(latex: string): string | null {
  if (latex.length > CAS_LIMITS.maxLength) return 'too-long';
  let depth = 0;
  let max = 0;
  let digitRun = 0;
  let fracs = 0;
  for (let i = 0; i < latex.length; i++) {
    const c = latex.charCodeAt(i);
    if (c === 123 || c === 40 || c === 91) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 41 || c === 93) depth = Math.max(0, depth - 1);
    if (c >= 48 && c <= 57) {
      digitRun++;
      if (digitRun > CAS_LIMITS.maxDigitRun) return 'number-too-long';
    } else digitRun = 0;
    if (c === 92 && latex.startsWith('frac', i + 1)) fracs++;
  }
  if (max > CAS_LIMITS.maxNesting) return 'too-deeply-nested';
  if (fracs > CAS_LIMITS.maxFracs) return 'too-many-fractions';
  if (UNBOUNDED.test(latex)) return 'unbounded-operator';
  return null;
}

const parseCache = new Map<string, ParseOutcome>();
const PARSE_CACHE_MAX = 20_000;

/**
 * Parses LaTeX into MathJSON (canonical form). Never throws. Results are cached: a rollout group
 * shares its ground truth and often repeats answers. The returned JSON must not be mutated.
 */
export function parseLatex(latex: string): ParseOutcome {
  const hit = parseCache.get(latex);
  if (hit) return hit;
  const out = parseLatexUncached(latex);
  if (latex.length <= 500) {
    if (parseCache.size >= PARSE_CACHE_MAX) parseCache.delete(parseCache.keys().next().value!);
    parseCache.set(latex, out);
  }
  return out;
}

/** Empties the parse cache (benchmarks measure cold throughput with it). */
export function clearParseCache(): void {
  parseCache.clear();
}

/** The engine's full canonical parse, bypassing the light path and the cache (tests compare the two). */
export function parseLatexCanonical(latex: string): ParseOutcome {
  return parseLatexUncached(latex, false);
}

function parseLatexUncached(latex: string, light = true): ParseOutcome {
  const guard = guardLatex(latex);
  if (guard) return { ok: false, json: null, reason: guard };
  if (latex.trim().length === 0) return { ok: false, json: null, reason: 'empty' };
  try {
    if (light) {
      // Our own parser first (about 1 µs an answer); then, for plain arithmetic, the engine's raw
      // parse plus our light canonical form, about a fifth of the cost of its canonicalisation
      // (boxing, type inference), the hot spot of cold verification. Both are checked against the
      // canonical parse by generated tests.
      const own = parseArithmetic(latex);
      if (own !== null) return { ok: true, json: own, reason: 'ok' };
    }
    const ce = getEngine();
    parsesSinceReset++;
    if (light && FAST_LATEX.test(latex)) {
      const raw = ce.parse(latex, { form: 'raw' });
      const light = raw.isValid ? lightCanonical(raw.json as MathJson, 0) : null;
      if (light !== null) return { ok: true, json: light, reason: 'ok' };
    }
    const expr = ce.parse(latex, { speculative: true });
    const json = expr.json as MathJson;
    if (!expr.isValid || containsHead(json, 'Error')) return { ok: false, json, reason: 'parse-error' };
    return { ok: true, json, reason: 'ok' };
  } catch (err) {
    return { ok: false, json: null, reason: `parse-exception: ${String(err).slice(0, 80)}` };
  }
}

/**
 * LaTeX the light path may take: digits, operators, brackets, commas, relations, single letters
 * (e and i become the constants, as the engine reads them), \frac, \sqrt, \pi, \infty, \cdot,
 * \times, \left/\right, set braces, \cup, \in and the relation commands. Anything else (functions,
 * text, matrices) goes through the engine's full canonicalisation.
 */
const FAST_LATEX = /^(?:[\d\s.+\-*/^(){}[\],=<>a-zA-Z]|\\(?:[dt]?frac|sqrt|pi|infty|cdot|times|left|right|cup|in|le|ge|leq|geq|ne|neq|lt|gt)(?![a-zA-Z])|\\[{}])*$/;
const LIGHT_HEADS = new Set(['Add', 'Subtract', 'Multiply', 'Divide', 'Power', 'Sqrt', 'Root', 'Negate', 'List', 'Set', 'Interval', 'Open', 'Union', 'Element']);
const LIGHT_RELATIONS = new Set(['Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual']);
const LIGHT_SYMBOLS: Record<string, string> = { e: 'ExponentialE', i: 'ImaginaryUnit', Pi: 'Pi', PositiveInfinity: 'PositiveInfinity' };

/** The engine's raw parse in the shapes its canonical form uses, or null to fall back to the engine. */
function lightCanonical(j: MathJson, depth: number): MathJson | null {
  if (depth > 60) return null;
  if (typeof j === 'number') return j;
  if (typeof j === 'string') return LIGHT_SYMBOLS[j] ?? (/^[a-zA-Z]$/.test(j) ? j : null);
  if (!Array.isArray(j)) return 'num' in j ? j : null;
  const [h, ...a] = j;
  if (h === 'Delimiter') {
    // "(x + 1)" is grouping; "(1, 2)" and "1, 2" are tuples; other delimiters fall back.
    if (a.length === 0 || a.length > 2) return null;
    const delims = a.length === 2 ? a[1] : "'()'";
    if (head(a[0]!) === 'Sequence') {
      if (delims !== "'(,)'" && delims !== "','") return null;
      const items = args(a[0]!).map((x) => lightCanonical(x, depth + 1));
      return items.length < 2 || items.some((x) => x === null) ? null : ['Tuple', ...(items as MathJson[])];
    }
    return delims === "'()'" ? lightCanonical(a[0]!, depth + 1) : null;
  }
  if (h === 'InvisibleOperator') {
    // "2x", "x(x+1)"; a letter before parentheses may be a function application ("f(x)") and
    // "1\frac{1}{2}" is a mixed number to the engine: those fall back.
    for (let k = 0; k + 1 < a.length; k++) {
      if (typeof a[k] === 'string' && head(a[k + 1]!) === 'Delimiter') return null;
      if (typeof a[k] !== 'string' && !Array.isArray(a[k]) && head(a[k + 1]!) === 'Divide') return null;
    }
    if (a.every((x) => typeof x === 'number' || (x !== null && typeof x === 'object' && !Array.isArray(x)))) return null;
    const ops = a.map((x) => lightCanonical(x, depth + 1));
    return ops.some((x) => x === null) ? null : ['Multiply', ...(ops as MathJson[])];
  }
  if (typeof h !== 'string') return null;
  if (LIGHT_RELATIONS.has(h)) {
    // Chains (1 ≤ x < 3) are nested relations here and a conjunction to the engine: fall back.
    if (a.length !== 2 || a.some((x) => LIGHT_RELATIONS.has(head(x) ?? ''))) return null;
  } else if (!LIGHT_HEADS.has(h)) return null;
  const ops = a.map((x) => lightCanonical(x, depth + 1));
  if (ops.some((x) => x === null)) return null;
  if (h === 'Negate' && typeof ops[0] === 'number') return -ops[0];
  if (h === 'Negate' && ops[0] === 'PositiveInfinity') return 'NegativeInfinity';
  return [h, ...(ops as MathJson[])];
}

export function head(json: MathJson): string | null {
  return Array.isArray(json) && typeof json[0] === 'string' ? json[0] : null;
}

export function args(json: MathJson): MathJson[] {
  return Array.isArray(json) ? json.slice(1) : [];
}

export function containsHead(json: MathJson, name: string, depth = 0): boolean {
  if (!Array.isArray(json) || depth > 200) return false;
  if (json[0] === name) return true;
  for (let i = 1; i < json.length; i++) if (containsHead(json[i]!, name, depth + 1)) return true;
  return false;
}

const CONSTANTS = new Set([
  'Pi', 'ExponentialE', 'ImaginaryUnit', 'PositiveInfinity', 'NegativeInfinity', 'ComplexInfinity',
  'NaN', 'Nothing', 'True', 'False', 'EmptySet', 'Half',
]);

export function isSymbol(json: MathJson): json is string {
  return typeof json === 'string' && !json.startsWith("'") && !CONSTANTS.has(json);
}

/** Free symbols of an expression (strings that are not constants or quoted text). */
export function freeSymbols(json: MathJson, out = new Set<string>(), depth = 0): Set<string> {
  if (depth > 200) return out;
  if (typeof json === 'string') {
    if (isSymbol(json)) out.add(json);
  } else if (Array.isArray(json)) {
    for (let i = 1; i < json.length; i++) freeSymbols(json[i]!, out, depth + 1);
    // A symbol used as a function name (f(x)) is free too.
    if (typeof json[0] === 'string' && /^[a-z]$/i.test(json[0])) out.add(json[0]);
  }
  return out;
}

/** Text nodes ('Evelyn' is "'Evelyn'" in MathJSON). */
export function stringValue(json: MathJson): string | null {
  if (typeof json === 'string' && json.startsWith("'") && json.endsWith("'")) return json.slice(1, -1);
  if (json && typeof json === 'object' && !Array.isArray(json) && 'str' in json) return json.str;
  return null;
}

type Env = Record<string, number>;

const UNARY: Record<string, (x: number) => number> = {
  Sqrt: Math.sqrt, Exp: Math.exp, Ln: Math.log, Lb: Math.log2, Lg: Math.log10, Abs: Math.abs,
  Sin: Math.sin, Cos: Math.cos, Tan: Math.tan, Cot: (x) => 1 / Math.tan(x), Sec: (x) => 1 / Math.cos(x),
  Csc: (x) => 1 / Math.sin(x), Arcsin: Math.asin, Arccos: Math.acos, Arctan: Math.atan,
  Arccot: (x) => Math.atan(1 / x), Arcsec: (x) => Math.acos(1 / x), Arccsc: (x) => Math.asin(1 / x),
  Sinh: Math.sinh, Cosh: Math.cosh, Tanh: Math.tanh, Coth: (x) => 1 / Math.tanh(x),
  Arsinh: Math.asinh, Arcosh: Math.acosh, Artanh: Math.atanh, Floor: Math.floor, Ceil: Math.ceil,
  Round: Math.round, Negate: (x) => -x, Square: (x) => x * x, Delimiter: (x) => x, Sign: Math.sign,
  Degrees: (x) => (x * Math.PI) / 180,
};

function factorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) return Number.NaN;
  if (n > 170) return Number.POSITIVE_INFINITY;
  let r = 1;
  for (let i = 2; i <= n; i++) r *= i;
  return r;
}

/**
 * Real evaluation of MathJSON with doubles; NaN when the expression uses something unknown here
 * (the caller may then ask the engine). Work is bounded by the input size guards.
 */
export function evalReal(json: MathJson, env: Env = {}, depth = 0): number {
  if (depth > 300) return Number.NaN;
  if (typeof json === 'number') return json;
  if (typeof json === 'string') {
    switch (json) {
      case 'Pi': return Math.PI;
      case 'ExponentialE': return Math.E;
      case 'PositiveInfinity': return Number.POSITIVE_INFINITY;
      case 'NegativeInfinity': return Number.NEGATIVE_INFINITY;
      case 'Half': return 0.5;
      case 'NaN': return Number.NaN;
    }
    return json in env ? env[json]! : Number.NaN;
  }
  if (!Array.isArray(json)) return 'num' in json ? Number(json.num) : Number.NaN;
  const h = json[0];
  if (typeof h !== 'string') return Number.NaN;
  const a = json.slice(1);
  const ev = (x: MathJson) => evalReal(x, env, depth + 1);
  switch (h) {
    case 'Add': return a.reduce<number>((s, x) => s + ev(x), 0);
    case 'Subtract': return a.length === 1 ? -ev(a[0]!) : ev(a[0]!) - a.slice(1).reduce<number>((s, x) => s + ev(x), 0);
    case 'Multiply':
    case 'InvisibleOperator': return a.reduce<number>((s, x) => s * ev(x), 1);
    case 'Divide': return ev(a[0]!) / ev(a[1]!);
    case 'Rational': return a.length === 2 ? ev(a[0]!) / ev(a[1]!) : ev(a[0]!);
    case 'Power': return powReal(ev(a[0]!), ev(a[1]!));
    case 'Root': return powReal(ev(a[0]!), 1 / ev(a[1]!));
    case 'Log': return a.length === 2 ? Math.log(ev(a[0]!)) / Math.log(ev(a[1]!)) : Math.log10(ev(a[0]!));
    case 'Factorial': return factorial(ev(a[0]!));
    case 'Binomial': {
      const n = ev(a[0]!);
      const k = ev(a[1]!);
      return factorial(n) / (factorial(k) * factorial(n - k));
    }
    case 'Max': return Math.max(...a.map(ev));
    case 'Min': return Math.min(...a.map(ev));
    case 'Complex': return ev(a[1]!) === 0 ? ev(a[0]!) : Number.NaN;
    case 'Determinant': return determinant(a[0]!, env, depth);
    case 'Hold':
    case 'Parentheses': return ev(a[0]!);
  }
  const f = UNARY[h];
  if (f && a.length === 1) return f(ev(a[0]!));
  return Number.NaN;
}

function powReal(base: number, exp: number): number {
  const r = base ** exp;
  if (Number.isNaN(r) && base < 0) {
    // Real odd roots of negatives: (-8)^(1/3) = -2.
    const inv = 1 / exp;
    if (Number.isInteger(Math.round(inv)) && Math.abs(inv - Math.round(inv)) < 1e-9 && Math.round(inv) % 2 !== 0) {
      return -((-base) ** exp);
    }
  }
  return r;
}

function determinant(m: MathJson, env: Env, depth: number): number {
  const rows = matrixRows(m);
  if (!rows || rows.length === 0 || rows.some((r) => r.length !== rows.length) || rows.length > 6) return Number.NaN;
  const v = rows.map((r) => r.map((x) => evalReal(x, env, depth + 1)));
  const det = (mm: number[][]): number => {
    if (mm.length === 1) return mm[0]![0]!;
    let s = 0;
    for (let j = 0; j < mm.length; j++) {
      const minor = mm.slice(1).map((r) => r.filter((_, k) => k !== j));
      s += (j % 2 === 0 ? 1 : -1) * mm[0]![j]! * det(minor);
    }
    return s;
  };
  return det(v);
}

/** Rows of a Matrix / nested List, or null. */
export function matrixRows(json: MathJson): MathJson[][] | null {
  let m = json;
  if (head(m) === 'Matrix') m = args(m)[0]!;
  if (head(m) !== 'List') return null;
  const rows = args(m);
  if (rows.length === 0) return null;
  if (rows.every((r) => head(r) === 'List')) return rows.map((r) => args(r));
  return null;
}

/** Closed-form numeric value with doubles: real evaluation, else complex evaluation with a zero imaginary part (e^{iπ}); NaN otherwise. */
export function numericValue(json: MathJson): number {
  const v = evalReal(json);
  if (!Number.isNaN(v)) return v;
  if (freeSymbols(json).size > 0 || !(containsHead(json, 'Complex') || JSON.stringify(json).includes('ImaginaryUnit'))) return Number.NaN;
  const c = evalComplex(json);
  if (c && Number.isFinite(c[0]) && Math.abs(c[1]) < 1e-12 * Math.max(1, Math.abs(c[0]))) return c[0];
  return Number.NaN;
}

/** Deterministic sample points for symbolic comparison: positive, spread over [0.12, 3.1), away from 0 and 1. */
const SAMPLE_COUNT = 10;
function sampleValue(point: number, variable: number): number {
  // A fixed low-discrepancy sequence (golden-ratio steps), distinct per variable.
  const u = ((point + 1) * 0.6180339887498949 + (variable + 1) * 0.7548776662466927) % 1;
  return 0.12 + 2.98 * u;
}

/**
 * Numeric identity test of two scalar expressions with free symbols: evaluate at several points.
 * Returns 'equal' / 'different', or 'unknown' when too few points evaluate.
 */
/** Largest numeric exponent in the expression (x^{10^9} defeats sampling with doubles). */
export function maxExponent(json: MathJson, depth = 0): number {
  if (!Array.isArray(json) || depth > 200) return 0;
  let m = 0;
  if (json[0] === 'Power' && json.length === 3) {
    const e = evalReal(json[2]!);
    if (Number.isFinite(e)) m = Math.abs(e);
    else if (!Number.isNaN(e) && freeSymbols(json[2]!).size === 0) m = Number.POSITIVE_INFINITY;
  }
  for (let i = 1; i < json.length; i++) m = Math.max(m, maxExponent(json[i]!, depth + 1));
  return m;
}

export function compareSymbolic(
  a: MathJson,
  b: MathJson,
  close: (x: number, y: number) => boolean,
  symbols?: string[],
): 'equal' | 'different' | 'unknown' {
  const vars = symbols ?? [...new Set([...freeSymbols(a), ...freeSymbols(b)])].sort();
  if (vars.length > 12) return 'unknown';
  if (maxExponent(a) > 300 || maxExponent(b) > 300) return 'unknown';
  let valid = 0;
  // Non-analytic pieces (|x|, floor, sign, max/min) agree with an analytic look-alike on a whole
  // half-line: also sample negative and large points, or |x + 10| would pass for x + 10.
  const wide = NON_ANALYTIC.some((h) => containsHead(a, h) || containsHead(b, h));
  const points = wide ? 3 * SAMPLE_COUNT : SAMPLE_COUNT;
  for (let k = 0; k < points; k++) {
    const env: Env = {};
    vars.forEach((v, i) => {
      env[v] = k < SAMPLE_COUNT ? sampleValue(k, i) : wideSampleValue(k, i);
    });
    const va = evalReal(a, env);
    const vb = evalReal(b, env);
    if (!Number.isFinite(va) || !Number.isFinite(vb)) {
      if (Number.isFinite(va) !== Number.isFinite(vb) && !Number.isNaN(va) && !Number.isNaN(vb)) return 'different';
      continue;
    }
    valid++;
    if (!close(va, vb)) return 'different';
  }
  return valid >= 2 ? 'equal' : 'unknown';
}

const NON_ANALYTIC = ['Abs', 'Floor', 'Ceil', 'Round', 'Sign', 'Max', 'Min', 'Mod'];

/** Sample points spread over ±[0.3, 60], both signs (for expressions with non-analytic pieces). */
function wideSampleValue(point: number, variable: number): number {
  const u = sampleValue(point, variable) / 3.1;
  const sign = (point + variable) % 2 === 0 ? -1 : 1;
  return sign * (0.3 + 60 * u * u);
}

/** Values of an expression at the sample points (for ratio tests). */
export function sampleValues(json: MathJson, vars: string[]): number[] {
  return Array.from({ length: SAMPLE_COUNT }, (_, k) => {
    const env: Env = {};
    vars.forEach((v, i) => {
      env[v] = sampleValue(k, i);
    });
    return evalReal(json, env);
  });
}

/** The sample value of the first variable at a point (for linear solves). */
export function firstVariableSample(point: number): number {
  return sampleValue(point, 0);
}

/** Loads the engine now and warms its parser and our light path up (benchmarks of cold verification). */
export function warmUpCas(): void {
  computeEngine();
  parseLatex('\\frac{1}{2}+x');
  parseLatexCanonical('\\frac{1}{2}+\\sin(x)');
}

let bigEngine: ComputeEngine | null = null;

/**
 * Compares two constant expressions with 50-digit decimals when doubles cannot (10^{-400} vs 0,
 * 2^{1001} vs 2^{1002}, signs of huge powers). Factorials and nested towers beyond 10^12 in an
 * exponent are left undecided: the engine is synchronous and cannot be interrupted.
 */
export function bigNumericCompare(a: MathJson, b: MathJson, relTol: number, exact = false): 'equal' | 'different' | 'unknown' {
  for (const j of [a, b]) {
    if (containsHead(j, 'Factorial') || containsHead(j, 'Binomial') || containsHead(j, 'Factorial2')) return 'unknown';
    if (!exponentsBounded(j)) return 'unknown';
  }
  // Exact answers: enough digits that the magnitudes involved cannot hide a difference
  // (10^{400}√2 against 10^{400}√2 + 1), and a tolerance only at the level of the rounding.
  let precision = 50;
  if (exact) {
    const digits = Math.max(magnitudeDigits(a), magnitudeDigits(b));
    if (!Number.isFinite(digits) || digits > 4000) return 'unknown';
    precision = 60 + Math.ceil(digits);
  }
  try {
    bigEngine ??= new (computeEngine().ComputeEngine)();
    bigEngine.precision = precision;
    const x = bigEngine.box(a as never).N();
    const y = bigEngine.box(b as never).N();
    const big = (e: typeof x) => e.bignumRe ?? (typeof e.re === 'number' && Number.isFinite(e.re) ? bigEngine!.bignum(e.re) : undefined);
    const xr = big(x);
    const yr = big(y);
    if (!xr || !yr || !xr.isFinite() || !yr.isFinite()) return 'unknown';
    if ((x.im ?? 0) !== 0 || (y.im ?? 0) !== 0) return 'unknown';
    const diff = xr.sub(yr).abs();
    if (diff.isZero()) return 'equal';
    const scale = xr.abs().gt(yr.abs()) ? xr.abs() : yr.abs();
    const tol = exact ? scale.div(bigEngine.bignum(10).pow(precision - 15)) : scale.mul(relTol);
    return diff.lte(tol) ? 'equal' : 'different';
  } catch {
    return 'unknown';
  }
}

/** Decimal digits the magnitudes in an expression can reach (|log10| of literals and powers); Infinity when unknown. */
function magnitudeDigits(json: MathJson, depth = 0): number {
  if (depth > 200) return Number.POSITIVE_INFINITY;
  if (typeof json === 'number') return json === 0 || !Number.isFinite(json) ? 0 : Math.abs(Math.log10(Math.abs(json)));
  if (!Array.isArray(json)) return json && typeof json === 'object' && 'num' in json ? json.num.length : 0;
  let m = 0;
  if (json[0] === 'Power' && json.length === 3) {
    const b = evalReal(json[1]!);
    const e = evalReal(json[2]!);
    if (Number.isFinite(e) && Number.isFinite(b) && b !== 0) m = Math.abs(e * Math.log10(Math.abs(b)));
    else if (!Number.isNaN(e) || !Number.isNaN(b)) m = Math.abs(e) * Math.max(1, magnitudeDigits(json[1]!, depth + 1));
  }
  for (let i = 1; i < json.length; i++) m = Math.max(m, magnitudeDigits(json[i]!, depth + 1));
  return m;
}

function exponentsBounded(json: MathJson, depth = 0): boolean {
  if (!Array.isArray(json) || depth > 200) return true;
  if (json[0] === 'Power' && json.length === 3) {
    const e = evalReal(json[2]!);
    if (!Number.isFinite(e) || Math.abs(e) > 1e12 || containsHead(json[2]!, 'Power')) {
      if (!(Number.isFinite(e) && Math.abs(e) <= 1e12)) return false;
    }
  }
  for (let i = 1; i < json.length; i++) if (!exponentsBounded(json[i]!, depth + 1)) return false;
  return true;
}

export type ComplexValue = readonly [re: number, im: number];

const cx = {
  add: (a: ComplexValue, b: ComplexValue): ComplexValue => [a[0] + b[0], a[1] + b[1]],
  mul: (a: ComplexValue, b: ComplexValue): ComplexValue => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]],
  div: (a: ComplexValue, b: ComplexValue): ComplexValue => {
    const d = b[0] * b[0] + b[1] * b[1];
    return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
  },
  exp: (a: ComplexValue): ComplexValue => {
    const m = Math.exp(a[0]);
    return [m * Math.cos(a[1]), m * Math.sin(a[1])];
  },
  log: (a: ComplexValue): ComplexValue => [Math.log(Math.hypot(a[0], a[1])), Math.atan2(a[1], a[0])],
};

function powComplex(b: ComplexValue, e: ComplexValue): ComplexValue {
  if (e[1] === 0 && Number.isInteger(e[0]) && Math.abs(e[0]) <= 64) {
    let r: ComplexValue = [1, 0];
    for (let k = 0; k < Math.abs(e[0]); k++) r = cx.mul(r, b);
    return e[0] < 0 ? cx.div([1, 0], r) : r;
  }
  if (b[0] === 0 && b[1] === 0) return [0, 0];
  return cx.exp(cx.mul(e, cx.log(b)));
}

/**
 * Complex evaluation of a constant expression (principal branches): a + bi, polar and exponential
 * forms, quotients and unexpanded products. Null when something is not known here.
 */
export function evalComplex(json: MathJson, depth = 0): ComplexValue | null {
  if (depth > 200) return null;
  if (typeof json === 'number') return [json, 0];
  if (typeof json === 'string') {
    if (json === 'ImaginaryUnit') return [0, 1];
    const v = evalReal(json);
    return Number.isNaN(v) ? null : [v, 0];
  }
  if (!Array.isArray(json)) return 'num' in json ? [Number(json.num), 0] : null;
  const h = json[0];
  const a = json.slice(1).map((x) => evalComplex(x, depth + 1));
  if (a.some((x) => x === null)) return null;
  const v = a as ComplexValue[];
  switch (h) {
    case 'Complex': return v.length === 2 ? [v[0]![0] - v[1]![1], v[0]![1] + v[1]![0]] : null;
    case 'Add': return v.reduce(cx.add, [0, 0]);
    case 'Subtract': return v.length === 1 ? [-v[0]![0], -v[0]![1]] : cx.add(v[0]!, [-(v.slice(1).reduce(cx.add, [0, 0])[0]), -(v.slice(1).reduce(cx.add, [0, 0])[1])]);
    case 'Negate': return [-v[0]![0], -v[0]![1]];
    case 'Multiply':
    case 'InvisibleOperator': return v.reduce(cx.mul, [1, 0]);
    case 'Divide':
    case 'Rational': return v.length === 2 ? cx.div(v[0]!, v[1]!) : null;
    case 'Power': return powComplex(v[0]!, v[1]!);
    case 'Sqrt': return powComplex(v[0]!, [0.5, 0]);
    case 'Root': return powComplex(v[0]!, cx.div([1, 0], v[1]!));
    case 'Exp': return cx.exp(v[0]!);
    case 'Ln': return cx.log(v[0]!);
    case 'Abs': return [Math.hypot(v[0]![0], v[0]![1]), 0];
    case 'Arg': return [Math.atan2(v[0]![1], v[0]![0]), 0];
    case 'Real': return [v[0]![0], 0];
    case 'Imaginary': return [v[0]![1], 0];
    case 'Conjugate': return [v[0]![0], -v[0]![1]];
    case 'Delimiter':
    case 'Parentheses':
    case 'Hold': return v.length >= 1 ? v[0]! : null;
  }
  // Real functions of real arguments (cos π/3 inside a polar form).
  if (v.every((x) => x[1] === 0)) {
    const r = evalReal([h as string, ...v.map((x) => x[0])] as MathJson);
    return Number.isNaN(r) ? null : [r, 0];
  }
  return null;
}
