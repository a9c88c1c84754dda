import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { createWorkspace, makePng, queryShards, runCli, type Workspace } from '../support/workspace.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';

const workspaces: Workspace[] = [];
afterAll(async () => Promise.all(workspaces.map((w) => w.cleanup())));

/** Two sources, 30 input lines (one malformed), some with images, in units of 3 rows: eleven units to be killed between. */
async function fixture(): Promise<{ ws: Workspace; config: PipelineConfigInput }> {
  const ws = await createWorkspace();
  workspaces.push(ws);
  for (let i = 0; i < 6; i++) await ws.write(`img/${i}.png`, await makePng(i));
  const rows = (name: string, n: number) =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${name}-${i}`, question: `${name} question ${i}?`, answer: String(i * 7), image: i % 3 === 0 ? `img/${i % 6}.png` : undefined })).join('\n') + '\n';
  await ws.write('a.jsonl', rows('a', 18) + '{oops\n');
  await ws.write('b.jsonl', rows('b', 11));
  const fields = { id: 'id', question: 'question', answer: 'answer', images: 'image' };
  const config: PipelineConfigInput = {
    datasets: {
      r: {
        sources: [
          { name: 'a', type: 'qa', path: 'a.jsonl', format: 'jsonl', fields, license: 'MIT' },
          { name: 'b', type: 'qa', path: 'b.jsonl', format: 'jsonl', fields, license: 'MIT' },
        ],
        ingest: { unitRows: 3 },
      },
    },
  };
  return { ws, config };
}

async function snapshot(ws: Workspace, config: PipelineConfigInput) {
  const loaded = await ws.config(config);
  const samples = await queryShards(loaded, `SELECT * FROM samples ORDER BY id`);
  const ledger = await queryShards(loaded, `SELECT * FROM ledger ORDER BY stage, unit, locator`);
  const manifest = (await readManifest(ws.path('shards/r/ingest/_manifest.jsonl'), 'ingest')) as { units: Record<string, { files: Record<string, string[]>; counts: object }> };
  const owned = new Set(Object.values(manifest.units).flatMap((u) => Object.values(u.files).flat()));
  const onDisk = (await readdir(ws.path('shards/r/ingest'), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
    .map((e) => relative(ws.path('shards/r/ingest'), join(e.parentPath, e.name)));
  return { samples, ledger, owned, onDisk, counts: Object.values(manifest.units).map((u) => u.counts) };
}

describe('resume after a killed run', () => {
  it.each(['commit-rename:5', 'unit-committed:3'])('SIGKILL at %s, then rerun, equals an uninterrupted run', async (fault) => {
    const clean = await fixture();
    await clean.ws.config(clean.config);
    const ok = await runCli(['run', 'ingest', '--config', clean.ws.path('pipeline.config.ts')]);
    expect(ok.code, ok.stderr).toBe(0);

    const crashed = await fixture();
    await crashed.ws.config(crashed.config);
    const killed = await runCli(['run', 'ingest', '--config', crashed.ws.path('pipeline.config.ts')], { env: { STRATUM_FAULT: fault } });
    expect(killed.signal).toBe('SIGKILL');
    const partial = (await readManifest(crashed.ws.path('shards/r/ingest/_manifest.jsonl'), 'ingest')) as { units: object };
    expect(Object.keys(partial.units).length).toBeGreaterThan(0);
    expect(Object.keys(partial.units).length).toBeLessThan(11);

    const resumed = await runCli(['run', 'ingest', '--config', crashed.ws.path('pipeline.config.ts')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/unit\(s\) processed, [1-9]\d* unchanged/);

    const a = await snapshot(clean.ws, clean.config);
    const b = await snapshot(crashed.ws, crashed.config);
    expect(b.samples).toHaveLength(29);
    expect(new Set(b.samples.map((s) => s.id)).size).toBe(29);
    expect(b.samples).toEqual(a.samples);
    expect(b.ledger).toEqual(a.ledger);
    expect(b.ledger).toHaveLength(30);
    expect([...b.onDisk].sort()).toEqual([...b.owned].sort());
  });
});

describe('incremental runs', () => {
  it('skips unchanged units and recomputes only the units a change affects', async () => {
    const { ws, config } = await fixture();
    const loaded = await ws.config(config);
    const first = await runCommand(loaded, 'ingest', {});
    expect(first[0]).toMatchObject({ planned: 11, processed: 11, skipped: 0 });

    const again = await runCommand(loaded, 'ingest', {});
    expect(again[0]).toMatchObject({ processed: 0, skipped: 11 });

    // A config change to source b only: its 4 units recompute, a's 7 stay.
    const changed = structuredClone(config);
    changed.datasets.r!.sources[1]!.license = 'Apache-2.0';
    const after = await runCommand(await ws.config(changed), 'ingest', {});
    expect(after[0]).toMatchObject({ processed: 4, skipped: 7 });

    // New rows appended to a.jsonl change its fingerprint: a's units recompute, b's stay.
    await writeFile(ws.path('a.jsonl'), (await readFile(ws.path('a.jsonl'), 'utf8')) + JSON.stringify({ id: 'a-new', question: 'new?', answer: '1' }) + '\n');
    const appended = await runCommand(await ws.config(changed), 'ingest', {});
    expect(appended[0]).toMatchObject({ processed: 7, skipped: 4 });
    const licences = await queryShards(await ws.config(changed), `SELECT source.name AS s, license, count(*)::INT AS n FROM samples GROUP BY ALL ORDER BY s`);
    expect(licences).toEqual([
      { s: 'a', license: 'MIT', n: 19 },
      { s: 'b', license: 'Apache-2.0', n: 11 },
    ]);

    const limited = await runCommand(await ws.config(changed), 'ingest', { force: true, limit: 2 });
    expect(limited[0]).toMatchObject({ processed: 2, pending: 9 });
  });

  it('refuses a second concurrent run of the same stage with a clear message', async () => {
    const { ws, config } = await fixture();
    await ws.config(config);
    await writeFile(ws.path('shards-lock-holder'), '');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(ws.path('shards/r/ingest'), { recursive: true });
    await writeFile(ws.path('shards/r/ingest/.lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), startedAt: 'now' }));
    const res = await runCli(['run', 'ingest', '--config', ws.path('pipeline.config.ts')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`stage ingest of dataset r is already running (pid ${process.pid}`);

    await writeFile(ws.path('shards/r/ingest/.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), startedAt: 'then' }));
    const stale = await runCli(['run', 'ingest', '--config', ws.path('pipeline.config.ts')]);
    expect(stale.code, stale.stderr).toBe(0);
  });
});
