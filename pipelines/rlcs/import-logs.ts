/**
 * `rlcs import`: reads trainer rollout logs incrementally into the pass-rate history.
 *
 * Per log file the committed imports record the byte offset read up to and a hash of the file's head;
 * a rerun reads only what was appended since. A file that shrank or whose head changed was rewritten
 * (verl rewrites `<step>.jsonl` when a resumed run repeats a step) and is read again from the start.
 * A last line without its newline is left for the next run unless it is a complete JSON object.
 * Lines stream through a fixed buffer into a staging file; DuckDB aggregates and matches them, so
 * memory does not grow with the log.
 */
import { createReadStream, existsSync } from 'node:fs';
import { open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../shared/errors.js';
import { sha256Hex } from '../shared/hash.js';
import { acquireLock } from '../shared/runner/lock.js';
import { sqlList, sqlString } from '../shared/store/duckdb.js';
import { writeStagedParquet } from '../shared/store/parquet-writer.js';
import { StagedRows } from '../shared/store/staged-rows.js';
import type { RlcsConfig } from './config.js';
import type { TierThresholds } from '../difficulty/tiers.js';
import { parseLogLine, stepFromFileName, type MalformedReason } from './log-line.js';
import { loadUniverse, type RlcsPaths } from './store.js';
import { rebuildState, type StateSummary } from './state.js';

const HEAD_BYTES = 4096;

export const HISTORY_COLUMNS = {
  sample_id: 'VARCHAR',
  step: 'BIGINT',
  k: 'INTEGER',
  n: 'INTEGER',
  lines: 'INTEGER',
  log_file: 'VARCHAR',
  import_id: 'VARCHAR',
} as const;

export const FILES_COLUMNS = {
  log_file: 'VARCHAR',
  import_id: 'VARCHAR',
  imported_at: 'TIMESTAMP',
  start_offset: 'BIGINT',
  end_offset: 'BIGINT',
  head_len: 'INTEGER',
  head_hash: 'VARCHAR',
  rewritten: 'BOOLEAN',
  lines: 'BIGINT',
  matched: 'BIGINT',
  unknown: 'BIGINT',
  malformed: 'BIGINT',
  malformed_reasons: 'VARCHAR',
} as const;

export interface FileReport {
  log_file: string;
  start_offset: number;
  end_offset: number;
  rewritten: boolean;
  /** Non-blank lines read this time: lines = matched + unknown + malformed. */
  lines: number;
  matched: number;
  unknown: number;
  malformed: number;
  malformed_reasons: Partial<Record<MalformedReason, number>>;
}

export interface ImportReport {
  import_id: string | null;
  universe: number;
  files: FileReport[];
  totals: { lines: number; matched: number; unknown: number; malformed: number; observations: number };
  state: StateSummary;
}

interface PriorRead {
  end_offset: number;
  head_len: number;
  head_hash: string;
}

/** Log files under the given paths: files as given, folders searched for *.jsonl, ordered by step then name. */
export async function expandLogPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new UserError(`log path not found: ${abs}`);
    const s = await stat(abs);
    if (s.isFile()) out.push(await realpath(abs));
    else {
      const entries = await readdir(abs, { recursive: true, withFileTypes: true });
      const files = entries.filter((e) => e.isFile() && /\.jsonl?$/i.test(e.name)).map((e) => join(e.parentPath, e.name));
      files.sort((a, b) => (stepFromFileName(a) ?? Infinity) - (stepFromFileName(b) ?? Infinity) || a.localeCompare(b));
      for (const f of files) out.push(await realpath(f));
    }
  }
  return [...new Set(out)];
}

async function priorReads(conn: DuckDBConnection, paths: RlcsPaths): Promise<Map<string, PriorRead>> {
  const files = paths.importFiles('files');
  const map = new Map<string, PriorRead>();
  if (!files.length) return map;
  const r = await conn.runAndReadAll(
    `SELECT log_file, arg_max(end_offset, import_id), arg_max(head_len, import_id), arg_max(head_hash, import_id)
     FROM read_parquet(${sqlList(files)}) GROUP BY log_file`,
  );
  for (const [file, end, len, hash] of r.getRows()) map.set(String(file), { end_offset: Number(end), head_len: Number(len), head_hash: String(hash) });
  return map;
}

async function headHash(file: string, len: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(len);
    const { bytesRead } = await handle.read(buf, 0, len, 0);
    return sha256Hex(buf.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Streams complete lines of `file` from byte `start`; returns the offset after the last consumed line. */
async function readLines(file: string, start: number, onLine: (line: string) => void): Promise<number> {
  let offset = start;
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { start, highWaterMark: 1 << 20 })) {
    let buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let from = 0;
    for (let nl = buf.indexOf(10, from); nl !== -1; nl = buf.indexOf(10, from)) {
      onLine(buf.toString('utf8', from, nl));
      offset += nl + 1 - from;
      from = nl + 1;
    }
    rest = Buffer.from(buf.subarray(from));
    buf = rest;
  }
  if (rest.length) {
    // a writer may be mid-line: take the tail only when it is a whole JSON object
    const text = rest.toString('utf8');
    let complete = false;
    try {
      const v: unknown = JSON.parse(text);
      complete = !!v && typeof v === 'object';
    } catch {
      complete = false;
    }
    if (complete) {
      onLine(text);
      offset += rest.length;
    }
  }
  return offset;
}

export async function importLogs(
  conn: DuckDBConnection,
  paths: RlcsPaths,
  logPaths: readonly string[],
  config: RlcsConfig,
  thresholds: TierThresholds,
): Promise<ImportReport> {
  const release = await acquireLock(paths.lock, `rlcs import/sample for ${paths.layout.dataset}`);
  try {
    // what a killed import or sample left half-written; under the lock nothing else is writing there
    await rm(paths.tmp, { recursive: true, force: true });
    return await importLocked(conn, paths, await expandLogPaths(logPaths), config, thresholds);
  } finally {
    await release();
  }
}

async function importLocked(conn: DuckDBConnection, paths: RlcsPaths, files: string[], config: RlcsConfig, thresholds: TierThresholds): Promise<ImportReport> {
  const universe = await loadUniverse(conn, paths.layout);
  // lines are consumed once: importing before any sample is rated would mark every line unknown for good
  if (universe === 0) throw new UserError(`dataset ${paths.layout.dataset}: no rated samples with a task to match logs against; run \`pnpm pipeline run difficulty\` first`);
  const prior = await priorReads(conn, paths);
  // sortable: the sequence number orders imports (the lock makes it safe), the rest is for people
  const importId = `${String(paths.importFiles('files').length + 1).padStart(8, '0')}-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
  const tmpDir = join(paths.tmp, importId);
  const staged = new StagedRows(join(tmpDir, '.observations.jsonl'));
  const reports: FileReport[] = [];
  const heads: { head_len: number; head_hash: string }[] = [];
  for (const [fileNo, file] of files.entries()) {
    const size = (await stat(file)).size;
    const before = prior.get(file);
    let start = 0;
    let rewritten = false;
    if (before) {
      const same = size >= before.end_offset && (await headHash(file, before.head_len)) === before.head_hash;
      if (same) start = before.end_offset;
      else rewritten = true;
    }
    const report: FileReport = { log_file: file, start_offset: start, end_offset: start, rewritten, lines: 0, matched: 0, unknown: 0, malformed: 0, malformed_reasons: {} };
    const fileStep = stepFromFileName(file);
    if (size > start) {
      report.end_offset = await readLines(file, start, (line) => {
        if (line.trim() === '') return;
        report.lines++;
        const parsed = parseLogLine(line, { fileStep, correctThreshold: config.correctThreshold });
        if (!parsed.ok) {
          report.malformed++;
          report.malformed_reasons[parsed.reason] = (report.malformed_reasons[parsed.reason] ?? 0) + 1;
          return;
        }
        staged.add({ file: fileNo, ...parsed.obs });
      });
    }
    const headLen = Math.min(HEAD_BYTES, report.end_offset);
    heads.push({ head_len: headLen, head_hash: await headHash(file, headLen) });
    reports.push(report);
  }
  const totalLines = reports.reduce((s, r) => s + r.lines, 0);
  if (totalLines === 0 && reports.every((r) => !r.rewritten && r.end_offset === r.start_offset)) {
    await rm(tmpDir, { recursive: true, force: true });
    return { import_id: null, universe, files: reports, totals: { lines: 0, matched: 0, unknown: 0, malformed: 0, observations: 0 }, state: await rebuildState(conn, paths, config, thresholds) };
  }

  // Match observations to samples by id, else by extra_info.index, in DuckDB.
  staged.flush();
  const obsSource = staged.count
    ? `read_json(${sqlString(staged.path)}, format = 'newline_delimited', columns = {file: 'INTEGER', id: 'VARCHAR', "index": 'BIGINT', step: 'BIGINT', k: 'INTEGER', n: 'INTEGER'})`
    : `(SELECT NULL::INTEGER AS file, NULL::VARCHAR AS id, NULL::BIGINT AS "index", NULL::BIGINT AS step, NULL::INTEGER AS k, NULL::INTEGER AS n LIMIT 0)`;
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE rlcs_obs AS
     SELECT o.file, o.step, o.k, o.n, coalesce(a.id, b.id) AS sample_id
     FROM ${obsSource} o
     LEFT JOIN rlcs_universe a ON a.id = o.id
     LEFT JOIN (SELECT idx, min(id) AS id FROM rlcs_universe GROUP BY idx) b ON b.idx = o."index"`,
  );
  const counts = await conn.runAndReadAll(
    `SELECT file, count(*) FILTER (WHERE sample_id IS NOT NULL)::BIGINT, count(*) FILTER (WHERE sample_id IS NULL)::BIGINT FROM rlcs_obs GROUP BY file`,
  );
  for (const [file, matched, unknown] of counts.getRows()) {
    const r = reports[Number(file)]!;
    r.matched = Number(matched);
    r.unknown = Number(unknown);
  }
  await conn.run(
    `COPY (SELECT sample_id, step, sum(k)::INTEGER AS k, sum(n)::INTEGER AS n, count(*)::INTEGER AS lines,
                  (${sqlList(files)})[file + 1] AS log_file, ${sqlString(importId)} AS import_id
           FROM rlcs_obs WHERE sample_id IS NOT NULL GROUP BY sample_id, step, file ORDER BY sample_id, step)
     TO ${sqlString(join(tmpDir, 'history.parquet'))} (FORMAT PARQUET, COMPRESSION ZSTD)`,
  );
  await rm(staged.path, { force: true });
  const observations = Number((await conn.runAndReadAll(`SELECT count(*) FROM (SELECT DISTINCT sample_id, step FROM rlcs_obs WHERE sample_id IS NOT NULL)`)).getRows()[0]![0]);
  await conn.run(`DROP TABLE rlcs_obs`);

  const importedAt = new Date().toISOString();
  const fileRows = new StagedRows(join(tmpDir, '.files.jsonl'));
  for (const [i, r] of reports.entries()) {
    fileRows.add({ ...r, ...heads[i], import_id: importId, imported_at: importedAt, malformed_reasons: JSON.stringify(r.malformed_reasons) });
  }
  await writeStagedParquet(conn, fileRows, { columns: FILES_COLUMNS, dir: tmpDir, stem: 'files' });
  await rename(tmpDir, join(paths.imports, importId)).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(paths.imports, { recursive: true });
    await rename(tmpDir, join(paths.imports, importId));
  });
  const totals = {
    lines: totalLines,
    matched: reports.reduce((s, r) => s + r.matched, 0),
    unknown: reports.reduce((s, r) => s + r.unknown, 0),
    malformed: reports.reduce((s, r) => s + r.malformed, 0),
    observations,
  };
  return { import_id: importId, universe, files: reports, totals, state: await rebuildState(conn, paths, config, thresholds, importId) };
}
