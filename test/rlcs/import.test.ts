import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLogs } from '../../pipelines/rlcs/import-logs.js';
import { rlcsSchema } from '../../pipelines/rlcs/config.js';
import { parseLogLine, stepFromFileName } from '../../pipelines/rlcs/log-line.js';
import { DEFAULT_TIER_THRESHOLDS } from '../../pipelines/difficulty/tiers.js';
import { connect, sqlList } from '../../pipelines/shared/store/duckdb.js';
import { mulberry32 } from '../support/openai-server.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { buildDataset, sql, type FixtureSample } from './support.js';
import type { RlcsPaths } from '../../pipelines/rlcs/store.js';

const CONFIG = rlcsSchema.parse({});
let ws: Workspace;
let samples: FixtureSample[];
let paths: RlcsPaths;

let conn: Awaited<ReturnType<typeof connect>>;

beforeAll(async () => {
  ws = await createWorkspace();
  ({ samples, paths } = await buildDataset(ws, 40));
  conn = await connect();
});
afterAll(() => ws?.cleanup());

const run = (logs: string[]) => importLogs(conn, paths, logs, CONFIG, DEFAULT_TIER_THRESHOLDS);

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function shuffleKeys(r: Rand, obj: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(obj);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}

const NOISE = ['ünïcödé ✓ 数学', 'line\nbreak inside', '"quoted"', '<think>x</think><answer><|begin_of_box|>1<|end_of_box|></answer>', ''];

/** Lines of one (sample, step) group of outcomes in a randomly chosen log shape. */
function groupLines(r: Rand, s: FixtureSample, step: number, outcomes: boolean[]): string[] {
  const k = outcomes.filter(Boolean).length;
  const n = outcomes.length;
  const shape = pick(r, ['verl', 'verl-pm1', 'plain-id', 'plain-index-str', 'extra-info', 'group-kn', 'group-rate', 'group-scores', 'group-rewards', 'correct-bool', 'file-step', 'index-float-str'] as const);
  const per = (f: (ok: boolean) => Record<string, unknown>) => outcomes.map((ok) => JSON.stringify(shuffleKeys(r, f(ok))));
  switch (shape) {
    case 'verl':
      return per((ok) => ({ input: pick(r, NOISE), output: pick(r, NOISE), gts: String(s.index % 97), score: ok ? 1 : 0, step, acc: ok ? 1.0 : 0.0, index: s.index, format_ok: 1.0, reward: ok ? 1 : 0 }));
    case 'verl-pm1':
      // DAPO-style ±1 rewards, no explicit correctness: the threshold decides
      return per((ok) => ({ input: pick(r, NOISE), output: pick(r, NOISE), score: ok ? 1 : -1, step, index: s.index }));
    case 'plain-id':
      return per((ok) => ({ id: s.id, step, score: ok ? 1 : 0 }));
    case 'plain-index-str':
      return per((ok) => ({ index: String(s.index), step: String(step), score: ok ? 0.9 : 0.1 }));
    case 'extra-info':
      return per((ok) => ({ extra_info: { index: s.index, tier: 'x' }, global_step: step, reward: ok ? 1 : 0 }));
    case 'group-kn':
      return [JSON.stringify(shuffleKeys(r, { id: s.id, step, k, n }))];
    case 'group-rate':
      return [JSON.stringify(shuffleKeys(r, { index: s.index, step, 'pass@k': k / n, n }))];
    case 'group-scores':
      return [JSON.stringify({ id: s.id, step, scores: outcomes.map((ok) => (ok ? 1 : 0)) })];
    case 'group-rewards':
      return [JSON.stringify({ sample_id: s.id, global_step: step, rewards: outcomes.map((ok) => (ok ? 1 : 0)) })];
    case 'correct-bool':
      return per((ok) => ({ sample_id: s.id, step, correct: ok }));
    case 'file-step':
      return per((ok) => ({ index: s.index, acc: ok }));
    case 'index-float-str':
      return per((ok) => ({ index: `${s.index}.0`, step, score: ok ? 1 : 0 }));
  }
}

const MALFORMED: [string, string][] = [
  ['{"id": "ab', 'invalid_json'],
  ['not json at all', 'invalid_json'],
  ['[1, 2, 3]', 'not_an_object'],
  ['42', 'not_an_object'],
  ['null', 'not_an_object'],
  ['{"step": 3, "score": 1}', 'no_sample_key'],
  ['{"index": -4, "step": 3, "score": 1}', 'no_sample_key'],
  ['{"id": "", "step": 3, "score": 1}', 'no_sample_key'],
  ['{"id": "x", "step": 3}', 'no_outcome'],
  ['{"id": "x", "step": 3, "k": 5, "n": 3}', 'bad_outcome'],
  ['{"id": "x", "step": 3, "score": "abc"}', 'bad_outcome'],
  ['{"id": "x", "step": 3, "pass@k": 1.5, "n": 2}', 'bad_outcome'],
  ['{"id": "x", "step": 3, "pass@k": 0.3, "n": 8}', 'bad_outcome'],
  ['{"id": "x", "step": 3, "scores": []}', 'bad_outcome'],
  ['{"id": "x", "step": 3, "score": null, "reward": "NaN"}', 'bad_outcome'],
  ['{"id": "x", "step": -1, "score": 1}', 'no_step'],
];

interface Expected {
  groups: Map<string, { k: number; n: number }>;
  lines: number;
  matched: number;
  unknown: number;
  malformed: Record<string, number>;
}

/** Writes `<step>.jsonl` files of mixed shapes plus malformed and unknown lines; returns what an import must find. */
async function writeLogs(dir: string, seed: number, steps: number[]): Promise<Expected> {
  const r = mulberry32(seed);
  const exp: Expected = { groups: new Map(), lines: 0, matched: 0, unknown: 0, malformed: {} };
  for (const step of steps) {
    const out: string[] = [];
    for (const s of samples) {
      if (r() < 0.3) continue;
      const n = pick(r, [1, 2, 4, 8, 16]);
      const p = r();
      const outcomes = Array.from({ length: n }, () => r() < p);
      const lines = groupLines(r, s, step, outcomes);
      out.push(...lines);
      exp.lines += lines.length;
      exp.matched += lines.length;
      const key = `${s.id}@${step}`;
      const g = exp.groups.get(key) ?? { k: 0, n: 0 };
      g.k += outcomes.filter(Boolean).length;
      g.n += n;
      exp.groups.set(key, g);
    }
    for (let i = 0; i < 6; i++) {
      const [line, reason] = pick(r, MALFORMED);
      out.splice(Math.floor(r() * out.length), 0, line);
      exp.lines++;
      exp.malformed[reason] = (exp.malformed[reason] ?? 0) + 1;
    }
    for (const line of [`{"id": "${'f'.repeat(64)}", "step": ${step}, "score": 1}`, `{"index": 12345, "step": ${step}, "acc": 0}`]) {
      out.splice(Math.floor(r() * out.length), 0, line);
      exp.lines++;
      exp.unknown++;
    }
    const eol = r() < 0.5 ? '\n' : '\r\n';
    out.splice(Math.floor(r() * out.length), 0, '', '   ');
    await ws.write(join(dir, `${step}.jsonl`), out.join(eol) + eol);
  }
  return exp;
}

async function historyOf(importId: string): Promise<Map<string, { k: number; n: number }>> {
  const rows = await sql(`SELECT sample_id, step, sum(k)::INT AS k, sum(n)::INT AS n FROM read_parquet(${sqlList(paths.importFiles('history'))}) WHERE import_id = '${importId}' GROUP BY ALL`);
  return new Map(rows.map((r) => [`${r.sample_id}@${r.step}`, { k: Number(r.k), n: Number(r.n) }]));
}

describe('rlcs import', () => {
  it('reads every generated log shape, counts unknown and malformed lines, and rereads nothing', async () => {
    for (const seed of [1, 2, 3]) {
      const dir = `logs-${seed}`;
      const exp = await writeLogs(dir, seed, [1, 2, 3, 10]);
      const report = await run([ws.path(dir)]);
      expect(report.totals.lines).toBe(exp.lines);
      expect(report.totals.unknown).toBe(exp.unknown);
      expect(report.totals.malformed).toBe(Object.values(exp.malformed).reduce((a, b) => a + b, 0));
      expect(report.totals.matched).toBe(exp.matched);
      const merged: Record<string, number> = {};
      for (const f of report.files) for (const [k, v] of Object.entries(f.malformed_reasons)) merged[k] = (merged[k] ?? 0) + v!;
      expect(merged).toEqual(exp.malformed);
      for (const f of report.files) expect(f.lines).toBe(f.matched + f.unknown + f.malformed);
      expect(await historyOf(report.import_id!)).toEqual(exp.groups);

      const again = await run([ws.path(dir)]);
      expect(again.import_id).toBeNull();
      expect(again.totals.lines).toBe(0);
    }
  });

  it('reads only appended lines, and leaves a half-written last line for the next run', async () => {
    const r = mulberry32(99);
    for (let trial = 0; trial < 6; trial++) {
      const dir = `split-${trial}`;
      await writeLogs(dir, 100 + trial, [5]);
      const file = ws.path(dir, '5.jsonl');
      const full = await readFile(file);
      const cut = Math.floor(r() * full.length);
      await writeFile(file, full.subarray(0, cut));
      const first = await run([file]);
      await appendFile(file, full.subarray(cut));
      const second = await run([file]);
      const fresh = `whole-${trial}`;
      await ws.write(join(fresh, '5.jsonl'), full);
      const whole = await run([ws.path(fresh, '5.jsonl')]);
      expect(second.files[0]!.start_offset).toBe(first.files[0]!.end_offset);
      expect(first.files[0]!.end_offset).toBeLessThanOrEqual(cut);
      expect(second.files[0]!.end_offset).toBe(full.length);
      expect(first.totals.lines + second.totals.lines).toBe(whole.totals.lines);
      expect(first.totals.malformed + second.totals.malformed).toBe(whole.totals.malformed);
      const a = first.import_id ? await historyOf(first.import_id) : new Map<string, { k: number; n: number }>();
      const b = await historyOf(second.import_id!);
      for (const [key, g] of b) {
        const prev = a.get(key) ?? { k: 0, n: 0 };
        a.set(key, { k: prev.k + g.k, n: prev.n + g.n });
      }
      expect(a).toEqual(await historyOf(whole.import_id!));
    }
  });

  it('ignores and clears what a killed import left half-written', async () => {
    await writeLogs('killed', 21, [6]);
    const file = ws.path('killed', '6.jsonl');
    // a crash after staging: an uncommitted import folder with history in the temp area
    await ws.write(join('shards', 'd', 'rlcs', '_tmp', '99999999-crashed', 'history.parquet'), 'not parquet');
    const report = await run([file]);
    expect(report.totals.lines).toBeGreaterThan(0);
    expect(paths.importFiles('history').some((f) => f.includes('crashed'))).toBe(false);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(paths.tmp, '99999999-crashed'))).toBe(false);
  });

  it('rereads a rewritten file from the start and says so', async () => {
    await writeLogs('rewrite', 7, [4]);
    const file = ws.path('rewrite', '4.jsonl');
    await run([file]);
    await writeLogs('rewrite', 8, [4]);
    const again = await run([file]);
    expect(again.files[0]).toMatchObject({ rewritten: true, start_offset: 0 });
    expect(again.totals.lines).toBeGreaterThan(0);
  });

  it('matches the verl shape by extra_info.index and reads steps from file names', () => {
    const ctx = { fileStep: stepFromFileName('/x/rollouts/12.jsonl'), correctThreshold: 0.5 };
    expect(ctx.fileStep).toBe(12);
    expect(stepFromFileName('/x/step_7.jsonl')).toBe(7);
    expect(stepFromFileName('/x/log.jsonl')).toBeNull();
    // a date or a run number in a name is not a step
    for (const name of ['/x/rollouts-2026-12-04.jsonl', '/x/run_3.jsonl', '/x/a12.jsonl', '/x/12.json.bak']) expect(stepFromFileName(name), name).toBeNull();
    expect(stepFromFileName('C:\\logs\\7.json')).toBe(7);
    expect(parseLogLine('{"index": 3, "acc": true}', ctx)).toEqual({ ok: true, obs: { id: null, index: 3, step: 12, k: 1, n: 1 } });
    expect(parseLogLine('{"index": 3}', { fileStep: null, correctThreshold: 0.5 })).toEqual({ ok: false, reason: 'no_step' });
  });

  it('exposes history, imports and state to SQL', async () => {
    const rows = await sql(`SELECT count(*)::INT AS n FROM read_parquet('${join(paths.state, 'state.parquet')}') WHERE tier NOT IN ('solved','easy','medium','hard','unsolved')`);
    expect(rows).toEqual([{ n: 0 }]);
  });
});

describe('online state', () => {
  it('updated incrementally equals a full rebuild from the history', async () => {
    const { rebuildState } = await import('../../pipelines/rlcs/state.js');
    const { loadUniverse } = await import('../../pipelines/rlcs/store.js');
    const { rm: remove } = await import('node:fs/promises');
    const dump = async (name: string) => sql(`SELECT * FROM read_parquet('${join(paths.state, name)}') ORDER BY ALL`);
    const before = { state: await dump('state.parquet'), moves: await dump('moves.parquet'), tiers: await readFile(join(paths.state, 'tiers.jsonl'), 'utf8') };
    expect(before.state.length).toBeGreaterThan(0);
    expect(before.moves.length).toBeGreaterThan(0);
    await remove(join(paths.state, 'meta.json'));
    await loadUniverse(conn, paths.layout);
    await rebuildState(conn, paths, CONFIG, DEFAULT_TIER_THRESHOLDS);
    expect(await dump('state.parquet')).toEqual(before.state);
    expect(await dump('moves.parquet')).toEqual(before.moves);
    expect(await readFile(join(paths.state, 'tiers.jsonl'), 'utf8')).toEqual(before.tiers);
  });
});
