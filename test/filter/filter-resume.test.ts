import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { makeDocument, makeScene, perturb } from '../support/scenes.js';
import { createWorkspace, queryShards, runCli, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

/** QA rows in units of 4: distinct documents, near and exact copies, and a few repeated images. */
async function fixture(): Promise<{ ws: Workspace; cfg: string; config: PipelineConfigInput }> {
  const ws = await createWorkspace();
  workspaces.push(ws);
  for (let i = 0; i < 3; i++) await ws.write(`img/${i}.jpg`, await makeScene(i, 320, 240));
  const rows: string[] = [];
  for (let i = 0; i < 14; i++) rows.push(JSON.stringify({ id: `d${i}`, question: makeDocument(i, 60).join(' '), answer: String(i), image: i < 6 ? `img/${i % 3}.jpg` : undefined }));
  for (let i = 0; i < 4; i++) rows.push(JSON.stringify({ id: `n${i}`, question: perturb(makeDocument(i + 6, 60), 1, i).join(' '), answer: '0' }));
  const config: PipelineConfigInput = {
    datasets: {
      r: {
        sources: [{ name: 'a', type: 'qa', path: 'a.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer', images: 'image' } }],
        ingest: { unitRows: 4 },
        filter: { imageWorkers: 1 },
      },
    },
  };
  await ws.write('a.jsonl', rows.join('\n') + '\n');
  await ws.config(config);
  const cfg = ws.path('pipeline.config.ts');
  const ingest = await runCli(['run', 'ingest', '--config', cfg]);
  expect(ingest.code, ingest.stderr).toBe(0);
  return { ws, cfg, config };
}

/** The fixture filtered once, then a new file (near copies of old documents, of each other, and a new document) ingested: a nightly append. */
async function appended(): Promise<{ ws: Workspace; cfg: string }> {
  const { ws, cfg, config } = await fixture();
  const first = await runCli(['run', 'filter', '--config', cfg]);
  expect(first.code, first.stderr).toBe(0);
  const rows = [
    JSON.stringify({ id: 'late-0', question: makeDocument(10, 60).join(' ') + ' again', answer: '0' }),
    JSON.stringify({ id: 'late-1', question: perturb(makeDocument(300, 60), 1, 51).join(' '), answer: '0' }),
    JSON.stringify({ id: 'late-2', question: makeDocument(300, 60).join(' '), answer: '0' }),
    JSON.stringify({ id: 'late-3', question: makeDocument(301, 60).join(' '), answer: '0' }),
  ];
  await ws.write('b.jsonl', rows.join('\n') + '\n');
  const grown = structuredClone(config);
  grown.datasets.r!.sources.push({ name: 'b', type: 'qa', path: 'b.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } });
  await ws.config(grown);
  const ingest = await runCli(['run', 'ingest', '--config', cfg]);
  expect(ingest.code, ingest.stderr).toBe(0);
  return { ws, cfg };
}

async function snapshot(ws: Workspace) {
  const loaded = await ws.config(JSON.parse(JSON.stringify((await import(ws.path('pipeline.config.ts'))).default)));
  return {
    samples: await queryShards(loaded, `SELECT id, signals FROM filter_samples ORDER BY id`),
    ledger: await queryShards(loaded, `SELECT sample_id, decision, reason, details FROM ledger WHERE stage = 'filter' ORDER BY sample_id`),
  };
}

/** `run filter` killed with SIGKILL at the fault point, then run again to completion. */
async function killThenResume(cfg: string, fault: string): Promise<void> {
  const killed = await runCli(['run', 'filter', '--config', cfg], { env: { STRATUM_FAULT: fault } });
  expect(killed.signal, killed.stderr).toBe('SIGKILL');
  const resumed = await runCli(['run', 'filter', '--config', cfg]);
  expect(resumed.code, resumed.stderr).toBe(0);
}

describe('filter: kill -9 during map, reduce and apply, then resume', () => {
  it.each(['map-committed:2', 'reduce-written:1', 'reduce-committed:1', 'unit-committed:2'])('SIGKILL at %s, then rerun, equals an uninterrupted run', async (fault) => {
    const clean = await fixture();
    const ok = await runCli(['run', 'filter', '--config', clean.cfg]);
    expect(ok.code, ok.stderr).toBe(0);
    const expected = await snapshot(clean.ws);
    expect(expected.ledger.length).toBe(18);
    expect(expected.ledger.filter((r) => r.reason === 'near_dup:text').length).toBe(4);

    const crashed = await fixture();
    await killThenResume(crashed.cfg, fault);
    const got = await snapshot(crashed.ws);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      // On a mismatch, the rows that differ (the assertion below shows only the first lines of a long diff).
      const differ = <T,>(x: T[], y: T[]) => x.filter((r, i) => JSON.stringify(r) !== JSON.stringify(y[i]));
      console.log(fault, JSON.stringify({ ledger: differ(got.ledger, expected.ledger), expectedLedger: differ(expected.ledger, got.ledger), samples: differ(got.samples, expected.samples), expectedSamples: differ(expected.samples, got.samples) }));
    }
    expect(got).toEqual(expected);
  }, 180_000);
});

describe('filter: kill -9 during an incremental run (a new file), then resume', () => {
  it.each(['map-committed:1', 'reduce-written:1', 'reduce-committed:1', 'unit-committed:1'])('SIGKILL at %s, then rerun, equals an uninterrupted append', async (fault) => {
    const clean = await appended();
    const ok = await runCli(['run', 'filter', '--config', clean.cfg]);
    expect(ok.code, ok.stderr).toBe(0);
    const record = JSON.parse(await (await import('node:fs/promises')).readFile(clean.ws.path('shards/r/filter/_reduce/current.json'), 'utf8'));
    expect(record.summary.incremental).toBe(true);
    const expected = await snapshot(clean.ws);
    expect(expected.ledger.length).toBe(22);
    // The near copy of an old document is dropped in its place; of the two new near copies one stays.
    expect(expected.ledger.filter((r) => r.reason === 'near_dup:text').length).toBe(6);

    const crashed = await appended();
    await killThenResume(crashed.cfg, fault);
    expect(await snapshot(crashed.ws)).toEqual(expected);
  }, 240_000);
});
