import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { loadConfig } from '../../pipelines/shared/config/load.js';
import { startRewardServer, type RewardServer } from '../../pipelines/verify/server.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const python = spawnSync('python3', ['--version']).status === 0;
const VERL_DIR = join(REPO_ROOT, 'integrations', 'verl');
const LETTERS = 'ABCDEFGHIJ';

let ws: Workspace;
let server: RewardServer;

beforeAll(async () => {
  ws = await createWorkspace();
  server = await startRewardServer({ port: 0, host: '127.0.0.1', threads: 0 });
});
afterAll(async () => {
  await server?.close();
  await ws?.cleanup();
});

/** Async: the reward service runs in this process, so the event loop must stay free while Python calls it. */
function runPython(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-m', 'unittest', ...args], { cwd: VERL_DIR, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const glm = (answer: string) => `<think>reasoning</think><answer><|begin_of_box|>${answer}<|end_of_box|></answer>`;

describe.skipIf(!python)('verl integration (system python3; verl itself stood in, see integrations/verl/tests/stubs)', () => {
  it('the sampler suite passes', async () => {
    const res = await runPython(['discover', '-s', 'tests', '-p', 'test_sampler.py', '-v'], {});
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stderr).toMatch(/Ran 9 tests/);
  });

  it('compute_score scores the exported example rows as shipped: correct, option text for a letter, wrong', async () => {
    const loaded = { ...(await loadConfig(join(REPO_ROOT, 'pipeline.config.ts'))), shardsDir: ws.path('shards') };
    await runCommand(loaded, 'all', {});
    const rows = await queryShards(loaded, `SELECT data_source, reward_model.ground_truth AS gt, extra_info FROM export_verl ORDER BY extra_info.id`);
    // the example's 61 QA rows less the filter's 6 duplicates and 3 held-out eval items, 24 grounding and OCR
    // tasks from ingest, and 52 synthesised tasks, less the 7 multiple-choice sources replaced by their open forms
    // (Geometry3K's short "Find x." stays beside its open form: too short for MinHash)
    expect(rows.length).toBe(121);
    const cases: object[] = [];
    let optionText = 0;
    for (const row of rows) {
      const info = row.extra_info as { domain: string; question: string; format: string; choices: string[]; index: number };
      info.index = Number(info.index); // BIGINT comes back from DuckDB's JSON as a string; verl reads it as an int
      expect(info.domain, 'extra_info.domain').toBeTruthy();
      expect(info.question, 'extra_info.question').toBeTruthy();
      expect(info.format).toBe('glm');
      const gt = String(row.gt);
      const base = { data_source: row.data_source, ground_truth: gt, extra_info: info };
      cases.push({ ...base, label: 'correct', response: glm(gt), expect_acc: 1 });
      cases.push({ ...base, label: 'wrong', response: glm('no answer at all 987654321'), expect_acc: 0 });
      const letter = LETTERS.indexOf(gt);
      const text = info.choices?.[letter];
      if (info.choices?.length && letter >= 0 && text && text !== gt) {
        cases.push({ ...base, label: 'option text', response: glm(text), expect_acc: 1 });
        optionText++;
      }
    }
    expect(optionText).toBeGreaterThan(0);
    const casesFile = await ws.write('cases.jsonl', cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const res = await runPython(['discover', '-s', 'tests', '-p', 'test_reward.py', '-v'], { STRATUM_REWARD_URL: server.url, STRATUM_REWARD_CASES: casesFile });
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stderr).toMatch(/Ran 4 tests/);
    expect(res.stderr).not.toMatch(/skipped/);
  });
});
