import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { makeDocument, makeScene } from '../support/scenes.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

describe('filter: an index shared by several datasets', () => {
  it('drops from the later dataset what the earlier one holds, under another file name and source, and never the reverse', async () => {
    ws = await createWorkspace();
    const fields = { id: 'id', question: 'question', answer: 'answer' };
    const docs = Array.from({ length: 6 }, (_, i) => makeDocument(i, 40).join(' '));
    await ws.write('rl/train.jsonl', docs.map((q, i) => JSON.stringify({ id: `rl${i}`, question: q, answer: String(i) })).join('\n') + '\n');
    // The pre-training set holds two of the RL questions under other ids, file and source names, and a new one.
    await ws.write('pt/other-name.jsonl', [docs[1], docs[4], makeDocument(99, 40).join(' ')].map((q, i) => JSON.stringify({ id: `pt${i}`, question: q, answer: 'x' })).join('\n') + '\n');
    await ws.write('rl/img/a.jpg', await makeScene(1));
    await ws.write('pt/img/renamed.jpg', await makeScene(1));
    await ws.write('rl/pairs.jsonl', JSON.stringify({ id: 'c1', image: 'img/a.jpg', caption: 'A scene with shapes in it.' }) + '\n');
    await ws.write('pt/pairs.jsonl', JSON.stringify({ id: 'c2', image: 'img/renamed.jpg', caption: 'Shapes under a gradient sky.' }) + '\n');
    const caption = (path: string) => ({ name: 'captions', type: 'caption' as const, layout: 'records' as const, path, format: 'jsonl' as const, fields: { id: 'id', image: 'image', captions: 'caption' } });
    const config: PipelineConfigInput = {
      datasets: {
        rl: { sources: [{ name: 'math', type: 'qa', path: 'rl/train.jsonl', format: 'jsonl', fields }, caption('rl/pairs.jsonl')], filter: { sharedIndex: 'all' } },
        pretrain: { sources: [{ name: 'web', type: 'qa', path: 'pt/other-name.jsonl', format: 'jsonl', fields }, caption('pt/pairs.jsonl')], filter: { sharedIndex: 'all' } },
      },
    };
    const loaded = await ws.config(config);
    // The later dataset first, then the earlier one, then the later one again: order of runs must not matter.
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', { dataset: 'pretrain' });
    await runCommand(loaded, 'filter', { dataset: 'rl' });
    await runCommand(loaded, 'filter', { dataset: 'pretrain' });
    const rows = await queryShards(
      loaded,
      `SELECT s.dataset, json_extract_string(s.meta, '$.id') AS mid, s.source.locator AS locator, l.reason, (l.details::JSON->>'kept_sample_id') AS kept,
              (SELECT k.dataset FROM ingest_samples k WHERE k.id = (l.details::JSON->>'kept_sample_id')) AS kept_dataset
       FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id WHERE l.stage = 'filter' ORDER BY s.dataset, s.source.name, locator`,
    );
    const rl = rows.filter((r) => r.dataset === 'rl');
    expect(rl.every((r) => r.reason === 'ok')).toBe(true);
    expect(rl.length).toBe(7);
    const pt = rows.filter((r) => r.dataset === 'pretrain');
    expect(pt.map((r) => r.reason)).toEqual(['exact_dup:image', 'exact_dup:text', 'exact_dup:text', 'ok']);
    for (const r of pt.filter((x) => x.reason !== 'ok')) expect(r.kept_dataset).toBe('rl');
  }, 180_000);
});
