/**
 * Where online RLCS lives, beside the dataset's stages:
 *
 *   shards/<dataset>/rlcs/
 *     imports/<import_id>/history.parquet   (sample_id, step, k, n, lines, log_file, import_id)  — pass-rate history
 *     imports/<import_id>/files.parquet     per log file: byte range read, line accounting       — what was read
 *     state/state.parquet                   per sample: EMA, tier, counts (derived from history)
 *     state/moves.parquet                   tier moves (sample_id, step, from_tier, to_tier, ema)
 *     state/tiers.jsonl                     {index, id, tier} for the verl sampler
 *     iterations/step-<N>.parquet           per `rlcs sample` call: ratio, tier mix
 *     manifests/step-<N>.jsonl              the next iteration's sample ids and indices
 *
 * An import directory appears by one rename, so its history and the offsets it read commit together:
 * a killed import leaves nothing behind and a rerun reads the same lines once.
 */
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { manifestFiles, readManifest } from '../shared/runner/manifest.js';
import { DatasetLayout } from '../shared/store/layout.js';
import { sqlList } from '../shared/store/duckdb.js';
import { existsSync, readdirSync } from 'node:fs';

export class RlcsPaths {
  readonly root: string;
  constructor(readonly layout: DatasetLayout) {
    this.root = join(layout.root, 'rlcs');
  }
  get imports(): string {
    return join(this.root, 'imports');
  }
  get tmp(): string {
    return join(this.root, '_tmp');
  }
  get state(): string {
    return join(this.root, 'state');
  }
  get iterations(): string {
    return join(this.root, 'iterations');
  }
  get manifests(): string {
    return join(this.root, 'manifests');
  }
  get lock(): string {
    return join(this.root, '.lock');
  }
  /** Committed files of one kind across imports, oldest first. */
  importFiles(name: 'history' | 'files'): string[] {
    if (!existsSync(this.imports)) return [];
    return readdirSync(this.imports)
      .filter((d) => !d.startsWith('.'))
      .sort()
      .map((d) => join(this.imports, d, `${name}.parquet`))
      .filter((f) => existsSync(f));
  }
  iterationFiles(): string[] {
    if (!existsSync(this.iterations)) return [];
    return readdirSync(this.iterations).filter((f) => f.endsWith('.parquet')).sort().map((f) => join(this.iterations, f));
  }
}

/** The 52-bit `extra_info.index` of a sample id, in SQL (same as export's stableIndex). */
export const SQL_INDEX_OF_ID = (col: string) => `('0x' || substr(${col}, 1, 13))::BIGINT`;

/**
 * A temp table `rlcs_universe(id, idx, tier, pass_rate)` of the dataset's rated stage output: the
 * samples logs are matched against. Reads the difficulty shards a manifest names (never half-written files).
 */
export async function loadUniverse(conn: DuckDBConnection, layout: DatasetLayout): Promise<number> {
  const manifest = await readManifest(layout.manifest('difficulty'), 'difficulty');
  const files = manifestFiles(manifest, 'data').map((f) => join(layout.stageDir('difficulty'), f));
  const source = files.length
    ? `SELECT id, tier, difficulty.pass_rate AS pass_rate FROM read_parquet(${sqlList(files)}, union_by_name = true, hive_partitioning = false) WHERE task IS NOT NULL`
    : `SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS tier, NULL::DOUBLE AS pass_rate LIMIT 0`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE rlcs_universe AS SELECT id, ${SQL_INDEX_OF_ID('id')} AS idx, tier, pass_rate FROM (${source})`);
  const r = await conn.runAndReadAll(`SELECT count(*)::INT FROM rlcs_universe`);
  return Number(r.getRows()[0]![0]);
}
