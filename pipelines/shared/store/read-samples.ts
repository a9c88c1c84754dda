import type { DuckDBConnection } from '@duckdb/node-api';
import type { Sample } from '../../../schemas/sample.js';
import { sqlList } from './duckdb.js';

/** Reads samples from shard files back into canonical objects (JSON keeps the nested types exact). */
export async function readSamples(conn: DuckDBConnection, files: string[]): Promise<Sample[]> {
  if (files.length === 0) return [];
  const reader = await conn.runAndReadAll(
    `SELECT to_json(t)::VARCHAR FROM (SELECT * EXCLUDE (tier) FROM read_parquet(${sqlList(files)}, hive_partitioning = false)) t`,
  );
  return reader.getRows().map((row) => JSON.parse(String(row[0])) as Sample);
}
