import type { DuckDBConnection } from '@duckdb/node-api';
import type { Sample } from '../../../schemas/sample.js';
import { sqlList } from './duckdb.js';

/** Rows `[start, end)` of the files read in file-name then row order (a stable order over immutable shards). */
export interface RowRange {
  start: number;
  end: number;
}

/** Reads samples from shard files back into canonical objects (JSON keeps the nested types exact). */
export async function readSamples(conn: DuckDBConnection, files: string[], range?: RowRange): Promise<Sample[]> {
  if (files.length === 0) return [];
  const source = range
    ? `(SELECT * EXCLUDE (tier, filename, file_row_number) FROM read_parquet(${sqlList(files)}, hive_partitioning = false, union_by_name = true, filename = true, file_row_number = true)
        QUALIFY row_number() OVER (ORDER BY filename, file_row_number) - 1 BETWEEN ${range.start} AND ${range.end - 1} ORDER BY filename, file_row_number)`
    : `(SELECT * EXCLUDE (tier) FROM read_parquet(${sqlList(files)}, hive_partitioning = false, union_by_name = true))`;
  const reader = await conn.runAndReadAll(`SELECT to_json(t)::VARCHAR FROM ${source} t`);
  // Shards written before schema version 3 have no `derived_from` column: such samples were never derived.
  return reader.getRows().map((row) => {
    const sample = JSON.parse(String(row[0])) as Sample;
    sample.derived_from ??= null;
    return sample;
  });
}
