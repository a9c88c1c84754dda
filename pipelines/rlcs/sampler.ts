/**
 * `rlcs sample`: the next iteration's manifest. Each sample's current tier (online where it has
 * history, else offline) gives its weight; `ceil(B · expansion_ratio)` samples are drawn without
 * replacement by weighted reservoir keys (Efraimidis–Spirakis, −ln u / w, u from md5(seed, step, id)),
 * so a draw is reproducible from (seed, step, tiers) and runs out of core in DuckDB.
 *
 * expansion_ratio = 1 / (1 − not_valid_sample_rate) per observed training step, where not valid
 * means a group that was all correct or all wrong, capped at `maxExpansion` and smoothed by an EMA
 * over the steps before N (GLM-4.1V §5.3).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { TIERS } from '../../schemas/tier.js';
import { acquireLock } from '../shared/runner/lock.js';
import { sqlList, sqlString } from '../shared/store/duckdb.js';
import { writeParquet } from '../shared/store/parquet-writer.js';
import { UserError } from '../shared/errors.js';
import { tierWeights, type RlcsConfig } from './config.js';
import { loadUniverse, type RlcsPaths } from './store.js';

export const ITERATION_COLUMNS = {
  step: 'BIGINT',
  batch_size: 'INTEGER',
  drawn: 'INTEGER',
  expansion_ratio: 'DOUBLE',
  last_raw_ratio: 'DOUBLE',
  last_not_valid_rate: 'DOUBLE',
  last_observed_step: 'BIGINT',
  observed_steps: 'INTEGER',
  seed: 'BIGINT',
  weights: 'VARCHAR',
  population_mix: 'VARCHAR',
  tier_mix: 'VARCHAR',
  manifest: 'VARCHAR',
  created_at: 'TIMESTAMP',
} as const;

export interface StepValidity {
  step: number;
  groups: number;
  not_valid: number;
}

export interface Expansion {
  ratio: number;
  lastRaw: number | null;
  lastRate: number | null;
  lastStep: number | null;
  steps: number;
}

/** The EMA-smoothed expansion ratio over observed steps (in step order); 1 with no history. */
export function expansionRatio(steps: readonly StepValidity[], beta: number, cap: number): Expansion {
  let ratio: number | null = null;
  let last: StepValidity | null = null;
  let lastRaw: number | null = null;
  for (const s of [...steps].sort((a, b) => a.step - b.step)) {
    if (s.groups === 0) continue;
    const rate = s.not_valid / s.groups;
    const raw = rate >= 1 ? cap : Math.min(cap, 1 / (1 - rate));
    ratio = ratio === null ? raw : (1 - beta) * ratio + beta * raw;
    last = s;
    lastRaw = raw;
  }
  return { ratio: ratio ?? 1, lastRaw, lastRate: last ? last.not_valid / last.groups : null, lastStep: last?.step ?? null, steps: steps.length };
}

export interface SampleOptions {
  step: number;
  batchSize: number;
  seed?: number;
}

export interface SampleResult {
  step: number;
  batch_size: number;
  drawn: number;
  expansion: Expansion;
  weights: Record<string, number>;
  population_mix: Record<string, number>;
  tier_mix: Record<string, number>;
  manifest: string;
}

export async function sampleIteration(conn: DuckDBConnection, paths: RlcsPaths, config: RlcsConfig, opts: SampleOptions): Promise<SampleResult> {
  if (!Number.isInteger(opts.step) || opts.step < 0) throw new UserError(`--step must be a non-negative integer, got ${opts.step}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) throw new UserError(`--batch-size must be a positive integer, got ${opts.batchSize}`);
  const release = await acquireLock(paths.lock, `rlcs import/sample for ${paths.layout.dataset}`);
  try {
    await rm(paths.tmp, { recursive: true, force: true }); // leftovers of a killed run; the lock keeps others out
    return await sampleLocked(conn, paths, config, opts);
  } finally {
    await release();
  }
}

async function sampleLocked(conn: DuckDBConnection, paths: RlcsPaths, config: RlcsConfig, opts: SampleOptions): Promise<SampleResult> {
  const universe = await loadUniverse(conn, paths.layout);
  if (universe === 0) throw new UserError(`dataset ${paths.layout.dataset}: no rated samples with a task; run \`pnpm pipeline run difficulty\` first`);
  const seed = opts.seed ?? config.seed;
  const weights = tierWeights(config);
  const history = paths.importFiles('history');
  const statePath = join(paths.state, 'state.parquet');
  const { existsSync } = await import('node:fs');
  const stateSource = existsSync(statePath) ? `read_parquet(${sqlString(statePath)})` : `(SELECT NULL::VARCHAR AS sample_id, NULL::VARCHAR AS tier LIMIT 0)`;

  const steps: StepValidity[] = [];
  if (history.length) {
    const r = await conn.runAndReadAll(
      `SELECT step, count(*)::INT, count(*) FILTER (WHERE k = 0 OR k = n)::INT
       FROM (SELECT sample_id, step, sum(k) AS k, sum(n) AS n FROM read_parquet(${sqlList(history)}) WHERE step < ${opts.step} GROUP BY sample_id, step)
       GROUP BY step ORDER BY step`,
    );
    for (const [step, groups, notValid] of r.getRows()) steps.push({ step: Number(step), groups: Number(groups), not_valid: Number(notValid) });
  }
  const expansion = expansionRatio(steps, config.expansionEma, config.maxExpansion);

  const weightCase = `CASE t.tier ${TIERS.map((tier) => `WHEN ${sqlString(tier)} THEN ${weights[tier]}`).join(' ')} ELSE 0 END`;
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE rlcs_pool AS
     SELECT t.*, ${weightCase}::DOUBLE AS weight FROM (
       SELECT u.id, u.idx, coalesce(s.tier, u.tier) AS tier FROM rlcs_universe u LEFT JOIN ${stateSource} s ON s.sample_id = u.id) t`,
  );
  const population: Record<string, number> = {};
  let eligible = 0;
  for (const [tier, n, pos] of (await conn.runAndReadAll(`SELECT tier, count(*)::INT, count(*) FILTER (WHERE weight > 0)::INT FROM rlcs_pool GROUP BY tier ORDER BY tier`)).getRows()) {
    population[String(tier)] = Number(n);
    eligible += Number(pos);
  }
  const drawn = Math.min(eligible, Math.ceil(opts.batchSize * expansion.ratio - 1e-9));
  const manifestName = `step-${String(opts.step).padStart(8, '0')}.jsonl`;
  await mkdir(paths.manifests, { recursive: true });
  const tmpManifest = join(paths.manifests, `.${manifestName}.tmp`);
  // u in (0, 1) from 52 bits of md5: stable across DuckDB versions and platforms
  const u = `((('0x' || substr(md5(${sqlString(`${seed}:${opts.step}:`)} || id), 1, 13))::BIGINT)::DOUBLE + 0.5) / 4503599627370496.0`;
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE rlcs_draw AS
     SELECT id, idx, tier, weight, row_number() OVER (ORDER BY key, id) AS rank FROM (
       SELECT id, idx, tier, weight, -ln(${u}) / weight AS key FROM rlcs_pool WHERE weight > 0 ORDER BY key, id LIMIT ${drawn})`,
  );
  await conn.run(
    `COPY (SELECT id, idx AS "index", tier, weight, rank::INT AS rank, ${opts.step} AS step FROM rlcs_draw ORDER BY rank) TO ${sqlString(tmpManifest)} (FORMAT JSON)`,
  );
  await rename(tmpManifest, join(paths.manifests, manifestName));
  const mix: Record<string, number> = {};
  for (const [tier, n] of (await conn.runAndReadAll(`SELECT tier, count(*)::INT FROM rlcs_draw GROUP BY tier ORDER BY tier`)).getRows()) mix[String(tier)] = Number(n);
  await conn.run(`DROP TABLE rlcs_draw`);
  await conn.run(`DROP TABLE rlcs_pool`);

  const stem = `step-${String(opts.step).padStart(8, '0')}`;
  const tmpDir = join(paths.tmp, `iteration-${process.pid}-${Date.now()}`);
  await writeParquet(
    conn,
    [
      {
        step: opts.step,
        batch_size: opts.batchSize,
        drawn,
        expansion_ratio: expansion.ratio,
        last_raw_ratio: expansion.lastRaw,
        last_not_valid_rate: expansion.lastRate,
        last_observed_step: expansion.lastStep,
        observed_steps: expansion.steps,
        seed,
        weights: JSON.stringify(weights),
        population_mix: JSON.stringify(population),
        tier_mix: JSON.stringify(mix),
        manifest: join(paths.manifests, manifestName),
        created_at: new Date().toISOString(),
      },
    ],
    { columns: ITERATION_COLUMNS, dir: tmpDir, stem },
  );
  await mkdir(paths.iterations, { recursive: true });
  await rename(join(tmpDir, `${stem}.parquet`), join(paths.iterations, `${stem}.parquet`));
  await rm(tmpDir, { recursive: true, force: true });
  return { step: opts.step, batch_size: opts.batchSize, drawn, expansion, weights, population_mix: population, tier_mix: mix, manifest: join(paths.manifests, manifestName) };
}
