import { describe, expect, it } from 'vitest';
import { extractGroundTruth, findBoxedContent, findGlmBoxes, findLatexBoxed } from '../../pipelines/verify/format.js';
import { extractAnswer, verify } from '../../pipelines/verify/index.js';
import { glm } from './helpers.js';

describe('GLM strict format gate', () => {
  it('accepts <think>…</think><answer> with exactly one box and returns its content', () => {
    expect(extractAnswer(glm('42'), 'glm')).toMatchObject({ ok: true, answer: '42' });
    expect(extractAnswer('<think>a</think>\n\n<answer>The result is <|begin_of_box|> x+1 <|end_of_box|>.</answer>\n', 'glm').answer).toBe('x+1');
    expect(extractAnswer('<THINK>a</THINK><ANSWER><|begin_of_box|>7<|end_of_box|></ANSWER>', 'glm').answer).toBe('7');
  });

  it.each([
    ['no think block', '<answer><|begin_of_box|>1<|end_of_box|></answer>'],
    ['text before <think>', 'x<think>a</think><answer><|begin_of_box|>1<|end_of_box|></answer>'],
    ['no answer tags', '<think>a</think><|begin_of_box|>1<|end_of_box|>'],
    ['text after </answer>', `${glm('1')} more`],
    ['two boxes', '<think>a</think><answer><|begin_of_box|>1<|end_of_box|><|begin_of_box|>2<|end_of_box|></answer>'],
    ['\\boxed{} in the answer', '<think>a</think><answer>\\boxed{1}</answer>'],
    ['\\boxed{} next to a box', '<think>a</think><answer><|begin_of_box|>1<|end_of_box|> \\boxed{1}</answer>'],
    ['no box', '<think>a</think><answer>1</answer>'],
    ['nested think', '<think>a <think>b</think></think><answer><|begin_of_box|>1<|end_of_box|></answer>'],
    ['nested answer', '<think>a</think><answer><answer><|begin_of_box|>1<|end_of_box|></answer></answer>'],
    ['unbalanced box', '<think>a</think><answer><|begin_of_box|>1</answer>'],
    ['empty answer', '<think>a</think><answer></answer>'],
  ])('rejects %s', (_label, response) => {
    const r = extractAnswer(response, 'glm');
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/^format:/);
  });

  it('scores a failed gate 0 with the reason', async () => {
    const r = await verify({ domain: 'math', response: '<think>a</think><answer>\\boxed{2}</answer>', groundTruth: '2' });
    expect(r).toMatchObject({ score: 0, correct: false, formatOk: false });
    expect(r.reason).toContain('\\boxed');
  });
});

describe('relaxed GLM gate (glm_think)', () => {
  it('takes the single box after </think>, with or without <answer>', () => {
    expect(extractAnswer('<think>t</think><|begin_of_box|>1+x<|end_of_box|>', 'glm_think').answer).toBe('1+x');
    expect(extractAnswer('<think>t</think>  prose <|begin_of_box|>42<|end_of_box|> more', 'glm_think').answer).toBe('42');
    expect(extractAnswer(glm('9'), 'glm_think').answer).toBe('9');
  });
  it('rejects missing think, two boxes, nested tags and an empty answer', () => {
    for (const r of [
      '<|begin_of_box|>1<|end_of_box|>',
      '<think>t</think><|begin_of_box|>1<|end_of_box|><|begin_of_box|>2<|end_of_box|>',
      '<think>Nested <think>…</think></think><|begin_of_box|>1<|end_of_box|>',
      '<think>t</think>   ',
      '<think>t</think>1+x',
    ]) expect(extractAnswer(r, 'glm_think').ok).toBe(false);
  });
});

describe('lenient gate', () => {
  it('prefers <answer> tags, then a box, then the last \\boxed{}, then a final-answer line', () => {
    expect(extractAnswer('work <answer>12</answer>', 'lenient').answer).toBe('12');
    expect(extractAnswer('so \\boxed{3} then \\boxed{\\frac{1}{2}}', 'lenient').answer).toBe('\\frac{1}{2}');
    expect(extractAnswer('only \\boxed{5}', 'lenient').answer).toBe('5');
    expect(extractAnswer('<think>x</think>Blah.\nThe final answer is $\\frac{3}{4}$. I hope it is correct.', 'lenient').answer).toBe('\\frac{3}{4}');
    expect(extractAnswer('推理过程……\n答案：12', 'lenient').answer).toBe('12');
    expect(extractAnswer('no marker at all', 'lenient').ok).toBe(false);
  });
  it('falls back to the last formula for math domains', async () => {
    const r = await verify({ domain: 'math', response: 'Adding gives $x = 7$ and we check $2 \\cdot 7 = 14$, so the value is $7$.', groundTruth: '7', format: 'lenient' });
    expect(r.score).toBe(1);
  });
});

describe('box scanning', () => {
  it('matches nested GLM boxes like brackets and returns only outermost pairs', () => {
    expect(findGlmBoxes('<|begin_of_box|>1<|end_of_box|> and <|begin_of_box|>2<|end_of_box|>')).toEqual(['1', '2']);
    expect(findGlmBoxes('<|begin_of_box|>1}<|begin_of_box|>2<|end_of_box|>')).toEqual([]);
  });
  it('balances braces in \\boxed{} and prefers it over GLM boxes', () => {
    expect(findLatexBoxed('\\boxed{\\frac{1}{2}} x \\boxed{3}')).toEqual(['\\frac{1}{2}', '3']);
    expect(findBoxedContent('\\boxed{1} <|begin_of_box|>2<|end_of_box|>')).toEqual(['1']);
  });
  it('reads ground truth as a box, a full GLM response, \\boxed{} or plain text', () => {
    expect(extractGroundTruth('<|begin_of_box|>42<|end_of_box|>')).toBe('42');
    expect(extractGroundTruth(glm('x=3'))).toBe('x=3');
    expect(extractGroundTruth('\\boxed{7}')).toBe('7');
    expect(extractGroundTruth(' 1/2 ')).toBe('1/2');
  });
});
