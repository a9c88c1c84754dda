import { describe, expect, it } from 'vitest';
import { compareChart, matchingPairs } from '../../pipelines/verify/chart.js';
import { answerLabels, compareChoice, resolveChoices } from '../../pipelines/verify/choice.js';
import { compareCount } from '../../pipelines/verify/counting.js';
import { groundingScore, iou, matchBoxes, parseBoxes } from '../../pipelines/verify/grounding.js';
import { verify } from '../../pipelines/verify/index.js';
import { parseChineseNumber, parseCount, parseEnglishNumber } from '../../pipelines/verify/numbers.js';
import { ocrSimilarity } from '../../pipelines/verify/ocr.js';
import { compareQa } from '../../pipelines/verify/qa.js';
import { glm, score } from './helpers.js';

describe('chart', () => {
  const k = (p: string, g: string, q?: string) => compareChart(p, g, q).kind;
  it('accepts 2.5% relative error but years only exactly', () => {
    expect(k('102', '100')).toBe('equal');
    expect(k('103', '100')).toBe('different');
    expect(k('2010', '2011', 'Which year has the minimum?')).toBe('different');
    expect(k('2011', '2011')).toBe('equal');
    expect(k('50%', '0.5')).toBe('equal');
    expect(k('72 °', '72')).toBe('equal');
  });
  it('reads truth values, number words, label lists and matching pairs', () => {
    expect(k('Yes', 'True')).toBe('equal');
    expect(k('0', 'False')).toBe('equal');
    expect(k('True', 'False')).toBe('different');
    expect(k('four', '4')).toBe('equal');
    expect(k('eighteen', '19')).toBe('different');
    expect(matchingPairs('A-Paris, B-Berlin, C-Rome')!.get('B')).toBe('berlin');
    expect(k('C-Rome, B-Berlin, A-Paris', 'A-Paris, B-Berlin, C-Rome')).toBe('equal');
    expect(k('A-Berlin, B-Paris, C-Rome', 'A-Paris, B-Berlin, C-Rome')).toBe('different');
    expect(k('Beijing and Tokyo', 'Tokyo, Beijing', 'Which two x-axis labels sum up to 20.3?')).toBe('equal');
    expect(k('2009, 2006', '2006, 2009', 'Which two labels have a difference of -9?')).toBe('unknown');
    expect(k('London', 'Paris')).toBe('unknown');
  });
});

describe('counting', () => {
  it('reads digits, decimals, English and Chinese number words', () => {
    expect(parseEnglishNumber('twenty-one')).toBe(21);
    expect(parseChineseNumber('一百零五')).toBe(105);
    expect(parseCount('三只猫')).toBe(3);
    expect(compareCount('1', '1.000').kind).toBe('equal');
    expect(compareCount('five', '5').kind).toBe('equal');
    expect(compareCount('七棵树', '8').kind).toBe('different');
    expect(compareCount('two.', '22').kind).toBe('different');
    expect(compareCount('The correct number of photo', '2').kind).toBe('different');
    expect(compareCount('3 (or 4)', '3').kind).toBe('different');
  });
});

describe('multiple choice', () => {
  const choices = resolveChoices(undefined, ['Blue', 'Red', 'Green', 'Yellow'])!;
  it('accepts the letter or the option text, one or several answers', () => {
    expect(answerLabels('(B)', choices)).toEqual(['B']);
    expect(answerLabels('The answer is C.', choices)).toEqual(['C']);
    expect(answerLabels('green', choices)).toEqual(['C']);
    expect(answerLabels('A, C', choices)).toEqual(['A', 'C']);
    expect(answerLabels('AC', choices)).toEqual(['A', 'C']);
    expect(compareChoice('Red', 'B', choices).kind).toBe('equal');
    expect(compareChoice('A', 'B', choices).kind).toBe('different');
    expect(compareChoice('A, B', 'A', choices).kind).toBe('different');
    expect(compareChoice('C, A', 'AC', choices, true).kind).toBe('equal');
    expect(compareChoice('A', 'AC', choices, true).kind).toBe('different');
  });
  it('parses options written in the question', () => {
    const c = resolveChoices('Pick one:\nA. 3\nB. 4\nC. 5')!;
    expect(c.labels).toEqual(['A', 'B', 'C']);
    expect(compareChoice('4', 'B', c).kind).toBe('equal');
  });
  it('scores through verify()', async () => {
    expect((await verify({ domain: 'multiple_choice', response: glm('B'), groundTruth: 'B', choices: ['x', 'y'] })).score).toBe(1);
    expect((await verify({ domain: 'multiple_choice', response: glm('y'), groundTruth: 'B', choices: ['x', 'y'] })).score).toBe(1);
  });
});

describe('OCR', () => {
  it('scores 1 − edit distance / max length after removing spaces and newlines', () => {
    expect(ocrSimilarity('社区服务', '社区服')).toBeCloseTo(0.75, 12);
    expect(ocrSimilarity('THE UNION PUB', 'THE UNION BAR')).toBeCloseTo(1 - 3 / 11, 12);
    expect(ocrSimilarity('a b\nc', 'abc')).toBe(1);
    expect(ocrSimilarity('AFSDF', 'afsdf')).toBeCloseTo(0, 12);
    expect(ocrSimilarity('AFSDF', 'afsdf', true)).toBe(1);
    expect(ocrSimilarity('😀x', '😀y')).toBeCloseTo(0.5, 12);
  });
  it('is continuous through verify() and ignores case unless told not to', async () => {
    expect(await score('ocr', '182692', '182693')).toBeCloseTo(5 / 6, 12);
    expect(await score('ocr', 'AFSDF', 'afsdf')).toBe(1);
    expect(await score('ocr', 'AFSDF', 'afsdf', { options: { ignoreCase: false } })).toBe(0);
  });
});

describe('grounding', () => {
  it('computes IoU on the 0–999 scale and matches boxes one-to-one', () => {
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 12);
    expect(parseBoxes('boxes: [[1,2,3,4]] and (5, 6, 7, 8)')).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
    const { meanIou } = matchBoxes([[500, 500, 600, 600], [0, 0, 100, 100]], [[0, 0, 100, 100], [500, 500, 600, 600]]);
    expect(meanIou).toBe(1);
    expect(groundingScore('[[0,0,100,100]]', '[[0,0,100,100],[200,200,300,300]]').score).toBe(0.5);
    expect(groundingScore('[[0,0,100,100]]', '[[0,0,100,50]]', 0.5).score).toBe(1);
    expect(groundingScore('[[0,0,100,100]]', '[[0,0,100,40]]', 0.5).score).toBe(0);
    expect(groundingScore('[[0,0,1000,100]]', '[[0,0,100,40]]').reason).toMatch(/0–999/);
  });
  it('scores through verify()', async () => {
    const r = await verify({ domain: 'grounding', response: glm('[[100,100,300,300]]'), groundTruth: '[[100,100,300,300]]' });
    expect(r.score).toBe(1);
  });
});

describe('VQA / general / multi-image / spatial', () => {
  const k = (p: string, g: string, q?: string) => compareQa(p, g, { question: q }).kind;
  it('decides exact, case, numbers, truth values and math; leaves meaning to the judge', () => {
    expect(k('Stop', 'STOP')).toBe('equal');
    expect(k('U.S.A.', 'USA')).toBe('equal');
    expect(k('2', '2.0')).toBe('equal');
    expect(k('50 %', '0.5')).toBe('equal');
    expect(k('72°', '72')).toBe('equal');
    expect(k('no', 'yes')).toBe('different');
    expect(k('x+1', '1+x')).toBe('equal');
    expect(k('3', '2')).toBe('different');
    expect(k('airplane', 'Plane')).toBe('unknown');
    expect(k('Cannot be determined from the image', '<no answer>')).toBe('unknown');
  });
  it('routes every QA-like domain', async () => {
    for (const domain of ['vqa', 'general', 'multi_image', 'spatial', 'mmsi'] as const) expect(await score(domain, 'left', 'left')).toBe(1);
  });
});
