import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { DuckDBBlobValue, DuckDBListValue, DuckDBStructValue, DuckDBMapValue } from '@duckdb/node-api';
import { sha256File } from '../../shared/hash.js';
import { sqlString } from '../../shared/store/duckdb.js';
import type { FileMemo } from '../../shared/store/file-memo.js';

export type RecordFormat = 'jsonl' | 'json' | 'parquet' | 'csv';

/** One input record, or why it could not be read; `raw` keeps the input for the quarantine row. */
export type RawRecord =
  | { locator: string; ok: true; value: unknown; raw: string }
  | { locator: string; ok: false; reason: string; message: string; raw: string };

export interface FileCount {
  records: number;
  /** sha256 of the file bytes. */
  fingerprint: string;
}

/** `countRecords`, remembered in the dataset's file memo: an unchanged file is not read again at plan time. */
export function countRecordsOnce(file: string, format: RecordFormat, ctx: { conn: DuckDBConnection; files: FileMemo }): Promise<FileCount> {
  return ctx.files.get(file, `records:${format}`, () => countRecords(file, format, ctx.conn));
}

/** Counts records (for unit planning) and hashes the file in one streaming pass where the format allows. */
export async function countRecords(file: string, format: RecordFormat, conn: DuckDBConnection): Promise<FileCount> {
  if (format === 'jsonl') {
    const hash = createHash('sha256');
    let records = 0;
    let lineHasContent = false;
    for await (const chunk of createReadStream(file)) {
      const buf = chunk as Buffer;
      hash.update(buf);
      for (let i = 0; i < buf.length; i++) {
        const b = buf[i] as number;
        if (b === 0x0a) {
          if (lineHasContent) records++;
          lineHasContent = false;
        } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d) lineHasContent = true;
      }
    }
    if (lineHasContent) records++;
    return { records, fingerprint: hash.digest('hex') };
  }
  const fingerprint = await sha256File(file);
  if (format === 'json') return { records: jsonRecords(await readFile(file, 'utf8'), file).length, fingerprint };
  const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${tableFunction(file, format)}`);
  return { records: Number(reader.getRows()[0]?.[0] ?? 0), fingerprint };
}

/** Reads records [start, end) of a file (record = non-blank line for jsonl). */
export async function* readRecords(file: string, format: RecordFormat, start: number, end: number, conn: DuckDBConnection): AsyncGenerator<RawRecord> {
  if (format === 'jsonl') {
    let index = 0;
    let lineNo = 0;
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      if (index >= end) break;
      if (index++ < start) continue;
      yield parseJsonLine(line, `line:${lineNo}`);
    }
    lines.close();
    return;
  }
  if (format === 'json') {
    for (const record of jsonRecords(await readFile(file, 'utf8'), file).slice(start, end)) yield record;
    return;
  }
  const reader = await conn.runAndReadAll(`SELECT * FROM ${tableFunction(file, format)} LIMIT ${end - start} OFFSET ${start}`);
  const names = reader.columnNames();
  let index = start;
  for (const row of reader.getRows()) {
    const value = Object.fromEntries(names.map((n, i) => [n, toPlain(row[i] ?? null)]));
    yield { locator: `row:${index++}`, ok: true, value, raw: '' };
  }
}

function parseJsonLine(line: string, locator: string): RawRecord {
  try {
    return { locator, ok: true, value: JSON.parse(line), raw: line };
  } catch (err) {
    return { locator, ok: false, reason: 'malformed_json', message: (err as Error).message, raw: line };
  }
}

/** A JSON file holds a list of records, an object of records keyed by id, or a single record. */
function jsonRecords(text: string, file: string): RawRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return [{ locator: 'file', ok: false, reason: 'malformed_json', message: `${file}: ${(err as Error).message}`, raw: text }];
  }
  if (Array.isArray(parsed)) return parsed.map((value, i) => ({ locator: `index:${i}`, ok: true, value, raw: '' }));
  if (parsed && typeof parsed === 'object') {
    const values = Object.values(parsed);
    if (values.length > 0 && values.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
      return Object.entries(parsed).map(([key, value]) => ({ locator: `key:${key}`, ok: true, value, raw: '' }));
    }
  }
  return [{ locator: 'file', ok: true, value: parsed, raw: '' }];
}

function tableFunction(file: string, format: 'parquet' | 'csv'): string {
  return format === 'parquet' ? `read_parquet(${sqlString(file)})` : `read_csv(${sqlString(file)}, header = true)`;
}

/** DuckDB values → plain JS; blobs become Uint8Array so images stored as bytes survive. */
function toPlain(value: DuckDBValue): unknown {
  if (value === null) return null;
  if (value instanceof DuckDBBlobValue) return value.bytes;
  if (value instanceof DuckDBListValue) return value.items.map(toPlain);
  if (value instanceof DuckDBStructValue) return Object.fromEntries(Object.entries(value.entries).map(([k, v]) => [k, toPlain(v)]));
  if (value instanceof DuckDBMapValue) return Object.fromEntries(value.entries.map((e) => [String(toPlain(e.key)), toPlain(e.value)]));
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object') return String(value);
  return value;
}
