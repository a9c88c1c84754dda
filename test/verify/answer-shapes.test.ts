/**
 * Property-style tests for answer shapes found failing on unseen answers (issue 13, second pass):
 * each generates many members of a class from a seeded generator and checks both directions where
 * the relation is symmetric. Written from the class descriptions, not from suite cases.
 */
import { describe, expect, it } from 'vitest';
import { extractFreeTextAnswer } from '../../pipelines/verify/free-text-answer.js';
import { compareMath, mathText, toMathJson } from '../../pipelines/verify/math.js';
import { parseNumber } from '../../pipelines/verify/numbers.js';
import { verify } from '../../pipelines/verify/index.js';
import { mulberry32, shuffled } from '../../pipelines/shared/random.js';

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const shuffle = <T>(r: () => number, xs: readonly T[]): T[] => shuffled(xs, r);
const distinct = (r: () => number, n: number, lo: number, hi: number): number[] => {
  const s = new Set<number>();
  while (s.size < n) s.add(int(r, lo, hi));
  return [...s];
};

const MATH = { relTol: 1e-6, exactWhenExact: true };
const kind = (p: string, g: string) => compareMath(p, g, MATH).kind;
function both(a: string, b: string, want: 'equal' | 'different'): void {
  expect(kind(a, b), `${a}  vs gold  ${b}`).toBe(want);
  expect(kind(b, a), `${b}  vs gold  ${a}`).toBe(want);
}
const accepts = (c: string) => parseNumber(c) !== null || toMathJson(mathText(c, true)) !== null;
const extract = (text: string) => extractFreeTextAnswer(text, { latex: true, expr: true, accepts });

const N = 40;

describe('free-text extraction', () => {
  it('numbers inside Chinese prose (no spaces around them): the last one is the answer', async () => {
    const r = mulberry32(101);
    const nouns = ['颗弹珠', '个苹果', '本书', '元', '名学生', '只猫'];
    for (let k = 0; k < N; k++) {
      const [a, b, c] = distinct(r, 3, 2, 999) as [number, number, number];
      const noun = pick(r, nouns);
      const text = pick(r, [
        `小明有${a}${noun}，又买了${b}${noun}。1. **计算**：${a} + ${b} = ${c}${noun} 2. **结论**：一共有${c}${noun}。`,
        `首先，每组${a}${noun}，共${b}组。所以总数是${c}${noun}。`,
        `答：他们共有${c}${noun}`,
      ]);
      expect(extract(text), text).toBe(String(c));
      const res = await verify({ domain: 'math', response: text, groundTruth: String(c), format: 'lenient' });
      expect(res.score, `${text}: ${res.reason}`).toBe(1);
      const wrong = await verify({ domain: 'math', response: text, groundTruth: String(c + 1), format: 'lenient' });
      expect(wrong.score).toBe(0);
    }
  });

  it('numbers side by side are separate values: the last one is taken, never a product or a join', () => {
    const r = mulberry32(102);
    for (let k = 0; k < N; k++) {
      const d = int(r, 3, 12);
      const w = int(r, 1, 30);
      const n = int(r, 1, d - 1);
      const last = int(r, 1, 99);
      expect(extract(`${w} ${n}/${d} ${last}`)).toBe(String(last));
      expect(extract(`${w} ${last}`)).toBe(String(last));
      // A mixed number (also with thousands groups) alone stays one value.
      const thousands = `${int(r, 1, 9)} ${String(int(r, 0, 999)).padStart(3, '0')}`;
      expect(extract(`${thousands} ${n}/${d}`)).toBe(`${thousands.replace(' ', '')} ${n}/${d}`);
      expect(extract(`${w} ${n}/${d}`)).toBe(`${w} ${n}/${d}`);
    }
  });

  it('boxes joined only by separators are one list answer; an escaped-twice or unclosed box still counts', () => {
    const r = mulberry32(103);
    for (let k = 0; k < N; k++) {
      const xs = distinct(r, int(r, 2, 4), -50, 50);
      const sep = () => pick(r, [', ', ' and ', ',', ', and ', ' or ']);
      let text = `\\boxed{${xs[0]}}`;
      for (const x of xs.slice(1)) text += `${sep()}\\boxed{${x}}`;
      const lead = pick(r, ['The solutions are ', 'So ', '']);
      const got = extract(lead + text);
      const gold = pick(r, [`$\\{${shuffle(r, xs).join(', ')}\\}$`, `$${shuffle(r, xs).join(',')}$`]);
      const g = extract(gold);
      expect(compareMath(got!, g!, MATH).kind, `${text} vs ${gold}`).toBe('equal');
      expect(compareMath(got!, extract(`$\\{${[...xs.slice(1), xs[0]! + 1].join(', ')}\\}$`)!, MATH).kind).toBe('different');
      // Separated by prose, only the last box is the answer.
      expect(extract(`First \\boxed{${xs[0]}}; on reflection that is wrong, so \\boxed{${xs[1]}}`)).toBe(String(xs[1]));
      // Text escaped twice (\\frac) and a box left open at the end of the text.
      const [p, q] = [int(r, 1, 9), int(r, 11, 19)];
      const escaped = extract(`so \\\\boxed{\\\\frac{${p}}{${q}}`);
      expect(compareMath(escaped!, `\\frac{${2 * p}}{${2 * q}}`, MATH).kind, String(escaped)).toBe('equal');
    }
  });
});

describe('solution sets', () => {
  it('a repeated item does not change a solution set; a gold that repeats (a double root) keeps the count', () => {
    const r = mulberry32(104);
    for (let k = 0; k < N; k++) {
      const tuples = distinct(r, int(r, 2, 5), 1, 60).map((a) => `(${a}, ${int(r, -9, 9)})`);
      const gold = tuples.join(', ');
      const dup = pick(r, tuples).replace(', ', ',');
      const pred = shuffle(r, [...tuples, dup]).join(', ');
      expect(kind(pred, gold), `${pred} vs ${gold}`).toBe('equal');
      const missing = shuffle(r, [...tuples.slice(1), dup === tuples[0]!.replace(', ', ',') ? tuples[1]! : dup]).join(', ');
      expect(kind(missing, gold), `${missing} vs ${gold}`).toBe('different');
      const root = int(r, -9, 9);
      expect(kind(`${root}`, `${root}, ${root}`)).toBe('different');
    }
  });

  it('groups of labelled assignments equal the list of tuples, in any group and label order', () => {
    const r = mulberry32(105);
    const labelSets = [['p', 'q'], ['x', 'y'], ['a', 'b', 'c'], ['m', 'n'], ['x_1', 'x_2']];
    for (let k = 0; k < N; k++) {
      const labels = pick(r, labelSets);
      const groups = Array.from({ length: int(r, 2, 3) }, (_, i) => labels.map((_, j) => (j === 0 ? i * 10 + int(r, 1, 9) : int(r, -20, 20))));
      const write = (g: number[]) => shuffle(r, labels.map((l, j) => `${l} = ${g[j]}`)).join(pick(r, [', ', ',']));
      const labelled = shuffle(r, groups).map(write).join(pick(r, ['; ', ';', ' and ', ' \\text{ or } ', ' \\quad \\text{and} \\quad ']));
      const tuples = shuffle(r, groups).map((g) => `(${g.join(', ')})`).join(', ');
      both(labelled, tuples, 'equal');
      const other = shuffle(r, groups).map(write).join('; ');
      both(labelled, other, 'equal');
      const changed = groups.map((g, i) => (i === 0 ? g.map((v, j) => (j === labels.length - 1 ? v + 1 : v)) : g));
      both(labelled, changed.map((g) => `(${g.join(', ')})`).join(', '), 'different');
    }
  });
});

describe('ranges and absolute-value conditions', () => {
  const fmt = (v: number) => (v < 0 ? `-${-v}` : String(v));
  it('a bound on a function value (0 < f(x) < 1) is the interval of its values', () => {
    const r = mulberry32(106);
    for (let k = 0; k < N; k++) {
      const [a, b] = distinct(r, 2, -20, 20).sort((x, y) => x - y) as [number, number];
      const f = pick(r, ['f(x)', 'g(t)', 'h(n)', 'f(n)']); // y(x) reads as a product (plainToLatex): only f, g, h name functions
      const [lo, hi] = [pick(r, ['<', '\\le']), pick(r, ['<', '\\le'])];
      const gold = `${fmt(a)} ${lo} ${f} ${hi} ${fmt(b)}`;
      const interval = `${lo === '<' ? '(' : '['}${fmt(a)}, ${fmt(b)}${hi === '<' ? ')' : ']'}`;
      expect(kind(interval, gold), `${interval} vs ${gold}`).toBe('equal');
      const wrong = `${lo === '<' ? '[' : '('}${fmt(a)}, ${fmt(b)}${hi === '<' ? ')' : ']'}`;
      expect(kind(wrong, gold), `${wrong} vs ${gold}`).toBe('different');
    }
  });

  it('conditions on |ax + b| equal the union of intervals they describe', () => {
    const r = mulberry32(107);
    for (let k = 0; k < N; k++) {
      const c = int(r, -9, 9);
      const [m, M] = [int(r, 1, 5), int(r, 6, 12)];
      const v = pick(r, ['x', 'z', 't']);
      const arg = c === 0 ? v : `${v} ${c < 0 ? '-' : '+'} ${Math.abs(c)}`;
      const [o1, o2] = [pick(r, ['<', '\\le']), pick(r, ['<', '\\le'])];
      const gold = `${m} ${o1} |${arg}| ${o2} ${M}`;
      // m < |x + c| < M  ⇔  x ∈ (−M − c, −m − c) ∪ (m − c, M − c)
      const L = (open: boolean) => (open ? '(' : '[');
      const R = (open: boolean) => (open ? ')' : ']');
      const s1 = o1 === '<';
      const s2 = o2 === '<';
      const union = `${L(s2)}${fmt(-M - c)}, ${fmt(-m - c)}${R(s1)} \\cup ${L(s1)}${fmt(m - c)}, ${fmt(M - c)}${R(s2)}`;
      expect(kind(union, gold), `${union} vs ${gold}`).toBe('equal');
      expect(kind(`${v} \\in ${union}`, gold)).toBe('equal');
      const shifted = `${L(s2)}${fmt(-M - c)}, ${fmt(-m - c)}${R(s1)} \\cup ${L(s1)}${fmt(m - c + 1)}, ${fmt(M - c)}${R(s2)}`;
      expect(kind(shifted, gold), `${shifted} vs ${gold}`).toBe('different');
      const inner = `|${arg}| ${o2} ${M}`;
      expect(kind(`${L(s2)}${fmt(-M - c)}, ${fmt(M - c)}${R(s2)}`, inner)).toBe('equal');
      expect(kind(`${L(s2)}${fmt(-M - c)}, ${fmt(M - c + 1)}${R(s2)}`, inner)).toBe('different');
    }
  });
});

describe('approximations written after the exact value', () => {
  it('"exact ≈ rounded" is the exact value; its rounding counts only against a decimal gold', () => {
    const r = mulberry32(108);
    for (let k = 0; k < N; k++) {
      const p = int(r, 1, 40);
      const q = pick(r, [3, 7, 11, 13]);
      const exact = pick(r, [`\\frac{${p}}{${q}}`, `\\sqrt{${q}}`, `${p}\\pi`]);
      const value = exact.startsWith('\\frac') ? p / q : exact.startsWith('\\sqrt') ? Math.sqrt(q) : p * Math.PI;
      const digits = int(r, 2, 4);
      const rounded = value.toFixed(digits);
      const pred = `${exact} ${pick(r, ['\\approx', '≈'])} ${rounded}`;
      expect(kind(pred, exact), pred).toBe('equal');
      expect(kind(pred, rounded), pred).toBe('equal');
      expect(kind(pred, (value + 1).toFixed(digits)), pred).toBe('different');
      expect(kind(pred, `\\frac{${p + 1}}{${q + 1}}`), pred).toBe('different');
    }
  });
});

describe('exact answers compare exactly, at any size', () => {
  it('big integers and powers: a difference of 1 is a difference, rewritings are equal', () => {
    const r = mulberry32(109);
    for (let k = 0; k < N; k++) {
      const e = int(r, 320, 1500);
      const c = int(r, 1, 999);
      both(`10^{${e}} + ${c}`, `10^{${e}} + ${c + 1}`, 'different');
      both(`10^{${e}} + ${c}`, `10^{${e}}`, 'different');
      both(`10^{${e}} + ${c}`, `${c} + 10 \\cdot 10^{${e - 1}}`, 'equal');
      const a = int(r, 2, 9);
      const n = Math.ceil(320 / Math.log10(a)) + int(r, 0, 300);
      both(`${a}^{${n}}`, `${a}^{${n}} - 1`, 'different');
      both(`${a}^{${n}}`, `${a} \\cdot ${a}^{${n - 1}}`, 'equal');
      both(`\\frac{${a}^{${n}} + 1}{${a}^{${n}}}`, '1', 'different');
      both(`10^{-${e}}`, `\\frac{1}{10^{${e}}}`, 'equal');
    }
  });

  it('rationals that agree with another value to many digits are still different values', () => {
    const r = mulberry32(110);
    for (let k = 0; k < N; k++) {
      const p = int(r, 1, 50);
      const q = pick(r, [3, 7, 9, 11, 13, 17]);
      const d = int(r, 9, 15);
      const scale = 10n ** BigInt(d);
      const approx = (BigInt(p) * scale) / BigInt(q);
      if (p % q !== 0) both(`\\frac{${approx}}{${scale}}`, `\\frac{${p}}{${q}}`, 'different');
      both(`\\frac{${p * d}}{${q * d}}`, `\\frac{${p}}{${q}}`, 'equal');
      let b = int(r, 2, 90);
      while (Number.isInteger(Math.sqrt(b))) b++;
      const root = BigInt(Math.round(Math.sqrt(b) * 1e12));
      both(`\\frac{${root}}{1000000000000}`, `\\sqrt{${b}}`, 'different');
      const e = int(r, 320, 600);
      both(`10^{${e}}\\sqrt{${b}}`, `10^{${e}}\\sqrt{${b}} + 1`, 'different');
      both(`10^{${e}}\\sqrt{${4 * b}}`, `2 \\cdot 10^{${e}}\\sqrt{${b}}`, 'equal');
    }
  });
});

describe('vectors', () => {
  it('a column or row vector equals the tuple of its entries, not a reordering, another vector or a set', () => {
    const r = mulberry32(111);
    for (let k = 0; k < N; k++) {
      const xs = distinct(r, int(r, 2, 4), -20, 20).map((x) => pick(r, [String(x), `\\frac{${2 * x}}{2}`]));
      const col = `\\begin{pmatrix} ${xs.join(' \\\\ ')} \\end{pmatrix}`;
      const row = `\\begin{bmatrix} ${xs.join(' & ')} \\end{bmatrix}`;
      const tuple = `(${xs.join(', ')})`;
      both(col, tuple, 'equal');
      both(row, tuple, 'equal');
      const swapped = `(${[xs[1], xs[0], ...xs.slice(2)].join(', ')})`;
      both(col, swapped, 'different');
      both(col, `(${[...xs.slice(0, -1), `${xs[xs.length - 1]} + 1`].join(', ')})`, 'different');
      expect(kind(col, `\\{${xs.join(', ')}\\}`)).not.toBe('equal');
    }
  });
});
