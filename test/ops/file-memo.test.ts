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

describe('HTML pages and COCO instances through the file memo', () => {
  function coco(images: number, tag: string): string {
    return JSON.stringify({
      images: Array.from({ length: images }, (_, i) => ({ id: i + 1, file_name: `${tag}-${i}.jpg`, width: 64 + i, height: 48 })),
      categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }],
      annotations: Array.from({ length: images }, (_, i) => ({ id: 100 + i, image_id: i + 1, category_id: 1 + (i % 2), bbox: [1, 2, 10 + i, 12] })),
    });
  }

  async function plan(ws: Workspace, memo: FileMemo | null): Promise<{ units: unknown[]; ctx: StageContext }> {
    const loaded = await ws.config({
      datasets: {
        d: {
          sources: [
            { name: 'pages', type: 'interleaved', format: 'html', path: 'pages', pagesPerUnit: 2 },
            { name: 'boxes', type: 'grounding', format: 'coco', path: 'coco/instances_*.json', imageRoot: 'coco/images' },
          ],
          ingest: { unitRows: 3 },
        },
      },
    });
    const ctx = await stageContext(loaded, 'd', new AbortController().signal);
    ctx.files = memo ?? FileMemo.inMemory({ racyWindowMs: 1e12 });
    const units = await planStage(await loadStage('ingest'), ctx);
    return { units: units.map((u) => ({ id: u.id, fingerprint: u.fingerprint, size: u.size, payload: u.payload })), ctx };
  }

  it('a re-run reads no unchanged page or instances file, and every change plans like a plan without the memo', async () => {
    ws = await createWorkspace();
    for (let p = 0; p < 5; p++) await ws.write(`pages/p${p}.html`, `<html><body><article><h1>Page ${p}</h1><p>${'text '.repeat(20 + p)}</p></article></body></html>`);
    await ws.write('coco/instances_a.json', coco(7, 'a'));
    await ws.write('coco/instances_b.json', coco(4, 'b'));
    const memo = await FileMemo.open(ws.path('memo.json'), { racyWindowMs: 0 });
    const first = await plan(ws, memo);
    expect(first.units).toEqual((await plan(ws, null)).units);
    const misses = memo.misses;
    expect(misses).toBe(7);
    const again = await plan(ws, memo);
    expect(memo.misses).toBe(misses);
    expect(again.units).toEqual(first.units);

    const mutations: Array<[string, () => Promise<void>]> = [
      ['page edited, same size, old mtime', async () => {
        const p = ws!.path('pages/p1.html');
        const s = await stat(p);
        await writeFile(p, (await readFile(p, 'utf8')).replace('Page 1', 'Page X'));
        await utimes(p, s.atime, s.mtime);
      }],
      ['page added', () => writeFile(ws!.path('pages/p9.html'), '<html><body><p>new page with some words in it</p></body></html>')],
      ['page touched only', async () => utimes(ws!.path('pages/p3.html'), new Date(), new Date(Date.now() + 5000))],
      ['instances replaced by rename', async () => {
        const p = ws!.path('coco/instances_b.json');
        const tmp = ws!.path('coco/swap.tmp');
        await writeFile(tmp, coco(6, 'b'));
        await rename(tmp, p);
      }],
      ['instances annotations changed, same size', async () => {
        const p = ws!.path('coco/instances_a.json');
        const s = await stat(p);
        await writeFile(p, (await readFile(p, 'utf8')).replace('"category_id":1', '"category_id":2'));
        await utimes(p, s.atime, s.mtime);
      }],
    ];
    for (const [name, mutate] of mutations) {
      const before = memo.misses;
      await mutate();
      const withMemo = await plan(ws, memo);
      expect(withMemo.units, name).toEqual((await plan(ws, null)).units);
      expect(memo.misses - before, name).toBe(1);
    }
  });
});
