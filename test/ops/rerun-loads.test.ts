import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkspace, REPO_ROOT, runCli, type Workspace } from '../support/workspace.js';

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

const HEAVY = ['zod', '@duckdb/node-api', 'sharp', 'onnxruntime-node', 'echarts', 'eld'];

async function tracedRun(args: string[], trace: string): Promise<string[]> {
  const run = await runCli(args, { env: { NODE_OPTIONS: `--import=${join(REPO_ROOT, 'test', 'support', 'module-trace.mjs')}`, STRATUM_MODULE_TRACE: trace } });
  expect(run.code, run.stderr).toBe(0);
  const files = (await readFile(trace, 'utf8')).split('\n');
  return HEAVY.filter((pkg) => files.some((f) => f.includes(`/node_modules/${pkg}/`)));
}

describe('what a nightly re-run loads', () => {
  it('a re-run with nothing new loads none of the heavy libraries, a text append none for images or models; the first run (the control) does', async () => {
    ws = await createWorkspace();
    const rows = Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `How many apples are in basket ${i} if it holds ${i} pears and ${i + 2} apples?`, answer: String(i + 2) })).join('\n');
    await ws.write('qa/a.jsonl', `${rows}\n`);
    await ws.write('qa/b.jsonl', `${rows.replaceAll('basket', 'box')}\n`);
    await ws.config({ datasets: { d: { sources: [{ name: 'q', type: 'qa', path: 'qa/*.jsonl', format: 'jsonl', fields: { question: 'question', answer: 'answer' } }], ingest: { unitRows: 10 } } } });
    const config = ws.path('pipeline.config.ts');

    const first = await tracedRun(['run', 'all', '-c', config], ws.path('trace-1.txt'));
    expect(first).toEqual(expect.arrayContaining(['zod', '@duckdb/node-api', 'echarts', 'eld']));

    const again = await tracedRun(['run', 'all', '-c', config], ws.path('trace-2.txt'));
    expect(again).toEqual([]);
    const status = await tracedRun(['status', '-c', config], ws.path('trace-3.txt'));
    expect(status).not.toContain('zod');

    // New text rows: the work loads DuckDB and the language detector, but no image or model library, and no zod.
    await ws.write('qa/c.jsonl', `${rows.replaceAll('basket', 'crate')}\n`);
    const append = await tracedRun(['run', 'all', '-c', config], ws.path('trace-4.txt'));
    expect(append).toEqual(expect.arrayContaining(['@duckdb/node-api', 'eld', 'echarts']));
    for (const pkg of ['sharp', 'onnxruntime-node', 'zod']) expect(append).not.toContain(pkg);
  });
});
