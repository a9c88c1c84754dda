import { describe, expect, it } from 'vitest';
import { extractAndroidAction, scoreAndroidAction } from '../../pipelines/verify/gui/android-world.js';
import { extractOsAction, pointSimilarity, scoreOsAction } from '../../pipelines/verify/gui/osworld.js';
import { parsePyLiteral } from '../../pipelines/verify/gui/py-literal.js';
import { lcsLength, typedTextSimilarity } from '../../pipelines/verify/gui/similarity.js';
import { scoreWebAction } from '../../pipelines/verify/gui/webvoyager.js';
import { verify } from '../../pipelines/verify/index.js';

const box = (s: string) => `Action: <|begin_of_box|>${s}<|end_of_box|>`;

describe('AndroidWorld', () => {
  it('parses JSON and Python-literal actions', () => {
    expect(parsePyLiteral("{'a': True, 'b': None, 'c': [[1, 2]], 'd': 'x'}")).toEqual({ a: true, b: null, c: [[1, 2]], d: 'x' });
    expect(extractAndroidAction(box("{'action_type': 'click', 'box_2d': [[010, 20, 30, 40]]}"))).toEqual({ action_type: 'click', box_2d: [[10, 20, 30, 40]] });
    expect(extractAndroidAction('no box')).toBeNull();
  });
  it('needs the same keys; text by LCS, box by IoU, product of parts', () => {
    const gold = { action_type: 'input_text', text: 'abcd', box_2d: [[0, 0, 100, 100]] };
    expect(scoreAndroidAction({ ...gold }, gold).score).toBe(1);
    expect(scoreAndroidAction({ ...gold, text: 'abc' }, gold).score).toBeCloseTo(0.75, 12);
    expect(scoreAndroidAction({ ...gold, box_2d: [[0, 0, 100, 50]] }, gold).score).toBeCloseTo(0.5, 12);
    expect(scoreAndroidAction({ ...gold, override: true }, gold).score).toBe(0);
    expect(scoreAndroidAction({ ...gold, action_type: 'click' }, gold).score).toBe(0);
    expect(scoreAndroidAction({ ...gold, box_2d: [[50, 0, 10, 100]] }, gold).score).toBe(0);
  });
  it('scores whole responses, Python True against JSON true', async () => {
    const r = await verify({
      domain: 'AndroidWorld',
      response: box("{'action_type': 'input_text', 'text': 'Hi', 'override': true, 'box_2d': [[38, 115, 961, 140]]}"),
      groundTruth: box("{'action_type': 'input_text', 'text': 'Hi', 'override': True, 'box_2d': [[38, 115, 961, 140]]}"),
    });
    expect(r.score).toBe(1);
  });
});

describe('OSWorld', () => {
  it('gives ≥ 0.8 within 20 units and falls off linearly to 50', () => {
    expect(pointSimilarity([100, 200], [100, 200])).toBe(1);
    expect(pointSimilarity([110, 190], [100, 200])).toBeCloseTo(1 - (Math.SQRT2 * 10 / 20) * 0.2, 12);
    expect(pointSimilarity([140, 200], [100, 200])).toBeCloseTo(0.2, 12);
    expect(pointSimilarity([200, 200], [100, 200])).toBe(0);
  });
  it('compares action type, drag, scroll, typed text and keys', () => {
    const s = (p: string, g: string) => scoreOsAction(extractOsAction(box(p)), extractOsAction(box(g))).score;
    expect(s("left_click(start_box='[100, 200]', element_info='x')", "left_click(start_box='[100, 200]')")).toBe(1);
    expect(s("right_click(start_box='[100, 200]')", "left_click(start_box='[100, 200]')")).toBe(0);
    expect(s("left_drag(start_box='[105, 95]', end_box='[295, 305]')", "left_drag(start_box='[100, 100]', end_box='[300, 300]')")).toBeGreaterThan(0.9);
    expect(s("scroll(start_box='[198, 202]', direction='down', step=3)", "scroll(start_box='[200, 200]', direction='down', step=3)")).toBeGreaterThan(0.9);
    expect(s("scroll(start_box='[200, 200]', direction='up', step=3)", "scroll(start_box='[200, 200]', direction='down', step=3)")).toBe(0);
    expect(s("type(content='Hello World!')", "type(content='Hello World!')")).toBe(1);
    expect(s("type(content='Goodbye World!')", "type(content='Hello World!')")).toBeGreaterThan(0.2);
    expect(s("key(keys='Ctrl+C')", "key(keys='ctrl+c')")).toBe(1);
    expect(s('WAIT()', 'WAIT()')).toBe(1);
    expect(s('wait()', 'WAIT()')).toBe(0);
    expect(typedTextSimilarity('aaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaa')).toBeCloseTo(0.3, 12);
  });
});

describe('WebVoyager', () => {
  const s = (p: string, g: string) => scoreWebAction(p, g).score;
  it('scores CLICK / TYPE / KEY_PRESS / SCROLL / ANSWER', () => {
    expect(s("CLICK(point=(214, 100), element_info='Dinners')", "CLICK(point=(214, 100), element_info='Dinners')")).toBe(1);
    expect(s("CLICK(point=(214, 100), element_info='Dinners')", "CLICK(point=(230, 100), element_info='Dinners')")).toBe(0.05);
    expect(s("CLICK(point=(214, 100), element_info='A')", "CLICK(point=(230, 100), element_info='B')")).toBe(0);
    expect(s("TYPE(point=(214, 100), text='bcd')", "TYPE(point=(200, 100), text='abcd')")).toBeCloseTo(0.75 * 0.95, 12);
    expect(s("KEY_PRESS(key='Return')", "KEY_PRESS(key='Enter')")).toBe(0.05);
    expect(s("KEY_PRESS(key='enter')", "KEY_PRESS(key='Enter')")).toBe(1);
    expect(s('SCROLL_DOWN(point=(1, 2), distance=0.5)', 'SCROLL_DOWN(point=(1, 2), distance=0.75)')).toBeCloseTo(2 / 3, 12);
    expect(s("ANSWER(content='Dinners')", "ANSWER(content='Dinner')")).toBeCloseTo(6 / 7, 12);
    expect(s('Click [5]', 'Click [5]')).toBe(1);
    expect(s('TYPE(point=(1, 2))', 'CLICK(point=(1, 2))')).toBe(0);
    expect(lcsLength('abcd', 'bcd')).toBe(3);
  });
  it('extracts the action from the box of a GLM response', async () => {
    const wrap = (a: string) => `<think></think><answer><|begin_of_box|>${a}<|end_of_box|></answer>`;
    expect((await verify({ domain: 'WebVoyager', response: wrap("ANSWER(content='x')"), groundTruth: wrap("ANSWER(content='x')") })).score).toBe(1);
    expect((await verify({ domain: 'WebVoyager', response: "ANSWER(content='x')", groundTruth: "ANSWER(content='x')" })).formatOk).toBe(false);
  });
});
