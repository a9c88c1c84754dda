import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../pipelines/shared/random.js';
import { parseTeacherOutput } from '../../../pipelines/synthesize/model/teacher-format.js';

const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

describe('the teacher output format', () => {
  it('reads well-formed items however they are spaced, cased and surrounded', () => {
    const random = mulberry32(3);
    for (let trial = 0; trial < 300; trial++) {
      const count = 1 + Math.floor(random() * 5);
      const truth = Array.from({ length: count }, (_, i) => ({
        question: `What is the total of bar ${i} and bar ${i + 1} in the chart?`,
        answer: pick(random, ['42', '3.5', '\\frac{1}{2}', 'Paris', '1,200', '25%', '12 cm']),
        type: '' as string,
      }));
      for (const t of truth) t.type = /^[\d.,]+(?:%| cm)?$/.test(t.answer) ? 'numeric' : t.answer.startsWith('\\') ? 'expression' : 'text';
      const sp = () => pick(random, ['', ' ', '\n', '\n  ']);
      const tag = (name: string) => (random() < 0.2 ? name.toUpperCase() : name);
      const body = truth
        .map((t) => `<${tag('item')}>${sp()}<question>${sp()}${t.question}${sp()}</question>${sp()}<answer>${random() < 0.3 ? `$${t.answer}$` : t.answer}</answer>${sp()}<type>${random() < 0.3 ? t.type.toUpperCase() : t.type}</type>${sp()}</${tag('item')}>`)
        .join(pick(random, ['\n', '\n\n', ' ', '\nNext one:\n']));
      const text = `${random() < 0.5 ? '<think>I will look at the bars first.</think>\n' : ''}${random() < 0.5 ? 'Here are the questions:\n' : ''}${body}${random() < 0.3 ? '\nDone.' : ''}`;
      const parsed = parseTeacherOutput(text);
      expect(parsed.problems, text).toEqual([]);
      expect(parsed.questions, text).toEqual(truth.map((t) => ({ question: t.question, answer: t.answer, type: t.type })));
    }
  });

  it('leaves out each malformed item with what is wrong, and keeps the others', () => {
    const good = '<item><question>How many?</question><answer>3</answer><type>numeric</type></item>';
    const cases: [string, string][] = [
      ['<item><answer>3</answer><type>numeric</type></item>', 'no <question>'],
      ['<item><question>How many?</question><type>numeric</type></item>', 'no <answer>'],
      ['<item><question>How many?</question><answer>3</answer></item>', 'no <type>'],
      ['<item><question>How many?</question><answer>3</answer><answer>4</answer><type>numeric</type></item>', '2 <answer> fields'],
      ['<item><question>A?</question><question>B?</question><answer>3</answer><type>numeric</type></item>', '2 <question> fields'],
      ['<item><question>How many?</question><answer>three or four</answer><type>numeric</type></item>', 'numeric answer is not a number: "three or four"'],
      ['<item><question>How many?</question><answer>3</answer><type>multiple choice</type></item>', 'unknown type "multiple choice"'],
      ['<item><question> </question><answer>3</answer><type>numeric</type></item>', 'empty question'],
      ['<item><question>How many?</question><answer>  </answer><type>numeric</type></item>', 'empty answer'],
    ];
    for (const [bad, problem] of cases) {
      const parsed = parseTeacherOutput(`${good}\n${bad}\n${good.replace('How many?', 'How many more?')}`);
      expect(parsed.problems, bad).toEqual([{ item: 1, problem }]);
      expect(parsed.questions.map((q) => q.question)).toEqual(['How many?', 'How many more?']);
      expect(parsed.items).toBe(3);
    }
    expect(parseTeacherOutput('Q: how many? A: 3')).toEqual({ questions: [], problems: [], items: 0 });
    expect(parseTeacherOutput('<think><item><question>x?</question><answer>1</answer><type>numeric</type></item></think>').items).toBe(0);
  });
});
