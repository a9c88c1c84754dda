import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../pipelines/shared/store/blob-store.js';
import { DatasetLayout } from '../../pipelines/shared/store/layout.js';
import { createWorkspace, REPO_ROOT, runCli, type Workspace } from '../support/workspace.js';

let ws: Workspace;
beforeAll(async () => {
  ws = await createWorkspace('stratum-cli-temps-');
  await ws.config({ datasets: { t: { sources: [{ name: 'q', type: 'qa', format: 'jsonl', path: 'q.jsonl', fields: { question: 'q', answer: 'a' } }] } } });
});
afterAll(() => ws?.cleanup());

describe('blob store temp files left by a kill', () => {
  it('removes temps of dead writers and old unnamed ones, keeps those of live writers', async () => {
    const root = ws.path('blobs');
    await mkdir(join(root, 'ab'), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const uuid = () => crypto.randomUUID();
    const names = {
      deadWriter: `ab/${'c'.repeat(62)}.${dead}-${uuid()}.tmp`,
      deadIncoming: `.incoming-${dead}-${uuid()}.tmp`,
      liveWriter: `ab/${'d'.repeat(62)}.${process.pid}-${uuid()}.tmp`,
      oldUnnamed: `ab/${'e'.repeat(62)}.${uuid()}.tmp`,
      newUnnamed: `ab/${'f'.repeat(62)}.${uuid()}.tmp`,
      blob: `ab/${'a'.repeat(62)}`,
    };
    for (const rel of Object.values(names)) await writeFile(join(root, rel), 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(root, names.oldUnnamed), twoHoursAgo, twoHoursAgo);
    expect(await new BlobStore(root).removeStaleTemps()).toBe(3);
    const left = [...(await readdir(join(root, 'ab'))).map((n) => `ab/${n}`), ...(await readdir(root)).filter((n) => n.endsWith('.tmp'))].sort();
    expect(left).toEqual([names.blob, names.liveWriter, names.newUnnamed].sort());
  });

  it('the ingest stage cleans them at start-up', async () => {
    await ws.write('q.jsonl', '{"q": "1+1?", "a": "2"}\n');
    const first = await runCli(['run', 'ingest', '-c', ws.path('pipeline.config.ts')]);
    expect(first.code, first.stderr).toBe(0);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = join(new DatasetLayout(ws.path('shards'), 't').blobs, `.incoming-${dead}-${crypto.randomUUID()}.tmp`);
    await mkdir(join(stale, '..'), { recursive: true });
    await writeFile(stale, 'partial');
    const second = await runCli(['run', 'ingest', '-c', ws.path('pipeline.config.ts'), '--force']);
    expect(second.code, second.stderr).toBe(0);
    expect((await readdir(join(stale, '..'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 120_000);
});

describe('CLI errors and early-closing readers', () => {
  it('prints an SQL error as one line, no stack', async () => {
    for (const query of ['SELEC 1', 'SELECT * FROM no_such_table', 'SELECT 1 +']) {
      const run = await runCli(['sql', query, '-c', ws.path('pipeline.config.ts')]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^error: SQL: /);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  }, 120_000);

  it('exits quietly when the reader of its output goes away (| head)', async () => {
    const cli = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(join(REPO_ROOT, 'pipelines/cli/main.ts'))}`;
    for (const args of [`sql "SELECT range AS n, repeat('x', 200) AS pad FROM range(200000)" -c ${JSON.stringify(ws.path('pipeline.config.ts'))}`, `status -c ${JSON.stringify(ws.path('pipeline.config.ts'))}`]) {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn('bash', ['-c', `set -o pipefail; ${cli} ${args} | head -c 10 >/dev/null`], { cwd: REPO_ROOT, env: { ...process.env, STRATUM_LOG_LEVEL: 'error', VITEST: '' } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(result.stderr).not.toMatch(/EPIPE|\n\s+at /);
      expect(result.code, result.stderr).toBe(0);
    }
  }, 120_000);
});
