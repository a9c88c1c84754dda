import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../shared/hash.js';
import { sqlList } from '../shared/store/duckdb.js';
import { writeParquet } from '../shared/store/parquet-writer.js';

/**
 * The embedding store: `<shardsDir>/_embeddings/<model id>/part-<hash>.parquet`, one file per batch
 * of newly embedded media, each renamed into place whole. A media id is embedded once per model and
 * reused by every later run and every dataset (a config change that re-maps the filter does not
 * re-embed); a killed run keeps the files it finished. Two units embedding the same new image at
 * once may both store it: readers take one row per (media_id, model).
 */
export class EmbeddingStore {
  readonly dir: string;

  constructor(
    shardsDir: string,
    readonly model: string,
    readonly dim: number | null = null,
  ) {
    this.dir = EmbeddingStore.modelDir(shardsDir, model);
  }

  static root(shardsDir: string): string {
    return join(shardsDir, '_embeddings');
  }

  static modelDir(shardsDir: string, model: string): string {
    return join(EmbeddingStore.root(shardsDir), model.replaceAll(/[^A-Za-z0-9._@-]/g, '_'));
  }

  /** Every committed part file of every model (for the `embeddings` view). */
  static async allFiles(shardsDir: string): Promise<string[]> {
    const root = EmbeddingStore.root(shardsDir);
    if (!existsSync(root)) return [];
    const files: string[] = [];
    for (const model of await readdir(root)) {
      const dir = join(root, model);
      for (const f of await readdir(dir).catch(() => [] as string[])) if (/^part-[0-9a-f]+\.parquet$/.test(f)) files.push(join(dir, f));
    }
    return files.sort();
  }

  /** Vector width per model folder (from one file each), for typing the view. */
  static async dims(conn: DuckDBConnection, files: string[]): Promise<Map<string, number>> {
    const dims = new Map<string, number>();
    for (const f of files) {
      const dir = f.slice(0, f.lastIndexOf('/'));
      if (dims.has(dir)) continue;
      dims.set(dir, Number((await conn.runAndReadAll(`SELECT len(vector) FROM read_parquet(${sqlList([f])}) LIMIT 1`)).getRows()[0]?.[0] ?? 0));
    }
    return dims;
  }

  async files(): Promise<string[]> {
    if (!existsSync(this.dir)) return [];
    return (await readdir(this.dir)).filter((f) => /^part-[0-9a-f]+\.parquet$/.test(f)).sort().map((f) => join(this.dir, f));
  }

  /** The stored NSFW score (null when the model has none) of each of `ids` already embedded. */
  async lookup(conn: DuckDBConnection, ids: string[]): Promise<Map<string, number | null>> {
    const files = await this.files();
    const found = new Map<string, number | null>();
    if (!files.length || !ids.length) return found;
    const reader = await conn.runAndReadAll(
      `SELECT media_id, any_value(nsfw) FROM read_parquet(${sqlList(files)}) WHERE media_id IN (SELECT unnest(${sqlList(ids)})) GROUP BY media_id`,
    );
    for (const [id, nsfw] of reader.getRows()) found.set(String(id), nsfw === null ? null : Number(nsfw));
    return found;
  }

  /** Stored vectors of `ids` (those embedded), as Float32Arrays. */
  async vectors(conn: DuckDBConnection, ids: string[]): Promise<Map<string, Float32Array>> {
    const files = await this.files();
    const found = new Map<string, Float32Array>();
    if (!files.length || !ids.length) return found;
    const reader = await conn.runAndReadAll(
      `SELECT media_id, any_value(vector) FROM read_parquet(${sqlList(files)}) WHERE media_id IN (SELECT unnest(${sqlList(ids)})) GROUP BY media_id`,
    );
    for (const [id, v] of reader.getRows()) found.set(String(id), Float32Array.from((v as { items: number[] }).items.map(Number)));
    return found;
  }

  /** Removes batches a killed writer left under `_tmp/` (older than an hour, so a live writer's file is never touched). */
  async sweep(now = Date.now()): Promise<number> {
    const tmp = join(this.dir, '_tmp');
    if (!existsSync(tmp)) return 0;
    let removed = 0;
    for (const f of await readdir(tmp)) {
      const info = await stat(join(tmp, f)).catch(() => null);
      if (info && now - info.mtimeMs > 3_600_000) {
        await rm(join(tmp, f), { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Stores one batch atomically (written under `_tmp/`, then renamed). */
  async put(conn: DuckDBConnection, rows: Array<{ media_id: string; vector: Float32Array; nsfw: number | null }>): Promise<void> {
    if (!rows.length) return;
    const dim = rows[0]?.vector.length ?? 0;
    const stem = `part-${sha256Hex(rows.map((r) => r.media_id).join(',')).slice(0, 16)}${process.pid.toString(16)}${Date.now().toString(16)}`;
    const tmp = join(this.dir, '_tmp');
    await mkdir(tmp, { recursive: true });
    const columns = { media_id: 'VARCHAR', model: 'VARCHAR', vector: `FLOAT[${dim}]`, nsfw: 'FLOAT' };
    await writeParquet(
      conn,
      rows.map((r) => ({ media_id: r.media_id, model: this.model, vector: Array.from(r.vector), nsfw: r.nsfw })),
      { columns, dir: tmp, stem },
    );
    await rename(join(tmp, `${stem}.parquet`), join(this.dir, `${stem}.parquet`));
  }
}

/**
 * SQL for the `embeddings` view: one row per (media_id, model) with `vector FLOAT[d]`; when models of
 * different widths are stored, `vector` is a FLOAT[] list so they fit one view.
 */
export function embeddingsViewSql(files: string[], dimsByDir: Map<string, number>): string {
  const byModel = new Map<string, string[]>();
  for (const f of files) {
    const dir = f.slice(0, f.lastIndexOf('/'));
    byModel.set(dir, [...(byModel.get(dir) ?? []), f]);
  }
  const dims = new Set([...dimsByDir.values()]);
  return [...byModel.entries()]
    .map(([dir, fs]) => {
      const type = dims.size > 1 ? 'FLOAT[]' : `FLOAT[${dimsByDir.get(dir)}]`;
      return `SELECT media_id, model, any_value(vector)::${type} AS vector, any_value(nsfw) AS nsfw FROM read_parquet(${sqlList(fs)}) GROUP BY media_id, model`;
    })
    .join(' UNION ALL ');
}
