/**
 * RLCS simulation: a loopback policy whose per-item success rates rise over training steps. Each
 * step, the curriculum arm draws its prompts with `rlcs sample`, the uniform arm draws at random;
 * both ask the policy for n rollouts per prompt, verify them with the real verifier, and the
 * curriculum arm's groups are written as verl `rollout_data_dir` dumps and imported with
 * `rlcs import` (each run reads only the new step's file). Used by test/rlcs/simulation.test.ts and
 * bench/rlcs.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rlcsSchema } from '../../pipelines/rlcs/config.js';
import { importLogs } from '../../pipelines/rlcs/import-logs.js';
import { sampleIteration } from '../../pipelines/rlcs/sampler.js';
import { DEFAULT_TIER_THRESHOLDS } from '../../pipelines/difficulty/tiers.js';
import { connect, sqlList } from '../../pipelines/shared/store/duckdb.js';
import { verify } from '../../pipelines/verify/index.js';
import { FAKE_MODEL, itemTag, mulberry32, startFakePolicyServer, type FakeItem } from '../support/openai-server.js';
import type { Workspace } from '../support/workspace.js';
import { buildDataset, type FixtureSample } from './support.js';

export interface SimOptions {
  items: number;
  steps: number;
  batchSize: number;
  n: number;
  seed: number;
}

export interface SimResult {
  groups: { curriculum: number; uniform: number };
  informative: { curriculum: number; uniform: number };
  /** Per sample with history: |observed − true| / binomial sd of the pooled observation. */
  zScores: number[];
  /** (sample, step) groups whose imported k/n differ from what the policy produced. */
  historyMismatches: number;
  /** Lines read by imports of files already read before (must be 0). */
  rereadLines: number;
  expansionRatios: number[];
}

/** True success rate of item i at step t: most items improve with training, some stay put. */
export function trueRate(p0: number, slope: number, t: number): number {
  return Math.min(1, Math.max(0, p0 + slope * t));
}

export async function simulate(ws: Workspace, opts: SimOptions): Promise<SimResult> {
  const r = mulberry32(opts.seed);
  const { samples, paths } = await buildDataset(ws, opts.items);
  const start = samples.map(() => {
    const p0 = [0, 0, 0.02, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1, 1][Math.floor(r() * 11)]!;
    return { p0, slope: p0 === 0 || p0 === 1 ? 0 : 0.01 + 0.03 * r() };
  });
  const items: FakeItem[] = samples.map((s, i) => ({ id: s.item, p: start[i]!.p0, answer: String(Number(s.item.slice(1)) + 1), wrongAnswer: '-7' }));
  const server = await startFakePolicyServer({ items, seed: opts.seed, instant: false });
  const conn = await connect();
  const config = rlcsSchema.parse({ seed: opts.seed });
  const byId = new Map(samples.map((s, i) => [s.id, i]));
  const logs = ws.path('rollouts');
  const produced = new Map<string, { k: number; n: number }>();
  const trueSum = new Map<number, { p: number; n: number }>();
  const res: SimResult = { groups: { curriculum: 0, uniform: 0 }, informative: { curriculum: 0, uniform: 0 }, zScores: [], historyMismatches: 0, rereadLines: 0, expansionRatios: [] };

  const rollouts = async (s: FixtureSample): Promise<boolean[]> => {
    const body = { model: FAKE_MODEL, n: opts.n, temperature: 1, top_p: 1, max_tokens: 1024, messages: [{ role: 'user', content: `What is ${s.item.slice(1)} + 1? ${itemTag(s.item)}` }] };
    const response = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`policy answered ${response.status}`);
    const json = (await response.json()) as { choices: { message: { content: string } }[] };
    const out: boolean[] = [];
    for (const c of json.choices) {
      const v = await verify({ domain: 'math', response: c.message.content, groundTruth: items[byId.get(s.id)!]!.answer, format: 'glm' });
      out.push(v.correct);
    }
    return out;
  };

  try {
    for (let t = 1; t <= opts.steps; t++) {
      items.forEach((it, i) => (it.p = trueRate(start[i]!.p0, start[i]!.slope, t)));
      const drawn = await sampleIteration(conn, paths, config, { step: t, batchSize: opts.batchSize });
      res.expansionRatios.push(drawn.expansion.ratio);
      const manifest = (await readFile(drawn.manifest, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string });
      const lines: string[] = [];
      for (const { id } of manifest) {
        const i = byId.get(id)!;
        const s = samples[i]!;
        const outcomes = await rollouts(s);
        const k = outcomes.filter(Boolean).length;
        res.groups.curriculum++;
        if (k > 0 && k < outcomes.length) res.informative.curriculum++;
        produced.set(`${id}@${t}`, { k, n: outcomes.length });
        const acc = trueSum.get(i) ?? { p: 0, n: 0 };
        trueSum.set(i, { p: acc.p + items[i]!.p * outcomes.length, n: acc.n + outcomes.length });
        // verl's _dump_generations line, with the keys Stratum's compute_score returns
        for (const ok of outcomes) lines.push(JSON.stringify({ input: `What is ${s.item.slice(1)} + 1?`, output: ok ? 'right' : 'wrong', gts: items[i]!.answer, score: ok ? 1 : 0, step: t, acc: ok ? 1 : 0, format_ok: 1, sample_index: s.index }));
      }
      for (let b = 0; b < opts.batchSize; b++) {
        const s = samples[Math.floor(r() * samples.length)]!;
        const k = (await rollouts(s)).filter(Boolean).length;
        res.groups.uniform++;
        if (k > 0 && k < opts.n) res.informative.uniform++;
      }
      await ws.write(join('rollouts', `${t}.jsonl`), lines.join('\n') + '\n');
      const report = await importLogs(conn, paths, [logs], config, DEFAULT_TIER_THRESHOLDS);
      res.rereadLines += report.files.filter((f) => !f.log_file.endsWith(`/${t}.jsonl`)).reduce((a, f) => a + f.lines, 0);
    }
  } finally {
    await server.close();
  }

  const rows = (await conn.runAndReadAll(`SELECT sample_id, step, sum(k)::INT, sum(n)::INT FROM read_parquet(${sqlList(paths.importFiles('history'))}) GROUP BY ALL`)).getRows();
  const observed = new Map<number, { k: number; n: number }>();
  let seen = 0;
  for (const [id, step, k, n] of rows) {
    const want = produced.get(`${id}@${step}`);
    if (!want || want.k !== Number(k) || want.n !== Number(n)) res.historyMismatches++;
    seen++;
    const i = byId.get(String(id))!;
    const o = observed.get(i) ?? { k: 0, n: 0 };
    observed.set(i, { k: o.k + Number(k), n: o.n + Number(n) });
  }
  res.historyMismatches += produced.size - seen;
  for (const [i, o] of observed) {
    const truth = trueSum.get(i)!;
    const p = truth.p / truth.n;
    const sd = Math.sqrt(Math.max(p * (1 - p), 1e-9) / o.n);
    res.zScores.push(Math.abs(o.k / o.n - p) / sd);
  }
  return res;
}
