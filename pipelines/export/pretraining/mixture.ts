import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlList, sqlString } from '../../shared/store/duckdb.js';
import type { PretrainingConfig } from './config.js';

export interface MixtureGroup {
  kind: string;
  quality: string;
  samples: number;
  weight: number;
  /** Samples of this group in one epoch. */
  target: number;
  /** Seeded offset in [0, 1) of the group's first slot (see mixtureSql). */
  phase: number;
}

/** SplitMix32-style generator: a small seeded PRNG whose sequence never changes between releases. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

/**
 * Each group's share of an epoch: a weight multiplies the rate at which a group's samples are drawn,
 * so with every weight 1 each sample appears once; weight 2 doubles a group, 0.5 halves it, 0 leaves
 * it out. `epochSamples` rescales the whole epoch. Rounding by largest remainder, so targets sum exactly.
 */
export function planGroups(counts: Array<{ kind: string; quality: string; samples: number }>, config: PretrainingConfig['mixture'], epoch: number): MixtureGroup[] {
  const sorted = [...counts].sort((a, b) => a.kind.localeCompare(b.kind) || a.quality.localeCompare(b.quality));
  const weighted = sorted.map((g) => ({ ...g, weight: (config.kindWeights[g.kind as keyof typeof config.kindWeights] ?? 1) * (config.qualityWeights[g.quality] ?? 1) }));
  const mass = weighted.reduce((n, g) => n + g.weight * g.samples, 0);
  const total = config.epochSamples ?? Math.round(mass);
  const exact = weighted.map((g) => (mass > 0 ? (total * g.weight * g.samples) / mass : 0));
  const targets = exact.map(Math.floor);
  let left = total - targets.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (weighted[i]!.weight > 0 && weighted[i]!.samples > 0) {
      targets[i]!++;
      left--;
    }
  }
  const random = seededRandom(config.seed ^ Math.imul(epoch + 1, 0x9e3779b1));
  return weighted.map((g, i) => ({ ...g, target: targets[i]!, phase: random() }));
}

/**
 * One epoch's order, computed out of core in DuckDB: each group draws its `target` samples from
 * seeded permutations of itself (repeated when upsampled: every sample once before any twice), and
 * groups are interleaved by stride scheduling (the group's i-th draw sits at `(i + phase) / target`),
 * so every prefix of the epoch holds the groups in their configured proportions. The permutation key
 * is md5(seed:epoch:repeat:sample_id): the order is a pure function of the members and the config.
 */
export function mixtureSql(memberFiles: string[], format: string, groups: MixtureGroup[], seed: number, epoch: number): string {
  const live = groups.filter((g) => g.target > 0);
  const values = live.map((g) => `(${sqlString(g.kind)}, ${sqlString(g.quality)}, ${g.target}, ${Math.ceil(g.target / g.samples)}, ${g.phase})`).join(', ');
  const salt = `${seed}:${epoch}:`;
  return `
    WITH m AS (SELECT * FROM read_parquet(${sqlList(memberFiles)}) WHERE format = ${sqlString(format)}),
    t(kind, quality, target, reps, phase) AS (VALUES ${values}),
    drawn AS (SELECT m.*, t.target, t.phase, unnest(range(t.reps)) AS rep FROM m JOIN t USING (kind, quality)),
    keyed AS (SELECT *, md5(${sqlString(salt)} || rep || ':' || sample_id || ':' || coalesce(file, '') || ':' || coalesce("offset", 0)) AS draw_key FROM drawn),
    ranked AS (SELECT *, row_number() OVER (PARTITION BY kind, quality ORDER BY rep, draw_key) AS i FROM keyed),
    chosen AS (SELECT * FROM ranked WHERE i <= target)
    SELECT row_number() OVER (ORDER BY (i - 1 + phase) / target, draw_key) - 1 AS position,
           kind, quality, sample_id, quality_score, file, key, "offset", rep AS repeat
    FROM chosen ORDER BY position`;
}

export interface MixtureSummary {
  format: string;
  seed: number;
  epochs: number;
  weights: 'rate multiplier per sample: kindWeights[kind] × qualityWeights[quality], default 1';
  groups: MixtureGroup[];
  files: string[];
}

/** Writes `mixture/<format>/epoch-NNNN.jsonl` (and removes epochs no longer configured); returns the summary. */
export async function writeMixture(conn: DuckDBConnection, memberFiles: string[], format: string, config: PretrainingConfig['mixture'], outDir: string): Promise<MixtureSummary> {
  const dir = join(outDir, format);
  await mkdir(dir, { recursive: true });
  const counts = memberFiles.length
    ? ((await conn.runAndReadAll(`SELECT kind, quality, count(*)::INTEGER AS samples FROM read_parquet(${sqlList(memberFiles)}) WHERE format = ${sqlString(format)} GROUP BY ALL`)).getRowObjectsJson() as Array<{ kind: string; quality: string; samples: number }>)
    : [];
  const files: string[] = [];
  let groups: MixtureGroup[] = planGroups(counts, config, 0);
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    groups = planGroups(counts, config, epoch);
    const name = `epoch-${String(epoch).padStart(4, '0')}.jsonl`;
    const tmp = join(dir, `.${name}.tmp`);
    if (groups.some((g) => g.target > 0)) await conn.run(`COPY (${mixtureSql(memberFiles, format, groups, config.seed, epoch)}) TO ${sqlString(tmp)} (FORMAT JSON)`);
    else await writeFile(tmp, '');
    await rename(tmp, join(dir, name));
    files.push(name);
  }
  for (const entry of await readdir(dir)) if (!files.includes(entry)) await rm(join(dir, entry), { force: true });
  return { format, seed: config.seed, epochs: config.epochs, weights: 'rate multiplier per sample: kindWeights[kind] × qualityWeights[quality], default 1', groups, files };
}
