import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { loadConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, queryShards, REPO_ROOT, runCli, type Workspace } from '../support/workspace.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

describe('the bundled example job (pipeline.config.ts + examples/qa)', () => {
  it('runs ingest → difficulty → export with no server and leaves every sample unrated but exported', async () => {
    ws = await createWorkspace();
    const loaded = { ...(await loadConfig(join(REPO_ROOT, 'pipeline.config.ts'))), shardsDir: ws.path('shards') };
    const summaries = await runCommand(loaded, 'all', {});
    expect(summaries.map((s) => s.stage)).toEqual(['ingest', 'difficulty', 'export', 'ingest', 'difficulty', 'export']);
    for (const s of summaries) expect(s.counts.in).toBe(s.counts.kept + s.counts.dropped + s.counts.quarantined);
    expect(summaries[0]!.counts).toMatchObject({ in: 49, kept: 49 });
    const tiers = await queryShards(loaded, `SELECT tier, count(*)::INT AS n FROM samples WHERE dataset = 'example' GROUP BY tier`);
    expect(tiers).toEqual([{ tier: 'unrated', n: 49 }]);
    const exported = await queryShards(loaded, `SELECT count(*)::INT AS n, count(*) FILTER (WHERE len(images) > 0)::INT AS with_images FROM export_verl`);
    expect(exported).toEqual([{ n: 49, with_images: 13 }]);
  });

  it('exports the bundled pre-training samples as WebDataset shards, interleaved Parquet and SFT conversations', async () => {
    const loaded = { ...(await loadConfig(join(REPO_ROOT, 'pipeline.config.ts'))), shardsDir: ws.path('shards') };
    const kinds = await queryShards(loaded, `SELECT kind, count(*)::INT AS n FROM ingest_samples WHERE dataset = 'pretraining' GROUP BY kind ORDER BY kind`);
    expect(kinds).toEqual([{ kind: 'caption', n: 8 }, { kind: 'grounding', n: 12 }, { kind: 'interleaved', n: 3 }]);
    const ledger = await queryShards(loaded, `SELECT reason, count(*)::INT AS n FROM ledger WHERE stage = 'export' AND unit LIKE 'pretraining:%' GROUP BY reason`);
    expect(ledger).toEqual([{ reason: 'exported', n: 23 }]);
    const exportDir = ws.path('shards', 'pretraining', 'export');
    const { readFile } = await import('node:fs/promises');
    const shards = JSON.parse(await readFile(join(exportDir, 'webdataset', 'shardindex.json'), 'utf8')) as { shardlist: Array<{ url: string; nsamples: number }> };
    expect(shards.shardlist.map((s) => s.url.split('/')[0])).toEqual(['kind=caption', 'kind=grounding', 'kind=interleaved']);
    expect(shards.shardlist.reduce((n, s) => n + s.nsamples, 0)).toBe(23);
    const sft = JSON.parse(await readFile(join(exportDir, 'sft', 'manifest.json'), 'utf8')) as { files: Array<{ kind: string; samples: number }> };
    expect(sft.files.map((f) => [f.kind, f.samples])).toEqual([['caption', 8], ['grounding', 12]]);
  });

  it('answers SQL one-shot and interactively over the shards', async () => {
    const cfg = ws.path('pipeline.config.ts');
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(cfg, (await readFile(join(REPO_ROOT, 'pipeline.config.ts'), 'utf8')).replace("from './pipelines/", `from '${REPO_ROOT}/pipelines/`).replace("shardsDir: 'shards'", `shardsDir: '${ws.path('shards')}'`).replaceAll("'examples/", `'${REPO_ROOT}/examples/`));
    const oneShot = await runCli(['sql', '--config', cfg, '--json', "SELECT kind, count(*)::INT AS n FROM samples WHERE dataset = 'example' GROUP BY kind"]);
    expect(oneShot.code, oneShot.stderr).toBe(0);
    expect(JSON.parse(oneShot.stdout.trim())).toEqual({ kind: 'qa', n: 49 });
    const interactive = await runCli(['sql', '--config', cfg], { input: 'SELECT count(*) AS n\nFROM ledger\nWHERE stage = \'export\' AND unit NOT LIKE \'pretraining:%\';\nSELECT nonsense;\n.quit\n' });
    expect(interactive.code).toBe(0);
    expect(interactive.stdout).toMatch(/\b49\b/);
    expect(interactive.stdout).toContain('error:');
  });

  it('answers --help for every command and refuses an unknown stage with a clear message', async () => {
    for (const args of [['--help'], ['run', '--help'], ['status', '--help'], ['sql', '--help'], ['notebook', '--help'], ['serve', '--help']]) {
      const res = await runCli(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toContain('Usage: pipeline');
    }
    const bad = await runCli(['run', 'bogus']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown stage "bogus"');
  });

  it('names the bad field of an invalid config', async () => {
    const dir = await createWorkspace();
    try {
      await dir.write('pipeline.config.ts', `export default { datasets: { d: { sources: [{ name: 'x', type: 'qa', path: 'a.jsonl', format: 'xml' }] } } };`);
      const res = await runCli(['run', 'ingest', '--config', dir.path('pipeline.config.ts')]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/datasets\.d\.sources\[0\]\.format/);
    } finally {
      await dir.cleanup();
    }
  });
});
