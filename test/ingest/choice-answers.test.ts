import { describe, expect, it } from 'vitest';
import { mapQaRecord } from '../../pipelines/ingest/qa/map-record.js';
import { resolvePreset } from '../../pipelines/ingest/qa/presets.js';
import type { QaSourceConfig } from '../../pipelines/ingest/qa/config.js';
import { RecordError } from '../../pipelines/ingest/record-error.js';
import { mulberry32 } from '../../pipelines/shared/random.js';

/**
 * Multiple-choice answers written three ways (a 0-based index, a letter, the option's text), over
 * options that are themselves small numbers or single letters, so many answers read more than one way.
 * Whatever the source's answer rule, a record is either labelled with the option it means or
 * quarantined with a reason: never labelled with another option.
 */
type Convention = 'index' | 'letter' | 'text';
const LETTERS = 'ABCDEFGH';

function generate(seed: number) {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const k = 2 + Math.floor(random() * 5);
  const pool = pick([
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '12', '-1'],
    ['A', 'B', 'C', 'D', 'E', 'x', 'y'],
    ['1', '2', 'A', 'B', 'none', 'both', '3.5'],
  ]);
  const options: string[] = [];
  while (options.length < k) {
    const o = pick(pool);
    if (!options.includes(o)) options.push(o);
  }
  const truth = Math.floor(random() * k);
  const convention = pick(['index', 'letter', 'text'] as const);
  const answer = convention === 'index' ? (random() < 0.5 ? truth : String(truth)) : convention === 'letter' ? LETTERS[truth]! : options[truth]!;
  return { record: { question: `Q${seed}`, choices: options, answer }, truth, convention };
}

const source = (answer?: QaSourceConfig['answer']) =>
  resolvePreset({ name: 's', type: 'qa', path: 'x', format: 'jsonl', domain: 'math', fields: { question: 'question', answer: 'answer', choices: 'choices' }, ...(answer ? { answer } : {}) });

const RULE_OF: Record<Convention, QaSourceConfig['answer']> = { index: 'choice-index', letter: 'choice-letter', text: 'choice-text' };

function outcome(record: object, answer?: QaSourceConfig['answer']): string {
  try {
    return mapQaRecord(record, source(answer), undefined).task.answer.replace(/<\|(begin|end)_of_box\|>/g, '');
  } catch (err) {
    if (err instanceof RecordError) return `quarantined:${err.reason}`;
    throw err;
  }
}

describe('multiple-choice answers that read more than one way', () => {
  const cases = Array.from({ length: 3000 }, (_, i) => generate(i + 1));

  it('the default rule never labels a record with an option it does not mean', () => {
    const tally = { right: 0, quarantined: 0 };
    for (const { record, truth } of cases) {
      const got = outcome(record);
      if (got.startsWith('quarantined:')) {
        tally.quarantined++;
        expect(['quarantined:ambiguous_choice_answer', 'quarantined:answer_not_in_choices']).toContain(got);
      } else {
        expect(got, JSON.stringify(record)).toBe(LETTERS[truth]);
        tally.right++;
      }
    }
    // The generator makes both kinds often; a rule that quarantined everything would not pass.
    expect(tally.right).toBeGreaterThan(1000);
    expect(tally.quarantined).toBeGreaterThan(300);
  });

  it('the rule that names the convention labels every record right', () => {
    for (const { record, truth, convention } of cases) expect(outcome(record, RULE_OF[convention]), JSON.stringify(record)).toBe(LETTERS[truth]);
  });

  it('says which rules settle an ambiguous answer', () => {
    try {
      mapQaRecord({ question: 'Q', choices: ['1', '2', '3', '4'], answer: 2 }, source(), undefined);
      expect.unreachable();
    } catch (err) {
      expect((err as RecordError).reason).toBe('ambiguous_choice_answer');
      expect((err as Error).message).toMatch(/option B .*0-based index \(option C\).*'choice-index' or 'choice-text'/);
    }
    expect(() => mapQaRecord({ question: 'Q', choices: ['a', 'b', 'c'], answer: 1 }, source(), undefined)).toThrow(/set answer: 'choice-index'/);
  });

  it('refuses an answer that quotes two options with the same text, and more options than letters', () => {
    const random = mulberry32(77);
    for (let i = 0; i < 200; i++) {
      const k = 3 + Math.floor(random() * 5);
      const options = Array.from({ length: k }, (_, j) => `value ${j}`);
      const [a, b] = [Math.floor(random() * k), Math.floor(random() * k)];
      if (a === b) continue;
      options[b] = options[a]!;
      expect(outcome({ question: 'Q', choices: options, answer: options[a] })).toBe('quarantined:ambiguous_choice_answer');
      expect(outcome({ question: 'Q', choices: options, answer: options[a] }, 'choice-text')).toBe('quarantined:ambiguous_choice_answer');
      // a letter or an index still names one option
      expect(outcome({ question: 'Q', choices: options, answer: LETTERS[b] }, 'choice-letter')).toBe(LETTERS[b]);
    }
    const many = Array.from({ length: 27 }, (_, j) => `option ${j}`);
    expect(outcome({ question: 'Q', choices: many, answer: 'option 26' })).toBe('quarantined:bad_choices');
  });

  it('keeps answers that read the same both ways', () => {
    expect(outcome({ question: 'Q', choices: ['0', '1', '2'], answer: 1 })).toBe('B');
    expect(outcome({ question: 'Q', choices: ['A', 'B', 'C'], answer: 'C' })).toBe('C');
    expect(outcome({ question: 'Q', choices: ['12', '3', '7'], answer: '7' })).toBe('C');
  });
});
