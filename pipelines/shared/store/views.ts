import type { DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import { LEDGER_COLUMNS } from '../../../schemas/ledger.js';
import { ROLLOUT_COLUMNS } from '../../../schemas/rollout.js';
import { SAMPLE_COLUMNS } from '../../../schemas/sample.js';
import { SYNTHESIZE_OUTCOME_COLUMNS } from '../../../schemas/synthesize.js';
import { manifestFiles, readManifest } from '../runner/manifest.js';
import { existsSync, readFileSync } from 'node:fs';
import { sqlList, sqlString } from './duckdb.js';
import { EmbeddingStore, embeddingsViewSql } from '../../embed/store.js';
import { DatasetLayout, type StageName } from './layout.js';
import { createRlcsViews } from '../../rlcs/views.js';

interface ViewSpec {
  name: string;
  stage: StageName;
  output: string;
  columns: Record<string, string>;
}

/** Output names of each stage that get a SQL view; export's columns follow the trainer formats. */
const VIEWS: ViewSpec[] = [
  { name: 'ingest_samples', stage: 'ingest', output: 'data', columns: SAMPLE_COLUMNS },
  { name: 'synthesize_samples', stage: 'synthesize', output: 'data', columns: SAMPLE_COLUMNS },
  { name: 'synthesize_outcomes', stage: 'synthesize', output: 'outcomes', columns: SYNTHESIZE_OUTCOME_COLUMNS },
  { name: 'filter_samples', stage: 'filter', output: 'data', columns: SAMPLE_COLUMNS },
  { name: 'difficulty_samples', stage: 'difficulty', output: 'data', columns: SAMPLE_COLUMNS },
  { name: 'rollouts', stage: 'difficulty', output: 'rollouts', columns: ROLLOUT_COLUMNS },
];

/**
 * Creates views over the committed shards of the given datasets: `samples` (the latest stage that
 * has data), `ingest_samples`, `filter_samples`, `difficulty_samples`, `ledger` (every stage), `rollouts`, and
 * `export_verl` / `export_easyr1` / `export_interleaved` when exported. Only files a manifest names are read, so a
 * half-written unit of a killed run is never visible.
 */
export async function createShardViews(
  conn: DuckDBConnection,
  shardsDir: string,
  datasets: string[],
  stages: readonly string[] = ['ingest', 'synthesize', 'filter', 'difficulty', 'export'],
): Promise<string[]> {
  const filesOf = async (stage: StageName, output: string): Promise<string[]> => {
    const all: string[] = [];
    for (const dataset of datasets) {
      const layout = new DatasetLayout(shardsDir, dataset);
      const manifest = await readManifest(layout.manifest(stage), stage);
      all.push(...manifestFiles(manifest, output).map((f) => join(layout.stageDir(stage), f)));
    }
    return all;
  };
  const created: string[] = [];
  const define = async (name: string, files: string[], columns: Record<string, string> | null): Promise<void> => {
    if (files.length) {
      await conn.run(`CREATE OR REPLACE VIEW ${name} AS SELECT * FROM read_parquet(${sqlList(files)}, union_by_name = true)`);
    } else if (columns) {
      const empty = Object.entries(columns).map(([c, t]) => `CAST(NULL AS ${t}) AS "${c}"`).join(', ');
      await conn.run(`CREATE OR REPLACE VIEW ${name} AS SELECT ${empty} LIMIT 0`);
    } else return;
    created.push(name);
  };
  for (const view of VIEWS) await define(view.name, await filesOf(view.stage, view.output), view.columns);
  let latest: string[] = [];
  for (const stage of ['difficulty', 'filter', 'synthesize', 'ingest']) if (!latest.length) latest = await filesOf(stage, 'data');
  await define('samples', latest, SAMPLE_COLUMNS);
  const ledgerFiles = (await Promise.all(stages.map((s) => filesOf(s, 'ledger')))).flat();
  await define('ledger', ledgerFiles, LEDGER_COLUMNS);
  for (const format of ['verl', 'easyr1', 'interleaved']) await define(`export_${format}`, await filesOf('export', format), null);
  created.push(...(await createRlcsViews(conn, shardsDir, datasets)));
  // per-concept counts before and after balancing, from each dataset's current filter reduce artifact
  const conceptParts: string[] = [];
  for (const dataset of datasets) {
    const reduceDir = join(new DatasetLayout(shardsDir, dataset).stageDir('filter'), '_reduce');
    const current = join(reduceDir, 'current.json');
    if (!existsSync(current)) continue;
    const file = join(reduceDir, (JSON.parse(readFileSync(current, 'utf8')) as { dir: string }).dir, 'concepts.parquet');
    if (existsSync(file)) conceptParts.push(`SELECT ${sqlString(dataset)} AS dataset, * FROM read_parquet(${sqlString(file)})`);
  }
  if (conceptParts.length) {
    await conn.run(`CREATE OR REPLACE VIEW concept_counts AS ${conceptParts.join(' UNION ALL ')}`);
    created.push('concept_counts');
  }
  // image embeddings: one store per shards folder, shared by every dataset and run
  const embeddingFiles = await EmbeddingStore.allFiles(shardsDir);
  if (embeddingFiles.length) {
    await conn.run(`CREATE OR REPLACE VIEW embeddings AS ${embeddingsViewSql(embeddingFiles, await EmbeddingStore.dims(conn, embeddingFiles))}`);
    created.push('embeddings');
  }
  return created;
}
