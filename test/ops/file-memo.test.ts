import { appendFile, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { fileMemoPath, stageContext } from '../../pipelines/shared/runner/context.js';
import { planStage } from '../../pipelines/shared/runner/run-stage.js';
import type { StageContext } from '../../pipelines/shared/runner/stage.js';
import { FileMemo } from '../../pipelines/shared/store/file-memo.js';
import { loadStage } from '../../pipelines/stages.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

function rows(n: number, tag: string): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ question: `${tag} question ${i}?`, answer: String(i) })).join('\n') + '\n';
}

describe('FileMemo', () => {
  it('reuses a value while size, mtime, ctime, inode and device are unchanged, and recomputes on any change', async () => {
    ws = await createWorkspace();
    const file = await ws.write('a.txt', 'hello');
    const memo = FileMemo.inMemory({ racyWindowMs: 0 });
    let computed = 0;
    const compute = async () => {
      computed++;
      return (await readFile(file, 'utf8')).length;
    };
    expect(await memo.get(file, 'len', compute)).toBe(5);
    expect(await memo.get(file, 'len', compute)).toBe(5);
    expect(computed).toBe(1);

    // Same size, content changed, mtime put back: ctime still moves.
    const before = await stat(file);
    await writeFile(file, 'jello');
    await utimes(file, before.atime, before.mtime);
    expect(await memo.get(file, 'len', compute)).toBe(5);
    expect(computed).toBe(2);

    // Replaced by rename (a new inode) with the same size.
    await writeFile(ws.path('b.txt'), 'howdy');
    await rename(ws.path('b.txt'), file);
    await memo.get(file, 'len', compute);
    expect(computed).toBe(3);

    await appendFile(file, '!');
    expect(await memo.get(file, 'len', compute)).toBe(6);
    expect(computed).toBe(4);
    // Another kind of value for the same file is computed once, next to the first.
    expect(await memo.get(file, 'upper', async () => 'X')).toBe('X');
    expect(await memo.get(file, 'len', compute)).toBe(6);
    expect(computed).toBe(4);
  });

  it('does not trust an entry recorded within the racy window of the file change', async () => {
    ws = await createWorkspace();
    const file = await ws.write('a.txt', 'hello');
    const memo = FileMemo.inMemory({ racyWindowMs: 60_000 });
    let computed = 0;
    for (let i = 0; i < 3; i++) await memo.get(file, 'v', async () => ++computed);
    expect(computed).toBe(3);
  });

  it('persists across opens and survives a torn file', async () => {
    ws = await createWorkspace();
    const file = await ws.write('a.txt', 'hello');
    const path = ws.path('memo', 'memo.json');
    const first = await FileMemo.open(path, { racyWindowMs: 0 });
    await first.get(file, 'v', async () => 'one');
    await first.save();
    const second = await FileMemo.open(path, { racyWindowMs: 0 });
    expect(await second.get(file, 'v', async () => 'two')).toBe('one');
    await writeFile(path, '{"version":1,"files":{"x"');
    const torn = await FileMemo.open(path, { racyWindowMs: 0 });
    expect(await torn.get(file, 'v', async () => 'three')).toBe('three');
  });
});

describe('ingest planning with the file memo', () => {
  /** The ingest plan of a dataset; `memo` replaces the context's own (null: no memo at all, every file read). */
  async function plan(ws: Workspace, memo: FileMemo | null): Promise<{ units: { id: string; fingerprint: string; size: number }[]; ctx: StageContext }> {
    const loaded = await ws.config({
      datasets: {
        d: {
          sources: [
            { name: 'a', type: 'qa', path: 'qa/*.jsonl', format: 'jsonl', fields: { question: 'question', answer: 'answer' } },
            { name: 'c', type: 'qa', path: 'qa/*.csv', format: 'csv', fields: { question: 'question', answer: 'answer' } },
          ],
          ingest: { unitRows: 7 },
        },
      },
    });
    const ctx = await stageContext(loaded, 'd', new AbortController().signal);
    ctx.files = memo ?? FileMemo.inMemory({ racyWindowMs: 1e12 });
    const units = await planStage(await loadStage('ingest'), ctx);
    return { units: units.map((u) => ({ id: u.id, fingerprint: u.fingerprint, size: u.size })), ctx };
  }

  it('a re-run reads no unchanged file, and every kind of change plans exactly like a plan without the memo', async () => {
    ws = await createWorkspace();
    for (let f = 0; f < 4; f++) await ws.write(`qa/part-${f}.jsonl`, rows(10 + f * 3, `f${f}`));
    await ws.write('qa/table.csv', 'question,answer\n' + Array.from({ length: 12 }, (_, i) => `q${i}?,${i}`).join('\n') + '\n');
    const memo = await FileMemo.open(ws.path('memo.json'), { racyWindowMs: 0 });
    const first = await plan(ws, memo);
    expect(memo.misses).toBe(5);

    const again = await plan(ws, memo);
    expect(memo.misses).toBe(5);
    expect(memo.hits).toBe(5);
    expect(again.units).toEqual(first.units);

    const mutations: Array<[string, () => Promise<void>]> = [
      ['append rows', () => appendFile(ws!.path('qa/part-0.jsonl'), rows(5, 'new'))],
      [
        'same-size rewrite with the old mtime',
        async () => {
          const p = ws!.path('qa/part-1.jsonl');
          const s = await stat(p);
          await writeFile(p, (await readFile(p, 'utf8')).replace('f1 question 0', 'f1 question X'));
          await utimes(p, s.atime, s.mtime);
        },
      ],
      [
        'replace by rename, same size and mtime',
        async () => {
          const p = ws!.path('qa/part-2.jsonl');
          const s = await stat(p);
          const tmp = ws!.path('swap.tmp');
          await writeFile(tmp, (await readFile(p, 'utf8')).replace('f2 question 1', 'f2 question Y'));
          await utimes(tmp, s.atime, s.mtime);
          await rename(tmp, p);
        },
      ],
      ['touch only', async () => utimes(ws!.path('qa/part-3.jsonl'), new Date(), new Date(Date.now() + 5000))],
      ['csv rows added', () => appendFile(ws!.path('qa/table.csv'), 'q99?,99\nq100?,100\n')],
      ['new file', () => writeFile(ws!.path('qa/part-9.jsonl'), rows(3, 'f9'))],
    ];
    for (const [name, mutate] of mutations) {
      await mutate();
      const withMemo = await plan(ws, memo);
      const without = await plan(ws, null);
      expect(withMemo.units, name).toEqual(without.units);
    }
    // A touched file keeps its fingerprint: its unit stays committed.
    const touched = (u: { id: string }) => u.id.includes('part-3');
    expect((await plan(ws, memo)).units.filter(touched)).toEqual(first.units.filter(touched));
  });

  it('the CLI context persists the memo per dataset, so a later process reuses it', async () => {
    ws = await createWorkspace();
    await ws.write('qa/part-0.jsonl', rows(9, 'p'));
    const loaded = await ws.config({ datasets: { d: { sources: [{ name: 'a', type: 'qa', path: 'qa/*.jsonl', format: 'jsonl', fields: { question: 'question', answer: 'answer' } }] } } });
    const ctx = await stageContext(loaded, 'd', new AbortController().signal);
    await planStage(await loadStage('ingest'), ctx);
    expect(ctx.files.misses).toBe(1);
    const reopened = await FileMemo.open(fileMemoPath(ctx.layout), { racyWindowMs: 0 });
    const remembered = await reopened.get(ws.path('qa/part-0.jsonl'), 'records:jsonl:2000', async () => {
      throw new Error('not remembered');
    });
    expect(remembered).toMatchObject({ records: 9 });
  });
});
