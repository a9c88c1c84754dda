import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { choiceLetters, gsm8kAnswer, lastBoxed, leadingNumber, literalOptions, splitInlineOptions } from '../../pipelines/ingest/qa/answer.js';
import { mapQaRecord } from '../../pipelines/ingest/qa/map-record.js';
import { QA_PRESETS, resolvePreset } from '../../pipelines/ingest/qa/presets.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const preset = (name: keyof typeof QA_PRESETS) => resolvePreset({ name: 'x', type: 'qa', path: 'x', format: 'jsonl', preset: name, domain: 'math' });

describe('answer extraction rules', () => {
  it('finds the last \\boxed{} with nested braces', () => {
    expect(lastBoxed('so $\\boxed{\\frac{1}{2}}$ and then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.')).toBe('\\left( 3, \\frac{\\pi}{2} \\right)');
    expect(lastBoxed('no box')).toBeNull();
    expect(lastBoxed('\\boxed{unbalanced')).toBeNull();
  });
  it('reads GSM8K #### answers and strips thousands separators', () => {
    expect(gsm8kAnswer('work\n#### 1,234')).toEqual({ answer: '1234', solution: 'work' });
  });
  it('splits inline options in sequence, not at every capital letter', () => {
    expect(splitInlineOptions('A. 1,190 B. 1,900 C. 2,900 D. 19,000')).toEqual(['1,190', '1,900', '2,900', '19,000']);
    expect(splitInlineOptions('A) $f(-6)=0$ B) Plan B. works C) none')).toEqual(['$f(-6)=0$', 'Plan B. works', 'none']);
  });
  it('reads options written as JSON or Python literals', () => {
    expect(literalOptions("['shortage', 'surplus']")).toEqual(['shortage', 'surplus']);
    expect(literalOptions(`{'B': '98.6', 'A': "Tom's"}`)).toEqual(["Tom's", '98.6']);
    expect(literalOptions('None')).toEqual([]);
    expect(literalOptions({ A: 'x', B: 'y' })).toEqual(['x', 'y']);
    expect(literalOptions('shortage or surplus')).toBeNull();
  });
  it('recognises option letters and leading numbers', () => {
    expect(choiceLetters('(B)', 4)).toEqual(['B']);
    expect(choiceLetters('A, C', 4)).toEqual(['A', 'C']);
    expect(choiceLetters('E', 4)).toBeNull();
    expect(leadingNumber('9 (apples)')).toBe('9');
    expect(leadingNumber('Mrs. Hilt')).toBe('Mrs. Hilt');
  });
});

describe('presets map the public formats', () => {
  it.each([
    ['gsm8k', { question: 'Q?', answer: 'a\n#### 18' }, '18', 'numeric'],
    ['math500', { problem: 'P', solution: 'S \\boxed{3}', answer: '\\left( 3, \\frac{\\pi}{2} \\right)' }, '\\left( 3, \\frac{\\pi}{2} \\right)', 'expression'],
    ['minerva', { problem: 'P', solution: 'thus \\boxed{4.5e-3}' }, '4.5e-3', 'expression'],
    ['olympiadbench', { context: 'C', question: 'Q', final_answer: ['$2$'] }, '2', 'numeric'],
    ['aqua', { question: 'Q', options: ['A)5', 'B)6'], correct: 'B' }, 'B', 'choice'],
    ['mmlu', { question: 'Q', choices: ['x', 'y', 'z'], answer: 2 }, 'C', 'choice'],
    ['sat', { question: 'Q', options: 'A) 1 B) 2', Answer: 'A' }, 'A', 'choice'],
    ['svamp', { Body: 'B', Question: 'Q', Answer: 145.0 }, '145', 'numeric'],
    ['qwen-eval', { question: 'Q', answer: '$\\{x|-2\\leq x < 1\\}$' }, '\\{x|-2\\leq x < 1\\}', 'expression'],
  ] as const)('%s', (name, record, answer, type) => {
    const mapped = mapQaRecord(record, preset(name), undefined);
    expect(mapped.task.answer).toBe(`<|begin_of_box|>${answer}<|end_of_box|>`);
    expect(mapped.task.answer_type).toBe(type);
  });
  it('joins several question fields (context first)', () => {
    expect(mapQaRecord({ context: 'C', question: 'Q', final_answer: ['1'] }, preset('olympiadbench'), undefined).question).toBe('C\n\nQ');
  });
});

const CORPUS = join(REPO_ROOT, '..', 'shared', 'corpora', 'math_stem_qa');
describe.skipIf(!existsSync(CORPUS))('real corpora (../shared/corpora/math_stem_qa)', () => {
  let ws: Workspace;
  afterAll(() => ws?.cleanup());
  it('ingests every text set, MathVision and Geometry3K with ≥ 99% kept', async () => {
    ws = await createWorkspace();
    const sets: Array<[string, string, string]> = [
      ['gsm8k', 'text/gsm8k_test.jsonl', 'gsm8k'],
      ['math500', 'text/math500_test.jsonl', 'math500'],
      ['aime24', 'text/aime24_test.jsonl', 'qwen-eval'],
      ['minerva', 'text/minerva_math_test.jsonl', 'minerva'],
      ['olympiadbench', 'text/olympiadbench_test.jsonl', 'olympiadbench'],
      ['aqua', 'text/aqua_test.jsonl', 'aqua'],
      ['mmlu', 'text/mmlu_stem_test.jsonl', 'mmlu'],
      ['sat', 'text/sat_math_test.jsonl', 'sat'],
      ['svamp', 'text/svamp_test.jsonl', 'svamp'],
      ['asdiv', 'text/asdiv_test.jsonl', 'asdiv'],
      ['mathvision', 'mathvision_testmini/testmini.jsonl', 'mathvision'],
    ];
    const loaded = await ws.config({
      datasets: {
        c: {
          sources: [
            ...sets.map(([name, path, p]) => ({ name, type: 'qa' as const, path: join(CORPUS, path), format: 'jsonl' as const, preset: p })),
            { name: 'geometry3k', type: 'qa', path: join(CORPUS, 'geometry3k_intergps/*/data.json'), format: 'json', preset: 'geometry3k' },
            // the text-only copy of MathVista: its image files are not there
            { name: 'mathvista', type: 'qa', path: join(CORPUS, 'mathvista_testmini_text/testmini.json'), format: 'json', preset: 'mathvista', fields: { question: 'question', images: [] } },
          ],
        },
      },
    });
    await runCommand(loaded, 'ingest', {});
    const rows = await queryShards(loaded, `SELECT split_part(unit, ':', 1) AS s, count(*) FILTER (WHERE decision = 'kept')::INT AS kept, count(*)::INT AS n FROM ledger GROUP BY 1`);
    expect(rows).toHaveLength(sets.length + 2);
    // MathVista's answers quote option texts, some of them numbers that are also option indexes: the preset's choice-text reads them;
    // pid 781 lists "18" twice (options 9, 12, 18, 18) and its answer is "18": C or D, so it is quarantined, not guessed
    expect(rows.find((r) => r.s === 'mathvista')).toMatchObject({ kept: 999, n: 1000 });
    const mathvista = await queryShards(loaded, `SELECT source_uri || '#' || locator AS at, reason FROM ledger WHERE decision = 'quarantined' AND unit LIKE 'mathvista:%'`);
    expect(mathvista).toEqual([{ at: expect.stringMatching(/testmini\.json#key:781$/), reason: 'ambiguous_choice_answer' }]);
    for (const r of rows) expect((r.kept as number) / (r.n as number), String(r.s)).toBeGreaterThanOrEqual(0.99);
    const chart = join(CORPUS, '..', 'chart_doc_qa');
    if (existsSync(chart)) {
      const charts = await ws.config({
        shardsDir: 'chart-shards',
        datasets: {
          chart: {
            sources: [
              { name: 'tabmwp', type: 'qa', path: join(chart, 'tabmwp_test1k/problems_test1k.json'), format: 'json', preset: 'tabmwp', domain: 'chart' },
              { name: 'finchart-mc', type: 'qa', path: join(chart, 'finchart_bench_sample/MC_data.sample.json'), format: 'json', preset: 'finchart', domain: 'chart' },
            ],
          },
        },
      });
      await runCommand(charts, 'ingest', {});
      const rows = await queryShards(charts, `SELECT source.name AS s, count(*)::INT AS n, count(*) FILTER (WHERE len(media) = 1)::INT AS img, count(*) FILTER (WHERE len(task.choices) > 0)::INT AS mc FROM samples GROUP BY 1 ORDER BY 1`);
      expect(rows).toEqual([
        { s: 'finchart-mc', n: 118, img: 118, mc: 118 },
        { s: 'tabmwp', n: 1000, img: 1000, mc: 249 },
      ]);
    }
    const images = await queryShards(loaded, `SELECT source.name AS s, count(*)::INT AS n FROM samples WHERE len(media) > 0 GROUP BY 1 ORDER BY 1`);
    expect(images).toEqual([
      { s: 'geometry3k', n: 10 },
      { s: 'mathvision', n: 304 },
    ]);
  });
});
