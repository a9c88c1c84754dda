import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, makePng, makeTruncatedJpeg, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;

beforeAll(async () => {
  ws = await createWorkspace();
  await ws.write('img/a.png', await makePng(1));
  await ws.write('img/b.png', await makePng(2));
  await ws.write('img/broken.jpg', await makeTruncatedJpeg());
  await ws.write('img/not-an-image.png', 'hello, I am text');
  const b64 = (await makePng(3)).toString('base64');
  const lines = [
    JSON.stringify({ id: 1, question: 'What is 2+2?', answer: '4', image: 'img/a.png' }),
    '{"id": 2, "question": "broken json", ',
    JSON.stringify({ id: 3, question: 'Empty answer', answer: '  ' }),
    JSON.stringify({ id: 4, question: 'Missing image', answer: '1', image: 'img/missing.png' }),
    '',
    JSON.stringify({ id: 5, question: 'Truncated JPEG', answer: '1', image: 'img/broken.jpg' }),
    JSON.stringify({ id: 6, question: 'Base64 image', answer: '\\frac{1}{2}', image: `data:image/png;base64,${b64}` }),
    JSON.stringify({ id: 7, answer: '3' }),
    JSON.stringify({ id: 8, question: 'Same image again', answer: '5', image: 'img/a.png' }),
    JSON.stringify({ id: 9, question: 'Text file named .png', answer: '5', image: 'img/not-an-image.png' }),
    JSON.stringify({ id: 10, question: 'Choices', answer: 'C', options: ['x', 'y', 'z'] }),
    JSON.stringify({ id: 11, question: 'Bad letter', answer: 'Q', options: ['x', 'y'] }),
    '[1, 2]',
  ];
  await ws.write('qa.jsonl', lines.join('\n') + '\n');
  await ws.write('gsm.jsonl', JSON.stringify({ question: 'Ducks?', answer: 'step\n#### 1,234' }) + '\n' + JSON.stringify({ question: 'No marker', answer: '42' }) + '\n');
  loaded = await ws.config({
    datasets: {
      t: {
        sources: [
          { name: 'qa', type: 'qa', path: 'qa.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer', images: 'image', choices: 'options' } },
          { name: 'gsm', type: 'qa', path: 'gsm.jsonl', format: 'jsonl', preset: 'gsm8k' },
        ],
        ingest: { unitRows: 4 },
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(() => ws?.cleanup());

describe('ingest accounting on planted bad input', () => {
  it('gives every input exactly one decision and balances the funnel', async () => {
    const funnel = await queryShards(loaded, `SELECT decision, count(*)::INT AS n FROM ledger GROUP BY ALL ORDER BY decision`);
    expect(funnel).toEqual([
      { decision: 'kept', n: 5 },
      { decision: 'quarantined', n: 9 },
    ]);
    // 12 non-blank lines in qa.jsonl + 2 in gsm.jsonl, read in units of 4
    const manifest = (await readManifest(ws.path('shards/t/ingest/_manifest.jsonl'), 'ingest')) as { units: Record<string, { counts: { in: number; kept: number; dropped: number; quarantined: number } }> };
    const units = Object.values(manifest.units);
    expect(units).toHaveLength(4);
    for (const { counts } of units) expect(counts.in).toBe(counts.kept + counts.dropped + counts.quarantined);
    expect(units.reduce((n, u) => n + u.counts.in, 0)).toBe(14);
    const samples = await queryShards(loaded, `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM samples`);
    expect(samples[0]).toEqual({ n: 5, ids: 5 });
  });

  it('stores each distinct image once and describes it', async () => {
    const media = await queryShards(loaded, `SELECT m.id, m.mime, m.width, m.height, m.phash FROM (SELECT unnest(media) AS m FROM samples)`);
    expect(media).toHaveLength(3);
    expect(new Set(media.map((m) => m.id)).size).toBe(2);
    for (const m of media) expect(m).toMatchObject({ mime: 'image/png', width: 64, height: 48, phash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const mc = await queryShards(loaded, `SELECT task.answer, task.answer_type, task.verifier FROM samples WHERE source.locator = 'line:11'`);
    expect(mc).toEqual([{ answer: '<|begin_of_box|>C<|end_of_box|>', answer_type: 'choice', verifier: 'multiple_choice' }]);
    const gsm = await queryShards(loaded, `SELECT task.answer, task.solution FROM samples WHERE source.name = 'gsm'`);
    expect(gsm).toEqual([{ answer: '<|begin_of_box|>1234<|end_of_box|>', solution: 'step' }]);
  });

  it('names the reason for each quarantined input and keeps the raw input', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri, locator, reason, details FROM ledger WHERE decision = 'quarantined' ORDER BY source_uri, locator`);
    const reasons = Object.fromEntries(rows.map((r) => [`${r.source_uri}#${r.locator}`, r.reason]));
    expect(reasons).toEqual({
      'gsm.jsonl#line:2': 'empty_answer',
      'qa.jsonl#line:2': 'malformed_json',
      'qa.jsonl#line:3': 'empty_answer',
      'qa.jsonl#line:4': 'missing_image',
      'qa.jsonl#line:6': 'corrupt_image',
      'qa.jsonl#line:8': 'missing_question',
      'qa.jsonl#line:10': 'corrupt_image',
      'qa.jsonl#line:12': 'answer_not_in_choices',
      'qa.jsonl#line:13': 'not_an_object',
    });
    const raw = (locator: string) => JSON.parse(rows.find((r) => r.source_uri === 'qa.jsonl' && r.locator === locator)!.details as string).raw as string;
    expect(raw('line:2')).toBe('{"id": 2, "question": "broken json", ');
    expect(JSON.parse(raw('line:3'))).toEqual({ id: 3, question: 'Empty answer', answer: '  ' });
  });
});
