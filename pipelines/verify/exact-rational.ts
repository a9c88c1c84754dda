/**
 * Exact rational values of constant expressions with big integers: literals, + − × ÷, integer
 * powers and perfect roots. Two exact answers compare exactly here (10^{400} ≠ 10^{400} + 1,
 * 1/3 ≠ 333333333/10^9), with no rounding of doubles and no tolerance. Anything else (π, √2,
 * functions, symbols) has no rational value: null.
 */
import type { MathJson } from './cas.js';

export interface Rational {
  n: bigint;
  /** Always positive; n/d is in lowest terms. */
  d: bigint;
}

/** Results are bounded (a huge power costs time and memory): about 2^MAX_BITS. */
const MAX_BITS = 60_000;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function make(n: bigint, d: bigint): Rational | null {
  if (d === 0n) return null;
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

function bits(x: bigint): number {
  return (x < 0n ? -x : x).toString(16).length * 4;
}

/** "12.5e-3", "1e21", "-0.25": a decimal literal as an exact rational. */
function fromDecimalText(text: string): Rational | null {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text.trim());
  if (!m || (m[2] === '' && !m[3])) return null;
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? 0) - frac.length;
  if (Math.abs(exp) > 400) return null;
  let n = BigInt(`${m[2] || '0'}${frac}`);
  if (m[1] === '-') n = -n;
  return exp >= 0 ? make(n * 10n ** BigInt(exp), 1n) : make(n, 10n ** BigInt(-exp));
}

function add(a: Rational, b: Rational): Rational | null {
  return make(a.n * b.d + b.n * a.d, a.d * b.d);
}

function mul(a: Rational, b: Rational): Rational | null {
  return make(a.n * b.n, a.d * b.d);
}

function pow(a: Rational, e: Rational): Rational | null {
  if (e.d !== 1n) {
    // a^(p/q): exact only when a is a perfect q-th power.
    if (e.d > 64n) return null;
    const root = rootExact(a, Number(e.d));
    return root ? pow(root, { n: e.n, d: 1n }) : null;
  }
  const k = e.n < 0n ? -e.n : e.n;
  if (a.n === 0n) return e.n < 0n ? null : k === 0n ? { n: 1n, d: 1n } : { n: 0n, d: 1n };
  if ((a.n === 1n || a.n === -1n) && a.d === 1n) return { n: a.n === -1n && k % 2n === 1n ? -1n : 1n, d: 1n };
  if (Number(k) * Math.max(bits(a.n), bits(a.d)) > MAX_BITS) return null;
  const n = a.n ** k;
  const d = a.d ** k;
  return e.n < 0n ? make(d, n) : { n, d };
}

function intRoot(x: bigint, q: number): bigint | null {
  if (x < 0n) return q % 2 === 1 ? (() => { const r = intRoot(-x, q); return r === null ? null : -r; })() : null;
  if (x < 2n) return x;
  // Newton's method from an estimate above the root.
  let r = 1n << BigInt(Math.ceil(bits(x) / q) + 1);
  const Q = BigInt(q);
  for (;;) {
    const next = ((Q - 1n) * r + x / r ** (Q - 1n)) / Q;
    if (next >= r) break;
    r = next;
  }
  return r ** Q === x ? r : null;
}

function rootExact(a: Rational, q: number): Rational | null {
  const n = intRoot(a.n, q);
  const d = intRoot(a.d, q);
  return n === null || d === null ? null : { n, d };
}

/** The exact value of a constant expression, or null when it has none here. */
export function rationalValue(j: MathJson, depth = 0): Rational | null {
  if (depth > 100) return null;
  if (typeof j === 'number') {
    if (!Number.isFinite(j)) return null;
    return Number.isInteger(j) && Number.isSafeInteger(j) ? { n: BigInt(j), d: 1n } : fromDecimalText(String(j));
  }
  if (typeof j === 'string') return j === 'Half' ? { n: 1n, d: 2n } : null;
  if (!Array.isArray(j)) return 'num' in j ? fromDecimalText(j.num) : null;
  const h = j[0];
  const a = j.slice(1);
  const ev = (x: MathJson) => rationalValue(x, depth + 1);
  switch (h) {
    case 'Add': {
      let s: Rational | null = { n: 0n, d: 1n };
      for (const x of a) {
        const v = ev(x);
        if (!v || !s) return null;
        s = add(s, v);
      }
      return s;
    }
    case 'Subtract': {
      const vs = a.map(ev);
      if (vs.some((v) => !v) || vs.length === 0) return null;
      if (vs.length === 1) return { n: -vs[0]!.n, d: vs[0]!.d };
      let s: Rational | null = vs[0]!;
      for (const v of vs.slice(1)) s = s && add(s, { n: -v!.n, d: v!.d });
      return s;
    }
    case 'Negate': {
      const v = a.length === 1 ? ev(a[0]!) : null;
      return v ? { n: -v.n, d: v.d } : null;
    }
    case 'Multiply': {
      let s: Rational | null = { n: 1n, d: 1n };
      for (const x of a) {
        const v = ev(x);
        if (!v || !s) return null;
        s = mul(s, v);
        if (s && bits(s.n) + bits(s.d) > 2 * MAX_BITS) return null;
      }
      return s;
    }
    case 'Divide':
    case 'Rational': {
      if (a.length !== 2) return a.length === 1 ? ev(a[0]!) : null;
      const x = ev(a[0]!);
      const y = ev(a[1]!);
      return x && y && y.n !== 0n ? mul(x, { n: y.d, d: y.n }) : null;
    }
    case 'Power': {
      if (a.length !== 2) return null;
      const b = ev(a[0]!);
      const e = ev(a[1]!);
      return b && e ? pow(b, e) : null;
    }
    case 'Sqrt': {
      const v = a.length === 1 ? ev(a[0]!) : null;
      return v && v.n >= 0n ? rootExact(v, 2) : null;
    }
    case 'Root': {
      const v = a.length === 2 ? ev(a[0]!) : null;
      const q = a.length === 2 ? ev(a[1]!) : null;
      if (!v || !q || q.d !== 1n || q.n < 1n || q.n > 64n) return null;
      return rootExact(v, Number(q.n));
    }
    case 'Delimiter':
    case 'Parentheses':
    case 'Hold':
      return a.length === 1 ? ev(a[0]!) : null;
  }
  return null;
}

export function rationalEqual(a: Rational, b: Rational): boolean {
  return a.n === b.n && a.d === b.d;
}
