import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { DatasetLayout } from '../../pipelines/shared/store/layout.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { writeUpstreamCorpus } from './corpus.js';

const CONFIG: PipelineConfigInput = {
  datasets: {
    d: {
      sources: [{ name: 'unused', type: 'qa', path: 'unused.jsonl', format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
      export: { formats: ['webdataset', 'sft'], pretraining: { from: 'ingest', webdataset: { shardBytes: 40_000 }, mixture: { seed: 1, epochs: 1 } } },
    },
  },
};

async function prepared(): Promise<Workspace> {
  const ws = await createWorkspace();
  const loaded = await ws.config(CONFIG);
  await writeUpstreamCorpus(new DatasetLayout(loaded.shardsDir, 'd'), await connect(), { seed: 11, samples: 120, unitSize: 30 });
  return ws;
}

/** Every file of the export folder that a reader uses, with its hash (Parquet bookkeeping and ledgers aside). */
async function snapshot(ws: Workspace): Promise<Record<string, string>> {
  const root = ws.path('shards', 'd', 'export');
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = join(entry.parentPath, entry.name).slice(root.length + 1);
    if (/^(_|.*\.parquet$)/.test(rel)) continue;
    out[rel] = createHash('sha256').update(await readFile(join(root, rel))).digest('hex');
  }
  return out;
}

describe('a killed pre-training export', () => {
  const spaces: Workspace[] = [];
  afterAll(async () => {
    for (const ws of spaces) await ws.cleanup();
  });

  it.each(['export-shard-renamed:3', 'commit-rename:2', 'unit-committed:2'])('SIGKILL at %s, then rerun, leaves exactly the files of an uninterrupted run', async (fault) => {
    const clean = await prepared();
    const crashed = await prepared();
    spaces.push(clean, crashed);
    const ok = await runCli(['run', 'export', '--config', clean.path('pipeline.config.ts')]);
    expect(ok.code, ok.stderr).toBe(0);
    const killed = await runCli(['run', 'export', '--config', crashed.path('pipeline.config.ts')], { env: { STRATUM_FAULT: fault } });
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runCli(['run', 'export', '--config', crashed.path('pipeline.config.ts')]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const want = await snapshot(clean);
    expect(Object.keys(want).filter((f) => f.endsWith('.tar')).length).toBeGreaterThan(4);
    expect(await snapshot(crashed)).toEqual(want);
  }, 120_000);
});
