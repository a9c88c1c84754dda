import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';
import { ledgerMismatches, plantHostileInputs, type LedgerRowLite } from './support/hostile-inputs.js';

/**
 * Seeded hostile inputs over every source type, ingested by the CLI as a user runs it: no crash
 * (exit 0), no hang (killed past the budget), and every planted input accounted for with a reason.
 */
const BUDGET_MS = 300_000;
const workspaces: Workspace[] = [];
afterAll(async () => {
  for (const ws of workspaces) await ws.cleanup();
});

function runIngest(dir: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'pipelines/cli/main.ts'), 'run', 'ingest', '-c', join(dir, 'pipeline.config.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, STRATUM_LOG_LEVEL: 'error', VITEST: '', STRATUM_IMAGE_WORKERS: '2', STRATUM_HTML_WORKERS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, BUDGET_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, timedOut });
    });
  });
}

describe('ingest under seeded hostile input', () => {
  for (const seed of [11, 12]) {
    it(`seed ${seed}: no crash, no hang, in = planted with reasons`, async () => {
      const ws = await createWorkspace(`stratum-fuzz-${seed}-`);
      workspaces.push(ws);
      const { planted, config } = await plantHostileInputs(ws.dir, seed, 1);
      const loaded = await ws.config(config);
      const run = await runIngest(ws.dir);
      expect(run.timedOut, 'ingest ran past its budget').toBe(false);
      expect({ code: run.code, signal: run.signal }, run.stderr).toEqual({ code: 0, signal: null });
      const rows = (await queryShards(loaded, `SELECT source_uri AS uri, decision, reason FROM ledger`)) as unknown as LedgerRowLite[];
      expect(ledgerMismatches(planted, rows)).toEqual([]);
      // The funnel: in = kept + dropped + quarantined = planted, and every non-kept row has a reason.
      const expected = planted.reduce((n, p) => n + p.items, 0);
      expect(rows.length).toBeGreaterThanOrEqual(expected);
    }, BUDGET_MS + 60_000);
  }
});
