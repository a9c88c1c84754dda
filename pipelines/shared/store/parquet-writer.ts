import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { columnsStruct, sqlString } from './duckdb.js';
import { StagedRows } from './staged-rows.js';

export interface ParquetTarget {
  columns: Record<string, string>;
  /** Folder the files go into (created). */
  dir: string;
  /** File name stem, e.g. `part-u1a2b3`; partitioned writes add `-{i}`. */
  stem: string;
  partitionBy?: readonly string[];
  /** Column types as staged in JSON when they differ from the Parquet type (e.g. base64 text for BLOB). */
  stagingTypes?: Record<string, string>;
  /** SQL expressions producing a column from its staged value. */
  selectOverrides?: Record<string, string>;
}

/**
 * The one shard writer: rows are staged as newline-delimited JSON, then DuckDB reads them with the
 * declared column types and writes ZSTD Parquet (hive-partitioned when asked). Returns the written
 * files relative to `dir`. Staging through JSON keeps nested types exact and lets DuckDB's native
 * reader and writer do the heavy lifting (bench: `pnpm bench`).
 */
export async function writeParquet(conn: DuckDBConnection, rows: Iterable<object>, target: ParquetTarget): Promise<string[]> {
  const staged = new StagedRows(join(target.dir, `.${target.stem}.staging.jsonl`));
  for (const row of rows) staged.add(row);
  return writeStagedParquet(conn, staged, target);
}

/** Writes rows already staged on disk (see StagedRows), then deletes the staging file. */
export async function writeStagedParquet(conn: DuckDBConnection, staged: StagedRows, target: ParquetTarget): Promise<string[]> {
  await mkdir(target.dir, { recursive: true });
  staged.flush();
  const staging = staged.path;
  const count = staged.count;
  try {
    const select = Object.keys(target.columns)
      .map((c) => (target.selectOverrides?.[c] ? `${target.selectOverrides[c]} AS "${c}"` : `"${c}"`))
      .join(', ');
    const source =
      count === 0
        ? `(SELECT ${Object.entries(target.columns)
                  .map(([c, t]) => `CAST(NULL AS ${target.stagingTypes?.[c] ?? t}) AS "${c}"`)
            .join(', ')} LIMIT 0)`
        : `read_json(${sqlString(staging)}, format = 'newline_delimited', columns = ${columnsStruct({ ...target.columns, ...target.stagingTypes })}, maximum_object_size = 1073741824)`;
    if (target.partitionBy?.length) {
      await conn.run(
        `COPY (SELECT ${select} FROM ${source}) TO ${sqlString(target.dir)} (FORMAT PARQUET, COMPRESSION ZSTD, ` +
          `PARTITION_BY (${target.partitionBy.map((c) => `"${c}"`).join(', ')}), WRITE_PARTITION_COLUMNS true, ` +
          `OVERWRITE_OR_IGNORE true, FILENAME_PATTERN ${sqlString(`${target.stem}-{i}`)})`,
      );
      return (await listFiles(target.dir)).filter((f) => f.endsWith('.parquet'));
    }
    const file = join(target.dir, `${target.stem}.parquet`);
    await conn.run(`COPY (SELECT ${select} FROM ${source}) TO ${sqlString(file)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    return [`${target.stem}.parquet`];
  } finally {
    await rm(staging, { force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}
