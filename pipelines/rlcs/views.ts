import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DatasetLayout } from '../shared/store/layout.js';
import { sqlList } from '../shared/store/duckdb.js';
import { RlcsPaths } from './store.js';

/**
 * SQL views over online RLCS data, when there is any: `rlcs_history` (pass-rate history: sample_id,
 * step, k, n), `rlcs_imports` (per log file and import: byte range, lines matched / unknown /
 * malformed), `rlcs_state` (EMA and tier per sample), `rlcs_moves` (tier moves), `rlcs_iterations`
 * (expansion ratio and tier mix per sampled step). Each carries the dataset name.
 */
export async function createRlcsViews(conn: DuckDBConnection, shardsDir: string, datasets: string[]): Promise<string[]> {
  const files: Record<string, string[]> = { rlcs_history: [], rlcs_imports: [], rlcs_state: [], rlcs_moves: [], rlcs_iterations: [] };
  for (const dataset of datasets) {
    const p = new RlcsPaths(new DatasetLayout(shardsDir, dataset));
    files.rlcs_history!.push(...p.importFiles('history'));
    files.rlcs_imports!.push(...p.importFiles('files'));
    for (const [view, name] of [['rlcs_state', 'state.parquet'], ['rlcs_moves', 'moves.parquet']] as const) {
      const f = join(p.state, name);
      if (existsSync(f)) files[view]!.push(f);
    }
    files.rlcs_iterations!.push(...p.iterationFiles());
  }
  const created: string[] = [];
  for (const [view, list] of Object.entries(files)) {
    if (!list.length) continue;
    // the dataset is the folder above rlcs/
    await conn.run(
      `CREATE OR REPLACE VIEW ${view} AS SELECT regexp_extract(filename, '([^/\\\\]+)[/\\\\]rlcs[/\\\\]', 1) AS dataset, * EXCLUDE (filename)
       FROM read_parquet(${sqlList(list)}, union_by_name = true, filename = true)`,
    );
    created.push(view);
  }
  return created;
}
