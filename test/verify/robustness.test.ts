import { describe, expect, it } from 'vitest';
import { hasLanguageMixing, hasRepetition } from '../../pipelines/verify/penalties.js';
import { createVerifierPool } from '../../pipelines/verify/pool.js';
import { verify, type VerifyDomain } from '../../pipelines/verify/index.js';
import { glm } from './helpers.js';

let frac = 'x';
for (let i = 0; i < 7; i++) frac = `\\frac{${frac}}{${frac}}`;

const adversarial: [string, string, FormatModeLike?][] = [
  ['deeply nested braces', glm('{'.repeat(3000) + '1' + '}'.repeat(3000))],
  ['nesting just under the length cap', glm('('.repeat(1500) + '1' + ')'.repeat(1500))],
  ['1 MB response', `<think>${'a'.repeat(1_000_000)}</think><answer><|begin_of_box|>1<|end_of_box|></answer>`],
  ['1 MB answer', glm('1+'.repeat(500_000) + '1')],
  ['\\frac bomb', glm(frac)],
  ['pathological exponent', glm('10^{10^{10}}')],
  ['exponent tower with a symbol', glm('x^{x^{x^{x^{x^{x}}}}}')],
  ['huge exponent', glm('x^{999999999}')],
  ['factorial of a huge number', glm('(10^{9})!')],
  ['unbounded sum', glm('\\sum_{n=1}^{10^{9}} n')],
  ['invalid UTF-8 and lone surrogates', glm(Buffer.from([0xff, 0xfe, 0x31]).toString('utf8') + '\ud800')],
  ['unbalanced tags', '<think>'.repeat(50_000) + '</answer>'.repeat(10_000) + '<|begin_of_box|>'.repeat(10_000)],
  ['regex-hostile alternatives', glm('(or '.repeat(900))],
  ['many dollar signs (lenient)', '$$'.repeat(300_000), 'lenient'],
  ['many \\boxed{ (lenient)', '\\boxed{'.repeat(100_000), 'lenient'],
  ['long list', glm(Array.from({ length: 900 }, (_, i) => String(i)).join(','))],
];
type FormatModeLike = 'glm' | 'lenient';

const DOMAINS: VerifyDomain[] = ['math', 'physics', 'chemistry', 'chart', 'counting', 'vqa', 'multiple_choice', 'ocr', 'grounding', 'OSWorld', 'AndroidWorld', 'WebVoyager'];

describe('adversarial inputs never crash or hang', () => {
  it.each(adversarial)('%s', async (_label, response, format) => {
    for (const domain of DOMAINS) {
      const t = performance.now();
      const r = await verify({ domain, response, groundTruth: '1', format: format ?? 'glm' }, { timeBudgetMs: 2000 });
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
      expect(typeof r.reason).toBe('string');
      expect(performance.now() - t).toBeLessThan(3000);
    }
  });
  it('scores non-string input 0 instead of throwing', async () => {
    expect((await verify({ domain: 'math', response: null as unknown as string, groundTruth: '1' })).score).toBe(0);
    expect((await verify({ domain: 'math', response: glm('1'), groundTruth: 42 as unknown as string })).score).toBe(0);
    expect((await verify({ domain: 'astrology' as VerifyDomain, response: glm('1'), groundTruth: '1' })).reason).toContain('unknown domain');
  });
});

describe('time budget', () => {
  it('kills a verification that outlives its budget in the worker pool and scores it 0 with reason timeout', async () => {
    const pool = createVerifierPool({ threads: 1, timeBudgetMs: 5000, hardGraceMs: 0 });
    try {
      await pool.ready();
      // Edit distance of two 10k-character strings takes ~200 ms, far beyond the 5 ms budget.
      const text = Array.from({ length: 3000 }, (_, i) => String(i)).join(',').slice(0, 9_900);
      const other = Array.from({ length: 3000 }, (_, i) => String(3000 - i)).join(';').slice(0, 9_900);
      const slow = await pool.verify({ domain: 'ocr', response: glm(text), groundTruth: other }, { timeBudgetMs: 5 });
      expect(slow).toMatchObject({ score: 0, reason: 'timeout' });
      const ok = await pool.verify({ domain: 'math', response: glm('\\frac{1}{2}'), groundTruth: '0.5' });
      expect(ok.score).toBe(1);
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('penalties', () => {
  it('detects long Chinese + long English paragraphs and degenerate repetition', async () => {
    const zh = '这是一个很长的中文段落'.repeat(10);
    const en = Array.from({ length: 220 }, () => 'word').join(' ');
    expect(hasLanguageMixing(`${zh}\n\n${en}`)).toBe(true);
    expect(hasLanguageMixing(zh)).toBe(false);
    expect(hasRepetition('The same sentence repeats itself forever. '.repeat(30))).toBe(true);
    expect(hasRepetition('An ordinary answer with some reasoning and a result of 42.')).toBe(false);
    expect(hasRepetition('-'.repeat(5000) + ' fine')).toBe(false);
    const looped = `<think>${'I need to check this again. '.repeat(40)}</think><answer><|begin_of_box|>4<|end_of_box|></answer>`;
    expect((await verify({ domain: 'math', response: looped, groundTruth: '4' })).score).toBe(1);
    expect((await verify({ domain: 'math', response: looped, groundTruth: '4', options: { repetitionPenalty: true } })).reason).toMatch(/repetitive/);
    const mixed = `<think>${zh}\n\n${en}</think><answer><|begin_of_box|>4<|end_of_box|></answer>`;
    expect((await verify({ domain: 'math', response: mixed, groundTruth: '4', options: { languageMixPenalty: true } })).score).toBe(0);
    expect((await verify({ domain: 'language_mix', response: mixed, groundTruth: '' })).score).toBe(0);
  });
});
