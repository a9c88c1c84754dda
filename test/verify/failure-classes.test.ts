/**
 * Property-style tests for the failure classes of issue 13: each test generates many members of a
 * class from a seeded generator (written from the class description, not from any suite file) and
 * checks both directions (prediction ↔ ground truth) for equivalent and non-equivalent rewritings.
 */
import { describe, expect, it } from 'vitest';
import { extractChoiceLetter } from '../../pipelines/verify/choice.js';
import { extractAnswer } from '../../pipelines/verify/format.js';
import { parseArithmetic } from '../../pipelines/verify/arith-parse.js';
import { clearParseCache, evalReal, parseLatex, parseLatexCanonical } from '../../pipelines/verify/cas.js';
import { compareMathJson } from '../../pipelines/verify/math-equivalence.js';
import { compareMath } from '../../pipelines/verify/math.js';
import { isUndecided, verify } from '../../pipelines/verify/index.js';
import { mulberry32, shuffled } from '../../pipelines/shared/random.js';

/** Seeded so failures reproduce. */
const rng = mulberry32;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const shuffle = <T>(r: () => number, xs: readonly T[]): T[] => shuffled(xs, r);

const MATH = { relTol: 1e-6, exactWhenExact: true };
const kind = (p: string, g: string, extra: Record<string, unknown> = {}) => compareMath(p, g, { ...MATH, ...extra }).kind;
/** Asserts the verdict in both directions, naming the pair on failure. */
function both(a: string, b: string, want: 'equal' | 'different', extra: Record<string, unknown> = {}): void {
  expect(kind(a, b, extra), `${a}  vs gold  ${b}`).toBe(want);
  expect(kind(b, a, extra), `${b}  vs gold  ${a}`).toBe(want);
}

const N = 40;

describe('exact vs tolerant numbers', () => {
  it('integers: equal only when equal, at any size and with separators', () => {
    const r = rng(1);
    for (let k = 0; k < N; k++) {
      const digits = int(r, 4, 24);
      let s = String(int(r, 1, 9));
      for (let i = 1; i < digits; i++) s += String(int(r, 0, 9));
      const n = BigInt(s);
      const sep = n.toLocaleString('en-US');
      both(sep, s, 'equal');
      both(String(n + 1n), s, 'different');
      both(String(n - 1n), sep, 'different');
    }
  });

  it('decimal approximations of irrational closed forms are not the closed form', () => {
    const r = rng(2);
    for (let k = 0; k < N; k++) {
      let b = int(r, 2, 200);
      while (Number.isInteger(Math.sqrt(b))) b++;
      const v = Math.sqrt(b);
      const digits = int(r, 3, 9);
      // An exact gold is not met by a decimal; a decimal gold (a rounded value) is met by the exact form.
      // (A decimal that happens to agree to 12+ significant digits counts as the exact value.)
      const agrees = Math.abs(Number(v.toFixed(digits)) - v) <= 1e-12 * v;
      expect(kind(v.toFixed(digits), `\\sqrt{${b}}`)).toBe(agrees ? 'equal' : 'different');
      const rounded = Number(v.toFixed(digits));
      const within = Math.abs(v - rounded) / (Math.abs(rounded) + 1e-6) < 1e-6;
      expect(kind(`\\sqrt{${b}}`, v.toFixed(digits))).toBe(within ? 'equal' : 'different');
      const m = int(r, 1, 9);
      expect(kind((Math.PI * m).toFixed(digits), m === 1 ? '\\pi' : `${m}\\pi`)).toBe('different');
    }
  });

  it('closed forms rewritten exactly are equal (radicals, fractions, powers)', () => {
    const r = rng(3);
    for (let k = 0; k < N; k++) {
      const a = int(r, 2, 12);
      let b = int(r, 2, 30);
      while ([4, 9, 16, 25].some((q) => b % q === 0)) b++;
      both(`${a}\\sqrt{${b}}`, `\\sqrt{${a * a * b}}`, 'equal');
      both(`${a + 1}\\sqrt{${b}}`, `\\sqrt{${a * a * b}}`, 'different');
      const p = int(r, 1, 50);
      const q = int(r, 2, 60);
      both(`\\frac{${p * 3}}{${q * 3}}`, `${p}/${q}`, 'equal');
      both(`\\frac{${p + q}}{${q}}`, `1+\\frac{${p}}{${q}}`, 'equal');
    }
  });

  it('fractions equal decimals only where the decimal is exact', () => {
    const r = rng(4);
    for (let k = 0; k < N; k++) {
      const q = pick(r, [2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 125]);
      const p = int(r, 1, 3 * q);
      both(`\\frac{${p}}{${q}}`, String(p / q), 'equal');
      const q2 = pick(r, [3, 6, 7, 9, 11, 12, 13, 15, 21]);
      const p2 = int(r, 1, 5 * q2);
      if (Number.isInteger(p2 / q2) || (p2 / q2) * 1e6 === Math.round((p2 / q2) * 1e6)) continue;
      expect(kind((p2 / q2).toFixed(int(r, 3, 7)), `\\frac{${p2}}{${q2}}`)).toBe('different');
      expect(kind(`${p2}/${q2}`, `\\frac{${p2 + 1}}{${q2}}`)).toBe('different');
    }
  });

  it('a decimal gold keeps the relative tolerance', () => {
    const r = rng(5);
    for (let k = 0; k < N; k++) {
      const g = (r() * 1000 + 1).toFixed(4);
      const near = (Number(g) * (1 + 2e-7)).toPrecision(12);
      const far = (Number(g) * (1 + 1e-4)).toPrecision(12);
      expect(kind(near, g), `${near} vs ${g}`).toBe('equal');
      expect(kind(far, g), `${far} vs ${g}`).toBe('different');
    }
  });

  it('underflow and overflow never decide: tiny powers are not 0, huge powers keep their sign and size', () => {
    const r = rng(6);
    for (let k = 0; k < 12; k++) {
      const e = int(r, 330, 900);
      both(`10^{-${e}}`, '0', 'different');
      both(`10^{-${e}}`, `10^{-${e + 1}}`, 'different');
      const n = int(r, 1030, 2000) | 1;
      both(`(-2)^{${n}}`, `-2^{${n}}`, 'equal');
      both(`(-2)^{${n}}`, `2^{${n}}`, 'different');
      both(`2^{${n}}`, `2^{${n + 1}}`, 'different');
      both(`2^{${n + 1}}`, `2\\cdot 2^{${n}}`, 'equal');
    }
  });
});

describe('± and solution lists', () => {
  const roots = (a: number, b: number) => [`${a}+\\sqrt{${b}}`, `${a}-\\sqrt{${b}}`];
  it('a ± gold equals its roots written out in any order and form, and the reverse', () => {
    const r = rng(7);
    for (let k = 0; k < N; k++) {
      const a = int(r, -9, 9);
      let b = int(r, 2, 40);
      while (Number.isInteger(Math.sqrt(b))) b++;
      const gold = pick(r, [`${a} \\pm \\sqrt{${b}}`, `x = ${a} \\pm \\sqrt{${b}}`]);
      const [p1, p2] = shuffle(r, roots(a, b));
      const forms = [
        `${p1}, ${p2}`,
        `x = ${p1} \\text{ or } x = ${p2}`,
        `x = ${p1} or x = ${p2}`,
        `\\{${p1}, ${p2}\\}`,
        `x_1 = ${p1}, x_2 = ${p2}`,
      ];
      const pred = pick(r, forms);
      both(pred, gold, 'equal');
      // One wrong root, or one missing: different.
      both(`${p1}, ${a + 1}-\\sqrt{${b}}`.replace(`${a + 1}-`, `${a + 1}-`), gold.replace('\\pm', '+'), 'different');
      both(p1!, `${p1}, ${p2}`, 'different');
    }
  });

  it('plain ± of a number against a braced set or list', () => {
    const r = rng(8);
    for (let k = 0; k < N; k++) {
      const v = int(r, 1, 5000);
      const [x, y] = shuffle(r, [String(v), String(-v)]);
      both(`\\pm ${v}`, pick(r, [`\\{${x}, ${y}\\}`, `${x}, ${y}`, `${x} \\text{ or } ${y}`]), 'equal');
      both(`\\pm ${v}`, `\\{${v}, ${v + 1}\\}`, 'different');
    }
  });
});

describe('complex numbers in other forms', () => {
  const cplx = (re: number, im: number) => (im === 0 ? String(re) : `${re === 0 ? '' : re}${im < 0 ? '-' : re === 0 ? '' : '+'}${Math.abs(im) === 1 ? '' : Math.abs(im)}i`);
  it('products, quotients, powers: equal to the expanded form, not to its conjugate', () => {
    const r = rng(18);
    for (let k = 0; k < N; k++) {
      const [a, b, c, d] = [int(r, -6, 6), int(r, 1, 6), int(r, -6, 6), int(r, 1, 6)];
      const prod = [a * c - b * d, a * d + b * c] as const;
      both(`(${cplx(a, b)})(${cplx(c, d)})`, cplx(prod[0], prod[1]), 'equal');
      if (prod[1] !== 0) both(`(${cplx(a, b)})(${cplx(c, d)})`, cplx(prod[0], -prod[1]), 'different');
      both(`\\frac{${cplx(prod[0], prod[1])}}{${cplx(c, d)}}`, cplx(a, b), 'equal');
      both(`\\frac{${cplx(prod[0], prod[1])}}{${cplx(c, d)}}`, cplx(b, a), a === b ? 'equal' : 'different');
    }
  });

  it('polar and exponential forms equal the rectangular form of the same number', () => {
    const r = rng(19);
    const angles = [[1, 6, Math.sqrt(3) / 2, 1 / 2], [1, 4, Math.SQRT1_2, Math.SQRT1_2], [1, 3, 1 / 2, Math.sqrt(3) / 2], [1, 2, 0, 1], [2, 3, -1 / 2, Math.sqrt(3) / 2]] as const;
    const exact: Record<string, string> = { '1/6': '\\frac{\\sqrt{3}}{2}|\\frac{1}{2}', '1/4': '\\frac{\\sqrt{2}}{2}|\\frac{\\sqrt{2}}{2}', '1/3': '\\frac{1}{2}|\\frac{\\sqrt{3}}{2}', '1/2': '0|1', '2/3': '-\\frac{1}{2}|\\frac{\\sqrt{3}}{2}' };
    for (let k = 0; k < N; k++) {
      const m = int(r, 1, 9);
      const [p, q] = pick(r, angles);
      const [re, im] = exact[`${p}/${q}`]!.split('|') as [string, string];
      const theta = `\\frac{${p === 1 ? '' : p}\\pi}{${q}}`;
      const rect = re === '0' ? `${m}i` : `${m}\\left(${re}+${im}i\\right)`;
      both(pick(r, [`${m}e^{i${theta}}`, `${m}\\left(\\cos${theta}+i\\sin${theta}\\right)`]), rect, 'equal');
      both(`${m}e^{i${theta}}`, `${m}e^{-i${theta}}`, 'different');
      both(`${m}e^{i${theta}}`, `${m + 1}\\left(\\cos${theta}+i\\sin${theta}\\right)`, 'different');
    }
  });
});

describe('function names on the left, absolute values', () => {
  it('"f(x) =" on the left labels the expression', () => {
    const r = rng(20);
    for (let k = 0; k < N; k++) {
      const [a, b, c] = [int(r, 1, 9), int(r, -9, 9), int(r, 1, 9)];
      const f = pick(r, ['f', 'g', 'h', 'p']);
      const v = pick(r, ['x', 't', 'n']);
      const body = `${a}${v}^2 + ${b}${v} + ${c}`;
      both(`${f}(${v}) = ${body}`, `${c} + ${b}${v} + ${a}${v}^2`, 'equal');
      both(`${f}(${v}) = ${body}`, `${c + 1} + ${b}${v} + ${a}${v}^2`, 'different');
    }
  });

  it('absolute values are not taken for their argument where that is positive on the sampled range', () => {
    const r = rng(21);
    for (let k = 0; k < N; k++) {
      const c = int(r, -40, 40) || 3;
      const m = int(r, 2, 9);
      const sign = c < 0 ? '-' : '+';
      const inner = `x ${sign} ${Math.abs(c)}`;
      both(`|${inner}|`, inner, 'different');
      both(`|${inner}|`, `\\sqrt{(${inner})^2}`, 'equal');
      both(`|${m}x|`, `${m}|x|`, 'equal');
      both(`|${m}x|`, `${m}x`, 'different');
    }
  });
});

describe('unit conversions the domain implies', () => {
  it('degrees against radians', () => {
    const r = rng(22);
    for (let k = 0; k < N; k++) {
      const [p, q] = pick(r, [[1, 6], [1, 4], [1, 3], [1, 2], [2, 3], [3, 4], [5, 6], [1, 1], [3, 2], [7, 4]] as const);
      const deg = (180 * p) / q;
      const rad = p === 1 && q === 1 ? '\\pi' : `\\frac{${p === 1 ? '' : p}\\pi}{${q}}`;
      const d = pick(r, [`${deg}^\\circ`, `${deg}°`, `${deg}^{\\circ}`, `${deg} degrees`]);
      both(d, rad, 'equal');
      both(d, `\\frac{${p + q}\\pi}{${q}}`, 'different');
    }
  });

  it('area and volume units scale by the power of the length unit', () => {
    const r = rng(23);
    const units = [['m', 1], ['cm', 0.01], ['mm', 0.001], ['km', 1000]] as const;
    for (let k = 0; k < N; k++) {
      const [u1, s1] = pick(r, units);
      const [u2, s2] = pick(r, units);
      if (u1 === u2) continue;
      const pow = pick(r, [2, 3]);
      const v = int(r, 1, 9);
      const converted = v * (s1 / s2) ** pow;
      if (!(converted >= 1e-6 && converted <= 1e12)) continue;
      const text = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(6));
      const a = `${v} \\text{ ${u1}}^${pow}`;
      const b = `${text(converted)} ${u2}^${pow}`;
      both(a, b, 'equal');
      both(a, `${text(converted * 10)} ${u2}^${pow}`, 'different');
    }
  });
});

describe('sets, tuples and labelled answers', () => {
  it('sets are unordered, tuples ordered, and a pair is not a set', () => {
    const r = rng(9);
    for (let k = 0; k < N; k++) {
      const n = int(r, 2, 5);
      const xs = Array.from({ length: n }, (_, i) => i * 7 + int(r, 1, 6));
      const perm = shuffle(r, xs);
      if (perm.every((x, i) => x === xs[i])) continue;
      both(`\\{${xs.join(', ')}\\}`, `\\{${perm.join(', ')}\\}`, 'equal');
      both(`(${xs.join(', ')})`, `(${perm.join(', ')})`, 'different');
      expect(kind(`\\{${xs.join(', ')}\\}`, `(${xs.join(', ')})`)).not.toBe('equal');
    }
  });

  it('lists of tuples in any order; tuples written with semicolons', () => {
    const r = rng(10);
    for (let k = 0; k < N; k++) {
      const tuples = Array.from({ length: int(r, 2, 4) }, (_, i) => [i * 5 + int(r, 0, 4), int(r, -9, 9)] as const);
      const gold = tuples.map(([a, b]) => `(${a},${b})`).join(',');
      const pred = shuffle(r, tuples.map(([a, b]) => pick(r, [`(${a}, ${b})`, `(${a};${b})`]))).join(', ');
      both(pred, gold, 'equal');
      const swapped = tuples.map(([a, b], i) => (i === 0 ? `(${b},${a})` : `(${a},${b})`)).join(',');
      if (tuples[0]![0] !== tuples[0]![1]) both(swapped, gold, 'different');
    }
  });

  it('a labelled answer equals its value, not another value', () => {
    const r = rng(11);
    for (let k = 0; k < N; k++) {
      const a = int(r, 1, 99);
      const b = int(r, 1, 99);
      const label = pick(r, ['(p, q)', '(x,y)', '(a, b)']);
      both(`${label} = (${a}, ${b})`, `(${a}, ${b})`, 'equal');
      if (a !== b) both(`${label} = (${a}, ${b})`, `(${b}, ${a})`, 'different');
      const seg = pick(r, ['AB', '|AB|', 'BC', 'S_{ABC}', '\\frac{NO}{BO}']);
      both(`${seg} = \\frac{${a}}{${b + 1}}`, `\\frac{${a * 2}}{${(b + 1) * 2}}`, 'equal');
      both(`${seg} = ${a}`, String(a + 1), 'different');
    }
  });
});

describe('multiple choice by letter, by value, or by the option written in LaTeX', () => {
  it('names the right option whatever the form, and only that one', () => {
    const r = rng(12);
    for (let k = 0; k < N; k++) {
      const values = shuffle(r, [
        [`\\frac{${int(r, 1, 9)}}{${int(r, 11, 19)}}`, null],
        [`${int(r, 2, 9)}\\sqrt{${pick(r, [2, 3, 5, 7])}}`, null],
        [`${int(r, 2, 9)}\\pi`, null],
        [`${int(r, 20, 99)}`, null],
      ] as const).map(([v]) => v);
      const choices = values.map((v) => `$${v}$`);
      const gi = int(r, 0, 3);
      const letter = 'ABCD'[gi]!;
      const v = values[gi]!;
      const forms = [letter, `(${letter})`, `${letter}. $${v}$`, `$${v}$`, v, v.replace('\\frac', '\\dfrac'), `\\boxed{${v}}`];
      for (const f of forms) expect(kind(f, letter, { choices }), `${f} for ${letter} of ${choices.join(' | ')}`).toBe('equal');
      const other = (gi + 1 + int(r, 0, 2)) % 4;
      expect(kind(`$${values[other]}$`, letter, { choices })).toBe('different');
      expect(kind('ABCD'[other]!, letter, { choices })).toBe('different');
    }
  });

  it('extracts the answer letter from prose, anchored forms first', () => {
    const r = rng(13);
    const templates = [
      (l: string, _o: string) => `The answer is ${l}.`,
      (l: string, o: string) => `It can't be ${o} because it doesn't fit, so the answer is ${l}`,
      (l: string, o: string) => `Answer: ${l}, not ${o}.`,
      (l: string, o: string) => `${l}. Because ${o} is wrong.`,
      (l: string, _o: string) => `Final answer is (${l}). I hope it is correct.`,
      (l: string, o: string) => `**${l}** — ${o} does not work`,
      (l: string, o: string) => `${l}。不是 ${o}`,
    ];
    for (let k = 0; k < N; k++) {
      const [l, o] = shuffle(r, ['A', 'B', 'C', 'D']) as [string, string];
      const t = pick(r, templates)(l, o);
      expect(extractChoiceLetter(t), t).toBe(l);
    }
    expect(extractChoiceLetter('No valid answer here')).toBeNull();
  });
});

describe('extraction from free text (lenient format)', () => {
  const values = (r: () => number) => pick(r, [String(int(r, -500, 500)), `\\frac{${int(r, 1, 9)}}{${int(r, 11, 19)}}`, `${int(r, 1, 9)}\\sqrt{${int(r, 2, 7)}}`, `x = ${int(r, 1, 99)}`]);
  const prose = ['I hope it is correct.', 'Let me know if you need anything else.', 'This matches the check above.', 'Hope this helps!', ''];
  it('a final-answer line followed by prose gives the value, also when the value is on the next line', () => {
    const r = rng(15);
    for (let k = 0; k < N; k++) {
      const v = values(r);
      const lead = pick(r, ['The final answer is', 'Final answer:', 'So the answer is', 'Therefore, the final answer is:']);
      const wrapped = pick(r, [`$${v}$`, `\\(${v}\\)`, `$$${v}$$`]);
      const sep = pick(r, [' ', '\n']);
      const text = `Some reasoning with 17 and 23.\n${lead}${sep}${wrapped}. ${pick(r, prose)}`;
      const e = extractAnswer(text, 'lenient');
      expect(e.ok ? e.answer : null, text).toBe(v);
    }
  });

  it('several boxes: the last is the answer, unless the last ones are joined as one list', () => {
    const r = rng(16);
    for (let k = 0; k < N; k++) {
      const a = String(int(r, 1, 99));
      const b = String(int(r, 100, 199));
      const c = String(int(r, 200, 299));
      const scattered = `First guess \\boxed{${a}}, but checking again the value changes. So \\boxed{${b}}.`;
      const e1 = extractAnswer(scattered, 'lenient');
      expect(e1.ok ? e1.answer : null).toBe(b);
      const joined = `The solutions are \\boxed{${a}}${pick(r, [', ', ' and ', ', and ', ' or '])}\\boxed{${b}}, \\boxed{${c}}`;
      const e2 = extractAnswer(joined, 'lenient');
      expect(e2.ok ? e2.answer : null, joined).toBe(`${a}, ${b}, ${c}`);
    }
  });
});

describe('mixed numbers', () => {
  it('a mixed number in prose or on an answer line is one value, also as a percent; an improper part is not mixed', async () => {
    const r = rng(26);
    for (let k = 0; k < 25; k++) {
      const w = int(r, 1, 40);
      const d = int(r, 2, 12);
      const n = int(r, 1, d - 1);
      const sign = pick(r, ['', '+']);
      const text = pick(r, [`We need ${sign}${w} ${n}/${d} cups in total.`, `The answer is ${w} ${n}/${d}.`, `So it takes ${w} ${n}/${d} hours`]);
      const gold = `\\frac{${w * d + n}}{${d}}`;
      const ok = await verify({ domain: 'math', response: text, groundTruth: gold, format: 'lenient' });
      expect(ok.score, `${text} vs ${gold}: ${ok.reason}`).toBe(1);
      const wrong = await verify({ domain: 'math', response: text, groundTruth: `\\frac{${w * d + n + 1}}{${d}}`, format: 'lenient' });
      expect(wrong.score).toBe(0);
      const pct = await verify({ domain: 'math', response: `The rate is ${w} ${n}/${d}%`, groundTruth: `\\frac{${w * d + n}}{${100 * d}}`, format: 'lenient' });
      expect(pct.score, pct.reason).toBe(1);
      const improper = await verify({ domain: 'math', response: `We need ${w} ${d + n}/${d} cups`, groundTruth: `\\frac{${w * d + d + n}}{${d}}`, format: 'lenient' });
      expect(improper.score).toBe(0);
    }
  });
});

describe('the verify() entry point keeps the rules', () => {
  it('math domain: exactness and lists through verify()', async () => {
    const r = rng(14);
    for (let k = 0; k < 10; k++) {
      let b = int(r, 2, 50);
      while (Number.isInteger(Math.sqrt(b))) b++;
      const res = await verify({ domain: 'math', response: Math.sqrt(b).toFixed(6), groundTruth: `\\sqrt{${b}}`, format: 'none' });
      expect(res.score).toBe(0);
      const ok = await verify({ domain: 'math', response: `x=-\\sqrt{${b}} \\text{ or } x=\\sqrt{${b}}`, groundTruth: `\\pm\\sqrt{${b}}`, format: 'none' });
      expect(ok.score, ok.reason).toBe(1);
    }
  });

  it('exactness can be switched off (GLM rule: relative tolerance everywhere)', async () => {
    const res = await verify({ domain: 'math', response: '1.7320508', groundTruth: '\\sqrt{3}', format: 'none', options: { exactWhenExact: false } });
    expect(res.score).toBe(1);
  });
});

describe('the light parse path', () => {
  it('reads plain arithmetic to the same values as the engine\'s canonical parse', () => {
    const r = rng(17);
    const atom = (): string => pick(r, [String(int(r, 0, 30)), (r() * 10).toFixed(2), 'x', 'y', '\\pi', `\\sqrt{${int(r, 2, 20)}}`, `\\sqrt${int(r, 2, 9)}`, `\\frac${int(r, 1, 9)}${int(r, 1, 9)}`, `\\dfrac{${int(r, 1, 9)}}{x}`]);
    const gen = (d: number): string => {
      if (d <= 0) return atom();
      switch (int(r, 0, 6)) {
        case 0: return `${gen(d - 1)} + ${gen(d - 1)}`;
        case 1: return `${gen(d - 1)} - ${gen(d - 1)}`;
        case 2: return `\\frac{${gen(d - 1)}}{${gen(d - 1)}}`;
        case 3: return `(${gen(d - 1)})^{${int(r, 2, 3)}}`;
        case 4: return `${int(r, 2, 9)}${pick(r, ['x', 'y', '\\pi', `(${gen(d - 1)})`])}`;
        case 5: return `${gen(d - 1)} \\cdot ${gen(d - 1)}`;
        default: return `-${gen(d - 1)}`;
      }
    };
    let compared = 0;
    for (let k = 0; k < 150; k++) {
      const latex = gen(int(r, 1, 3));
      clearParseCache();
      const light = parseLatex(latex);
      const full = parseLatexCanonical(latex);
      expect(light.ok, latex).toBe(full.ok);
      if (!light.ok || !full.ok) continue;
      for (const env of [{ x: 0.7, y: 1.9 }, { x: 2.3, y: 0.4 }]) {
        const a = evalReal(light.json!, env);
        const b = evalReal(full.json!, env);
        if (!Number.isFinite(a) && !Number.isFinite(b)) continue;
        expect(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${latex}: ${a} vs ${b}`).toBe(true);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(200);
  });

  it('reads tuples, sets, intervals, relations and complex constants as the canonical parse does', () => {
    const r = rng(25);
    const num = () => pick(r, [String(int(r, -9, 9)), `\\frac{${int(r, 1, 9)}}{${int(r, 2, 9)}}`, `${int(r, 1, 5)}\\sqrt{${int(r, 2, 7)}}`, `${int(r, 1, 4)}\\pi`, `${int(r, 1, 5)}i`, `e^{${int(r, 1, 3)}}`]);
    const forms = [
      () => `(${num()}, ${num()})`,
      () => `${num()}, ${num()}, ${num()}`,
      () => `\\{${num()}, ${num()}\\}`,
      () => `[${int(r, -9, 0)}, ${int(r, 1, 9)})`,
      () => `(-\\infty, ${int(r, -9, 9)}] \\cup (${int(r, 10, 20)}, \\infty)`,
      () => `x ${pick(r, ['<', '>', '\\le', '\\ge', '\\ne'])} ${num().replace(/i$/, '')}`,
      () => `y = ${int(r, 1, 9)}x + ${num().replace(/i$/, '')}`,
      () => `${num().replace(/i$/, '')} = ${num().replace(/i$/, '')}`,
      () => `(${num()}, ${num()}, ${num()})`,
      () => `${int(r, 1, 9)} + ${int(r, 1, 9)}i`,
      () => `x \\in [${int(r, -9, 0)}, ${int(r, 1, 9)}]`,
    ];
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    for (let k = 0; k < 120; k++) {
      const latex = pick(r, forms)();
      clearParseCache();
      const light = parseLatex(latex);
      const full = parseLatexCanonical(latex);
      expect(light.ok, latex).toBe(full.ok);
      if (!light.ok || !full.ok) continue;
      expect(compareMathJson(full.json!, light.json!, { close, intervalMatchesRelation: true, monomialEquations: false }), `${latex}: ${JSON.stringify(light.json)} vs ${JSON.stringify(full.json)}`).toBe('equal');
    }
  });

  it('reads functions, subscripts, Greek letters, ±, chains, |x|, n!, roots, f(x) and matrices as the canonical parse does', () => {
    const r = rng(27);
    const v = () => pick(r, ['x', 'y', 'x_1', 'a_{2}', '\\theta', '\\alpha']);
    const num = () => pick(r, [String(int(r, 1, 9)), `\\frac{${int(r, 1, 9)}}{${int(r, 2, 9)}}`, `${int(r, 1, 5)}\\sqrt{${int(r, 2, 7)}}`, '\\pi']);
    const fn = () => pick(r, ['\\sin', '\\cos', '\\tan', '\\sec', '\\ln', '\\log', '\\exp', '\\arctan', '\\sinh']);
    const term = (): string => pick(r, [
      `${fn()}(${v()})`, `${fn()} ${v()}`, `${fn()}^{2}(${v()} + ${num()})`, `${fn()}^2 ${v()}`, `\\log_{${int(r, 2, 9)}} ${v()}`,
      `\\sqrt[${int(r, 3, 5)}]{${v()} + ${int(r, 1, 9)}}`, `|${v()} - ${num()}|`, `${int(r, 2, 6)}!`, `(${int(r, 1, 4)} + ${int(r, 1, 4)})!`,
      `${num()}${v()}^{${int(r, 2, 3)}}`, `f(${v()})`, `g(${num()})`, `(${v()} + 1)(${v()} - ${int(r, 1, 9)})`, `\\sin^{-1}(\\frac{${v()}}{10})`,
    ]);
    const forms = [
      () => `${term()} + ${term()}`,
      () => `${term()} \\cdot ${term()} - ${num()}`,
      () => `\\frac{${term()}}{${term()}}`,
      () => `${num()} \\pm ${term()}`,
      () => `\\pm ${num()}`,
      () => `${int(r, -9, 0)} ${pick(r, ['<', '\\le'])} ${v()} ${pick(r, ['<', '\\le'])} ${int(r, 1, 9)}`,
      () => `${v()} = ${term()}`,
      () => `\\begin{pmatrix} ${num()} & ${term()} \\\\ ${int(r, -9, 9)} & ${num()} \\end{pmatrix}`,
      () => `\\begin{bmatrix} ${num()} \\\\ ${term()} \\end{bmatrix}`,
      () => `\\{${num()}, ${num()}\\} \\cup [${int(r, 10, 12)}, ${int(r, 13, 20)})`,
      () => `{${num()}, ${num()}}`,
    ];
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    let own = 0;
    for (let k = 0; k < 150; k++) {
      const latex = pick(r, forms)();
      clearParseCache();
      const light = parseLatex(latex);
      const full = parseLatexCanonical(latex);
      if (!full.ok) continue;
      expect(light.ok, latex).toBe(true);
      if (parseArithmetic(latex) !== null) own++;
      const verdict = compareMathJson(full.json!, light.json!, { close, intervalMatchesRelation: true, monomialEquations: false });
      // Measurement (±) has no single value: both sides must at least have the same shape.
      if (latex.includes('\\pm')) expect(JSON.stringify(light.json).includes('Measurement'), latex).toBe(true);
      // An undefined function has no value either: it must read as a call, as the engine reads it.
      else if (/(?<![a-zA-Z\\])[fg]\(/.test(latex)) expect(/\["[fg]",/.test(JSON.stringify(light.json)), latex).toBe(true);
      else expect(verdict, `${latex}: ${JSON.stringify(light.json)} vs ${JSON.stringify(full.json)}`).toBe('equal');
    }
    // The point of the own parser: these shapes do not go to the engine.
    expect(own).toBeGreaterThan(120);
  });
});

describe('undecided is not wrong', () => {
  it('answers no rule can decide say so and are countable; decided ones never are', async () => {
    const r = rng(24);
    const words = ['photosynthesis', 'the mitochondria', 'a red bicycle', 'Paris in spring', 'the northern lights', 'an oak tree', 'the treaty of Rome'];
    for (let k = 0; k < 20; k++) {
      const [a, b] = shuffle(r, words) as [string, string];
      const domain = pick(r, ['math', 'vqa', 'general'] as const);
      const undecided = await verify({ domain, response: `It is ${a}`, groundTruth: b, format: 'none' });
      expect(undecided.score).toBe(0);
      expect(isUndecided(undecided), undecided.reason).toBe(true);
      expect(undecided.reason.startsWith('undecided:')).toBe(true);
      const n = int(r, 1, 999);
      const decided = await verify({ domain: 'math', response: String(n + int(r, 0, 1)), groundTruth: String(n), format: 'none' });
      expect(isUndecided(decided), decided.reason).toBe(false);
    }
  });
});
