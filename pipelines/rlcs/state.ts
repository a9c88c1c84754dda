/**
 * Online difficulty state, derived from the whole pass-rate history: per sample an exponential
 * moving average of the pass rates seen at each training step (seeded with the offline pass rate),
 * the tier of that average, and every tier move. Groups of one step split over several imports are
 * summed first. Derived by one ordered, streamed pass (memory per sample, not per history row);
 * after an import only the samples it touched are recomputed, and a changed EMA weight, threshold
 * or set of rated samples recomputes everything.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Tier } from '../../schemas/tier.js';
import { tierOf, type TierThresholds } from '../difficulty/tiers.js';
import { stableHash } from '../shared/hash.js';
import { sqlList, sqlString } from '../shared/store/duckdb.js';
import { writeStagedParquet } from '../shared/store/parquet-writer.js';
import { StagedRows } from '../shared/store/staged-rows.js';
import type { RlcsConfig } from './config.js';
import type { RlcsPaths } from './store.js';

export const STATE_COLUMNS = {
  sample_id: 'VARCHAR',
  index: 'BIGINT',
  offline_tier: 'VARCHAR',
  offline_pass_rate: 'DOUBLE',
  steps: 'INTEGER',
  k_total: 'BIGINT',
  n_total: 'BIGINT',
  last_step: 'BIGINT',
  last_k: 'INTEGER',
  last_n: 'INTEGER',
  ema: 'DOUBLE',
  tier: 'VARCHAR',
} as const;

export const MOVES_COLUMNS = {
  sample_id: 'VARCHAR',
  step: 'BIGINT',
  from_tier: 'VARCHAR',
  to_tier: 'VARCHAR',
  ema: 'DOUBLE',
} as const;

export interface StateSummary {
  samples_with_history: number;
  tiers: Record<string, number>;
  moves_total: number;
  /** Moves at (sample, step) pairs the latest import brought. */
  moves_this_import: number;
}

export interface OnlineOptions {
  /** Weight of the newest pass rate. */
  alpha: number;
  thresholds: TierThresholds;
  /** An EMA within this distance of 1 (0) is `solved` (`unsolved`): an average never reaches the ends exactly. */
  pointTolerance: number;
}

/** The online tier of an EMA pass rate. */
export function onlineTier(ema: number, o: OnlineOptions): Tier {
  if (ema >= 1 - o.pointTolerance) return 'solved';
  if (ema <= o.pointTolerance) return 'unsolved';
  return tierOf(Math.min(Math.max(ema, 1e-12), 1 - 1e-12), o.thresholds);
}

/** EMA update: the first observation of an unrated sample starts the average. */
export function emaStep(prev: number | null, rate: number, alpha: number): number {
  return prev === null ? rate : (1 - alpha) * prev + alpha * rate;
}

/**
 * Rebuilds the state after an import. Only samples the import touched are recomputed from their
 * history; the others are carried over from the previous state, unless the EMA options or the rated
 * samples changed since (then everything is recomputed).
 */
export async function rebuildState(conn: DuckDBConnection, paths: RlcsPaths, config: RlcsConfig, thresholds: TierThresholds, importId?: string): Promise<StateSummary> {
  const history = paths.importFiles('history');
  const opts: OnlineOptions = { alpha: config.passRateEma, thresholds, pointTolerance: config.pointTolerance };
  const universeHash = String((await conn.runAndReadAll(`SELECT coalesce(bit_xor(hash(id, tier, pass_rate)), 0)::VARCHAR FROM rlcs_universe`)).getRows()[0]![0]);
  const meta = { options: stableHash(opts), universe: universeHash };
  const previous = await readMeta(paths);
  const statePath = join(paths.state, 'state.parquet');
  const movesPath = join(paths.state, 'moves.parquet');
  const thisImport = importId ? history.find((f) => f.includes(importId)) : undefined;
  const unchanged = previous?.options === meta.options && previous.universe === meta.universe && existsSync(statePath) && existsSync(movesPath);
  if (!importId && unchanged) return summarise(conn, paths);
  const incremental = !!thisImport && previous?.options === meta.options && previous.universe === meta.universe && existsSync(statePath) && existsSync(movesPath);

  const tmp = join(paths.tmp, `state-${process.pid}-${Date.now()}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  if (incremental) await conn.run(`CREATE OR REPLACE TEMP TABLE rlcs_touched AS SELECT DISTINCT sample_id FROM read_parquet(${sqlString(thisImport)})`);
  const states = new StagedRows(join(tmp, '.state.jsonl'));
  const moves = new StagedRows(join(tmp, '.moves.jsonl'));
  if (history.length) await deriveRows(conn, history, incremental, opts, states, moves);
  const fresh = incremental ? 'touched-' : '';
  await writeStagedParquet(conn, states, { columns: STATE_COLUMNS, dir: tmp, stem: `${fresh}state` });
  await writeStagedParquet(conn, moves, { columns: MOVES_COLUMNS, dir: tmp, stem: `${fresh}moves` });
  if (incremental) {
    for (const [name, old] of [['state', statePath], ['moves', movesPath]] as const) {
      await conn.run(
        `COPY (SELECT * FROM read_parquet(${sqlString(old)}) WHERE sample_id NOT IN (SELECT sample_id FROM rlcs_touched)
               UNION ALL SELECT * FROM read_parquet(${sqlString(join(tmp, `touched-${name}.parquet`))}) ORDER BY sample_id${name === 'moves' ? ', step' : ''})
         TO ${sqlString(join(tmp, `${name}.parquet`))} (FORMAT PARQUET, COMPRESSION ZSTD)`,
      );
      await rm(join(tmp, `touched-${name}.parquet`));
    }
    await conn.run(`DROP TABLE rlcs_touched`);
  }
  // the tier table the verl sampler reads: online tier where there is history, else the offline one
  await conn.run(
    `COPY (SELECT u.idx AS "index", u.id, coalesce(s.tier, u.tier) AS tier, s.ema
           FROM rlcs_universe u LEFT JOIN read_parquet(${sqlString(join(tmp, 'state.parquet'))}) s ON s.sample_id = u.id ORDER BY u.idx)
     TO ${sqlString(join(tmp, 'tiers.jsonl'))} (FORMAT JSON)`,
  );
  await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta));
  const old = `${paths.state}.old-${process.pid}`;
  await rm(old, { recursive: true, force: true });
  await rename(paths.state, old).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(tmp, paths.state);
  await rm(old, { recursive: true, force: true });
  return summarise(conn, paths, importId);
}

async function readMeta(paths: RlcsPaths): Promise<{ options: string; universe: string } | null> {
  try {
    return JSON.parse(await readFile(join(paths.state, 'meta.json'), 'utf8')) as { options: string; universe: string };
  } catch {
    return null;
  }
}

/** One ordered pass over the (touched samples') history: the EMA per step, the tier after it, every move. */
async function deriveRows(conn: DuckDBConnection, history: string[], onlyTouched: boolean, opts: OnlineOptions, states: StagedRows, moves: StagedRows): Promise<void> {
  const result = await conn.stream(
    // plain JS numbers out (no bigint conversions): steps and counts fit in DOUBLE exactly, as do 52-bit indices
    `SELECT h.sample_id, h.step::DOUBLE, sum(h.k)::DOUBLE AS k, sum(h.n)::DOUBLE AS n, any_value(u.idx)::DOUBLE AS idx, any_value(u.tier) AS tier, any_value(u.pass_rate) AS pass_rate
     FROM read_parquet(${sqlList(history)}) h JOIN rlcs_universe u ON u.id = h.sample_id
     ${onlyTouched ? 'SEMI JOIN rlcs_touched t ON t.sample_id = h.sample_id' : ''}
     GROUP BY h.sample_id, h.step ORDER BY h.sample_id, h.step`,
  );
  let cur: { sample_id: string; index: number; offline_tier: string; offline_pass_rate: number | null; steps: number; k_total: number; n_total: number; last_step: number; last_k: number; last_n: number; ema: number | null; tier: Tier } | null = null;
  for await (const rows of result.yieldRowsJs()) {
    for (const [sampleId, step, k, n, idx, tier, passRate] of rows) {
      const id = String(sampleId);
      if (!cur || cur.sample_id !== id) {
        if (cur) states.add(cur);
        const offlineRate = passRate === null ? null : Number(passRate);
        cur = { sample_id: id, index: idx as number, offline_tier: String(tier), offline_pass_rate: offlineRate, steps: 0, k_total: 0, n_total: 0, last_step: -1, last_k: 0, last_n: 0, ema: offlineRate, tier: tier as Tier };
      }
      const kk = k as number;
      const nn = n as number;
      cur.ema = emaStep(cur.ema, kk / nn, opts.alpha);
      const next = onlineTier(cur.ema, opts);
      if (next !== cur.tier) moves.add({ sample_id: id, step, from_tier: cur.tier, to_tier: next, ema: cur.ema });
      cur.tier = next;
      cur.steps++;
      cur.k_total += kk;
      cur.n_total += nn;
      cur.last_step = step as number;
      cur.last_k = kk;
      cur.last_n = nn;
    }
  }
  if (cur) states.add(cur);
}

async function summarise(conn: DuckDBConnection, paths: RlcsPaths, importId?: string): Promise<StateSummary> {
  const state = sqlString(join(paths.state, 'state.parquet'));
  const moves = sqlString(join(paths.state, 'moves.parquet'));
  const tiers: Record<string, number> = {};
  for (const [tier, n] of (await conn.runAndReadAll(`SELECT tier, count(*)::INT FROM read_parquet(${state}) GROUP BY tier ORDER BY tier`)).getRows()) tiers[String(tier)] = Number(n);
  const movesTotal = Number((await conn.runAndReadAll(`SELECT count(*)::INT FROM read_parquet(${moves})`)).getRows()[0]![0]);
  let movesThisImport = 0;
  const history = paths.importFiles('history');
  if (importId && history.length) {
    const r = await conn.runAndReadAll(
      `SELECT count(*)::INT FROM read_parquet(${moves}) m
       SEMI JOIN (SELECT DISTINCT sample_id, step FROM read_parquet(${sqlList(history)}) WHERE import_id = ${sqlString(importId)}) h
       ON h.sample_id = m.sample_id AND h.step = m.step`,
    );
    movesThisImport = Number(r.getRows()[0]![0]);
  }
  return { samples_with_history: Object.values(tiers).reduce((a, b) => a + b, 0), tiers, moves_total: movesTotal, moves_this_import: movesThisImport };
}
