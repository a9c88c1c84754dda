import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rlcsSchema } from '../../pipelines/rlcs/config.js';
import { expansionRatio, sampleIteration } from '../../pipelines/rlcs/sampler.js';
import { emaStep, onlineTier } from '../../pipelines/rlcs/state.js';
import { DEFAULT_TIER_THRESHOLDS } from '../../pipelines/difficulty/tiers.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { buildDataset, sql, type FixtureSample } from './support.js';
import type { RlcsPaths } from '../../pipelines/rlcs/store.js';

let ws: Workspace;
let samples: FixtureSample[];
let paths: RlcsPaths;
let configFile: string;
beforeAll(async () => {
  ws = await createWorkspace();
  // labels put 1/5 of the items in each rated tier: solved, easy, medium, hard, unsolved
  const built = await buildDataset(ws, 500, { labels: true });
  ({ samples, paths } = built);
  configFile = built.loaded.file;
});
afterAll(() => ws?.cleanup());

const manifest = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; index: number; tier: string; rank: number });

describe('expansion ratio', () => {
  it('is 1 / (1 − not-valid rate) per step, capped, EMA-smoothed in step order', () => {
    expect(expansionRatio([], 0.3, 4)).toMatchObject({ ratio: 1, lastStep: null });
    const steps = [
      { step: 2, groups: 10, not_valid: 5 },
      { step: 1, groups: 4, not_valid: 1 },
      { step: 3, groups: 8, not_valid: 8 },
    ];
    const e = expansionRatio(steps, 0.5, 4);
    const r1 = 1 / (1 - 0.25);
    const r2 = 0.5 * r1 + 0.5 * 2;
    expect(e.ratio).toBeCloseTo(0.5 * r2 + 0.5 * 4, 12);
    expect(e).toMatchObject({ lastStep: 3, lastRate: 1, lastRaw: 4 });
    for (let i = 0; i < 200; i++) {
      const groups = 1 + (i % 17);
      const r = expansionRatio([{ step: 0, groups, not_valid: i % (groups + 1) }], 0.3, 3);
      expect(r.ratio).toBeGreaterThanOrEqual(1);
      expect(r.ratio).toBeLessThanOrEqual(3);
    }
  });
});

describe('online tiers', () => {
  it('follow the EMA with point tiers near 0 and 1', () => {
    const o = { alpha: 0.5, thresholds: DEFAULT_TIER_THRESHOLDS, pointTolerance: 0.05 };
    let ema: number | null = null;
    const seen: string[] = [];
    for (const rate of [0, 0, 0.5, 1, 1, 1, 1, 1]) {
      ema = emaStep(ema, rate, o.alpha);
      seen.push(onlineTier(ema, o));
    }
    expect(seen).toEqual(['unsolved', 'unsolved', 'medium', 'medium', 'easy', 'easy', 'solved', 'solved']);
  });
});

describe('rlcs sample', () => {
  it('draws by tier weight, reproducibly, and records the iteration', async () => {
    const conn = await connect();
    const config = rlcsSchema.parse({ weights: { solved: 0, unsolved: 0.2, easy: 1, medium: 1, hard: 1 } });
    const a = await sampleIteration(conn, paths, config, { step: 3, batchSize: 200 });
    const first = await manifest(a.manifest);
    const again = await sampleIteration(conn, paths, config, { step: 3, batchSize: 200 });
    expect(await manifest(again.manifest)).toEqual(first);
    const other = await manifest((await sampleIteration(conn, paths, config, { step: 4, batchSize: 200 })).manifest);
    expect(other.map((r) => r.id)).not.toEqual(first.map((r) => r.id));

    expect(a.drawn).toBe(200); // no history: expansion 1
    expect(new Set(first.map((r) => r.id)).size).toBe(200);
    expect(first.map((r) => r.rank)).toEqual(first.map((_, i) => i + 1));
    expect(a.tier_mix.solved ?? 0).toBe(0);
    const byId = new Map(samples.map((s) => [s.id, s]));
    for (const r of first) {
      expect(byId.get(r.id)?.index).toBe(r.index);
      expect(byId.get(r.id)?.tier).toBe(r.tier);
    }
    // 100 per tier; weights 1,1,1 and 0.2: unsolved is drawn well below the others
    expect(a.tier_mix.unsolved!).toBeLessThan(a.tier_mix.medium! / 2);

    const rows = await sql(`SELECT step::INT AS step, drawn, expansion_ratio, tier_mix FROM read_parquet('${join(paths.iterations, '*.parquet')}') ORDER BY step`);
    expect(rows.map((r) => r.step)).toEqual([3, 4]);
  });

  it('expands the draw after steps with all-correct or all-wrong groups', async () => {
    const lines: string[] = [];
    // step 1: 30 groups, 20 of them not valid → raw ratio 3
    for (const [i, s] of samples.slice(0, 30).entries()) lines.push(JSON.stringify({ id: s.id, step: 1, k: i < 10 ? 0 : i < 20 ? 8 : 3, n: 8 }));
    await ws.write('groups/1.jsonl', lines.join('\n') + '\n');
    const imp = await runCli(['rlcs', 'import', ws.path('groups'), '--config', configFile, '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ totals: { lines: 30, matched: 30, unknown: 0, malformed: 0 } });
    const res = await runCli(['rlcs', 'sample', '--step', '2', '--batch-size', '10', '--config', configFile, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { drawn: number; expansion: { ratio: number; lastRate: number } };
    expect(out.expansion.lastRate).toBeCloseTo(20 / 30, 12);
    expect(out.expansion.ratio).toBeCloseTo(3, 12);
    expect(out.drawn).toBe(30);
    const history = await runCli(['sql', '--config', configFile, '--json', 'SELECT step::INT AS step, drawn FROM rlcs_iterations WHERE step = 2']);
    expect(JSON.parse(history.stdout.trim())).toEqual({ step: 2, drawn: 30 });
    const moves = await runCli(['sql', '--config', configFile, '--json', "SELECT count(*)::INT AS n FROM rlcs_moves WHERE step = 1"]);
    expect(JSON.parse(moves.stdout.trim()).n).toBeGreaterThan(0);
  });

  it('refuses bad arguments clearly', async () => {
    const res = await runCli(['rlcs', 'sample', '--step', '2', '--batch-size', '0', '--config', configFile]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/batch-size|positive integer/);
    const missing = await runCli(['rlcs', 'import', ws.path('nope'), '--config', configFile]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/log path not found/);
    for (const args of [['rlcs', '--help'], ['rlcs', 'import', '--help'], ['rlcs', 'sample', '--help']]) {
      const help = await runCli(args);
      expect(help.code, args.join(' ')).toBe(0);
    }
  });
});
