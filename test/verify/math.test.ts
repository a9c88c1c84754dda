import { describe, expect, it } from 'vitest';
import { compareMath } from '../../pipelines/verify/math.js';
import { verify } from '../../pipelines/verify/index.js';
import { glm, score } from './helpers.js';

const eq = (p: string, g: string, extra: Record<string, unknown> = {}) => compareMath(p, g, { relTol: 1e-6, ...extra }).kind;

describe('math: numbers', () => {
  it.each([
    ['\\frac{3}{2}', '1.5'],
    ['\\dfrac{1}{2}', '0.5'],
    ['3/2', '\\frac{6}{4}'],
    ['1\\frac{1}{2}', '3/2'],
    ['1 1/2', '1.5'],
    ['\\sqrt{8}', '2\\sqrt{2}'],
    ['√9', '3'],
    ['\\pi/2', '\\frac{\\pi}{2}'],
    ['2\\pi + 1', '1 + 2π'],
    ['e^{i\\pi}', '-1'],
    ['1.2\\times10^{3}', '1200'],
    ['1.23E-4', '0.000123'],
    ['6.022e23', '6.022 \\times 10^{23}'],
    ['50\\%', '0.5'],
    ['28', '28\\%'],
    ['7,425,000', '7425000'],
    ['14{,}916', '14916'],
    ['1 000', '1000'],
    ['72^\\circ', '72'],
    ['90°', '90'],
    ['0.333...', '1/3'],
    ['2.0000000001', '2'],
    ['four', '4'],
  ])('%s ≡ %s', (p, g) => expect(eq(p, g)).toBe('equal'));

  it.each([
    ['3.14', '\\pi'],
    ['0.33', '1/3'],
    ['3.1', '3.0'],
    ['28/100', '28'],
    ['-5', '5'],
  ])('%s ≢ %s', (p, g) => expect(eq(p, g)).toBe('different'));

  it('uses relative tolerance 1e-6 by default and Math-Verify rounding when asked', () => {
    expect(eq('1.0000001', '1')).toBe('equal');
    expect(eq('1.00001', '1')).toBe('different');
    expect(eq('0.333', '1/3', { floatRounding: 3 })).toBe('equal');
    expect(eq('0.333', '1/3', { floatRounding: 4 })).toBe('different');
  });
});

describe('math: expressions, equations and structures', () => {
  it('decides symbolic equivalence by the CAS', () => {
    expect(eq('(x+1)^2', 'x^2+2x+1')).toBe('equal');
    expect(eq('x(x+1)', 'x^2+x')).toBe('equal');
    expect(eq('\\frac{1}{1+\\frac{1}{x}}', '\\frac{x}{x+1}')).toBe('equal');
    expect(eq('\\sec^2(y)', '\\tan^2(y)+1')).toBe('equal');
    expect(eq('x+1', 'x+2')).toBe('different');
    expect(eq('x^2+x+1', '(x+1)^2')).toBe('different');
  });
  it('reads x = 3 as 3 and compares equations up to a constant factor', () => {
    expect(eq('x = 3', '3')).toBe('equal');
    expect(eq('3', 'k = 3')).toBe('equal');
    expect(eq('a + 3z = 0', '0')).not.toBe('equal');
    expect(eq('y=-\\frac{1}{2}x+\\frac{3}{4}', '2x+4y-3=0')).toBe('equal');
    expect(eq('x = 5+5+1 = 11', 'x = 11')).toBe('equal');
  });
  it('treats intervals and inequalities as the same set', () => {
    expect(eq('a \\le 4', '(-\\infty, 4]')).toBe('equal');
    expect(eq('(-\\infty, -2] \\cup [2, \\infty)', 'x \\le -2 \\text{ or } x \\ge 2')).toBe('equal');
    expect(eq('x > 3', '3 < x < 10')).toBe('different');
    expect(eq('-2 < x < 8', '(-2, 8)')).toBe('equal');
    expect(eq('[-2, 8]', '(-2, 8)')).toBe('different');
    expect(eq('(-2, 4]', 'a \\le 4')).toBe('different');
    expect(eq('5 \\ge x', 'x \\le 5')).toBe('equal');
    expect(eq('-x > -1', 'x < 1')).toBe('equal');
    expect(eq('x > -1', 'x < 1')).toBe('different');
    expect(eq('x \\in [-2, 7]', '-2 \\le x \\le 7')).toBe('equal');
  });
  it('compares sets unordered, tuples in order, and bare lists unordered', () => {
    expect(eq('\\{2, 1, 3\\}', '\\{1, 2, 3\\}')).toBe('equal');
    expect(eq('\\{1, 2\\}', '\\{1, 2, 3\\}')).toBe('different');
    expect(eq('(3, 2)', '(2, 3)')).toBe('different');
    expect(eq('(1, 4.5)', '(1, \\frac{9}{2})')).toBe('equal');
    expect(eq('1, -2', '-2, 1')).toBe('equal');
    expect(eq('1; 3; 2', '1, 2, 3')).toBe('equal');
    expect(eq('1, 2', '1, 2, 3')).toBe('different');
    expect(eq('1, 2', '2, 1', { ordered: true })).toBe('different');
    expect(eq('1 \\pm \\sqrt{19}', '\\{1+\\sqrt{19}, 1-\\sqrt{19}\\}')).toBe('equal');
  });
  it('compares matrices element-wise, including sums and products of matrices', () => {
    expect(eq('\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}', '\\left[\\begin{array}{cc}1 & 2 \\\\ 3 & 4\\end{array}\\right]')).toBe('equal');
    expect(eq('\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}', '\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}')).toBe('different');
    expect(eq('\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}', '\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}')).toBe('equal');
  });
  it('strips units the question does not ask for, and respects a unit it asks for', () => {
    expect(eq('15\\text{ cm}^2', '15')).toBe('equal');
    expect(eq('125 \\textnormal{ miles}', '125')).toBe('equal');
    expect(eq('40', '40厘米')).toBe('equal');
    expect(eq('0.4米', '40厘米')).toBe('equal');
    expect(eq('5.8米', '5.8', { question: '一个圆柱体的体积是145立方厘米，若底面积为25平方厘米，求高。' })).toBe('different');
    expect(eq('5.8厘米', '5.8', { question: '一个圆柱体的体积是145立方厘米，若底面积为25平方厘米，求高。' })).toBe('equal');
    expect(eq('1 kg', '1000 g', { question: '1 kg 等于多少 g？' })).toBe('different');
  });
  it('never scores hedges, several values for one, method descriptions, or empty answers', () => {
    expect(eq('10 (or 8)', '10')).toBe('different');
    expect(eq('30或-30', '30')).toBe('different');
    expect(eq('平行四边形（或矩形、菱形等合理答案）', '平行四边形')).toBe('different');
    expect(eq('\\text{Use the Law of Sines to find the missing side length}', '6')).toBe('different');
    expect(eq('x = 2 \\text{ or } x = -2', 'x = \\pm 2')).not.toBe('different');
    expect(eq('', '1')).toBe('different');
  });
  it('resolves option letters and option texts from the question', () => {
    const q = 'What is the colour?\n(A) Blue\n(B) Red\n(C) Green\n(D) Yellow';
    expect(eq('B. Red', 'B', { question: q })).toBe('equal');
    expect(eq('\\boxed{C}', '\\text{C}', { question: q })).toBe('equal');
    expect(eq('Red', 'B', { question: q })).toBe('equal');
    expect(eq('A', 'B', { question: q })).toBe('different');
  });
  it('leaves prose to the judge', () => {
    expect(eq('Insufficient information', 'Angle GIY is annotated as 77')).toBe('unknown');
  });
});

describe('math through verify()', () => {
  it('scores GLM responses against boxed ground truth', async () => {
    const r = await verify({ domain: 'math', response: glm('\\frac{1}{2}'), groundTruth: '<|begin_of_box|>0.5<|end_of_box|>' });
    expect(r).toMatchObject({ score: 1, correct: true, extracted: '\\frac{1}{2}', formatOk: true });
    expect(await score('math', '2', '3')).toBe(0);
  });
  it('marks undecidable answers as needing a judge when none is configured', async () => {
    const r = await verify({ domain: 'math', response: glm('the circle'), groundTruth: 'circle O' });
    expect(r.score).toBe(0);
    expect(r.needsJudge).toBe(true);
  });
});

describe('math: no false positives on look-alikes', () => {
  it.each([
    ['(1,20)', '(1,2)'],
    ['1,20', '1,2'],
    ['\\infty', '-\\infty'],
    ['x^{999999999}', 'x^{999999998}'],
    ['10^{10^{11}}', '10^{10^{10}}'],
    ['x^2 = 4', 'x = 2'],
    ['x \\in (0,1)', '0 < x \\le 1'],
    ['\\ln 8', '3'],
  ])('%s is not %s', (p, g) => expect(compareMath(p, g, { relTol: 1e-6 }).kind).not.toBe('equal'));
});
