import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { sha256File, sha256Hex } from '../../shared/hash.js';
import { duckdbApi, sqlString } from '../../shared/store/duckdb.js';
import { RecordError } from '../record-error.js';
import { JsonDepthScanner, MAX_JSON_DEPTH } from './json-depth.js';
import { jsonElements, NotSplittable, type JsonContainer, type JsonElement } from './json-split.js';
import { rejectFile } from '../source-files.js';
import type { FileMemo } from '../../shared/store/file-memo.js';

export type RecordFormat = 'jsonl' | 'json' | 'parquet' | 'csv';

/** One input record, or why it could not be read; `raw` keeps the input for the quarantine row. */
export type RawRecord =
  | { locator: string; ok: true; value: unknown; raw: string }
  | { locator: string; ok: false; reason: string; message: string; raw: string };

/** Where record `index` of a JSONL or JSON file starts: a unit reads from there instead of from the top of the file. */
export interface RecordSeek {
  index: number;
  /** Byte offset of the record's line (JSON: of the element, or of its key). */
  byte: number;
  /** 1-based line number of that line. */
  line: number;
  /** JSON: the record is an element of this top-level container; absent, the file is read whole (one record, or not JSON). */
  container?: JsonContainer;
}

export interface FileCount {
  records: number;
  /** sha256 of the file bytes. */
  fingerprint: string;
  /** JSONL and JSON: the start of records 0, every, 2·every, ... (the unit boundaries); empty for other formats. */
  seeks: RecordSeek[];
}

/** countRecords through the dataset's file memo: an unchanged file (size, mtime, inode) is not read again. */
export function countRecordsOnce(file: string, format: RecordFormat, ctx: { conn: DuckDBConnection; files: FileMemo }, every?: number): Promise<FileCount> {
  return ctx.files.get(file, `records:${format}:${every ?? 'all'}`, () => countRecords(file, format, ctx.conn, every));
}

/** Counts records (for unit planning) and hashes the file in one streaming pass where the format allows. */
export async function countRecords(file: string, format: RecordFormat, conn: DuckDBConnection, every = Number.MAX_SAFE_INTEGER): Promise<FileCount> {
  if (format === 'jsonl') {
    const hash = createHash('sha256');
    let records = 0;
    const seeks: RecordSeek[] = [];
    for await (const line of textLines(file, (chunk) => hash.update(chunk))) {
      if (line.blank) continue;
      if (records % every === 0) seeks.push({ index: records, byte: line.byte, line: line.lineNo });
      records++;
    }
    return { records, fingerprint: hash.digest('hex'), seeks };
  }
  if (format === 'json') return countJson(file, every);
  const fingerprint = await sha256File(file);
  if (format === 'csv') {
    const { good, rejected } = await withCsvRejects(conn, async (options) => {
      const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${tableFunction(file, format, options)}`);
      return Number(reader.getRows()[0]?.[0] ?? 0);
    });
    return { records: good + rejected.length, fingerprint, seeks: [] };
  }
  const reader = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${tableFunction(file, format)}`);
  return { records: Number(reader.getRows()[0]?.[0] ?? 0), fingerprint, seeks: [] };
}

/**
 * countRecords, or null after rejecting the file (`unreadable_records`: DuckDB cannot read the
 * Parquet or CSV, the file vanished, ...; `empty_file`: no records) so one bad file is a
 * quarantine row, not a failed plan or a file that silently contributes nothing.
 */
export async function countRecordsOrReject(file: string, format: RecordFormat, ctx: { conn: DuckDBConnection; files: FileMemo }, every?: number): Promise<FileCount | null> {
  try {
    const counted = await countRecordsOnce(file, format, ctx, every);
    if (counted.records > 0) return counted;
    await rejectFile(file, 'empty_file', `${file} holds no ${format} records`);
    return null;
  } catch (err) {
    const message = err instanceof RecordError ? err.message : `${file} cannot be read as ${format}: ${(err as Error).message.split('\n')[0]}`;
    await rejectFile(file, err instanceof RecordError ? err.reason : 'unreadable_records', message);
    return null;
  }
}

/** One line of a text file: its bytes decoded, where it is, and whether it is blank or was not valid UTF-8. */
interface TextLine {
  text: string;
  lineNo: number;
  /** Byte offset where the line starts. */
  byte: number;
  blank: boolean;
  /** Bytes that are not valid UTF-8 (each shown as U+FFFD in `text`). */
  invalidBytes: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/**
 * The lines of a file, ended by LF, CRLF or a lone CR (old Mac files), decoded as UTF-8. Blank
 * means ASCII white space only, the same rule for counting and reading, so both see the same records.
 */
async function* textLines(file: string, onChunk: (chunk: Buffer) => void = () => {}, start: { byte: number; line: number } = { byte: 0, line: 1 }): AsyncGenerator<TextLine> {
  let pending: Buffer[] = [];
  let lineNo = start.line - 1;
  let afterCr = false;
  let lineStart = start.byte;
  let chunkStart = start.byte;
  const emit = (): TextLine => {
    const bytes = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending = [];
    lineNo++;
    const line = decodeLine(lineNo === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes, lineNo, lineStart);
    return line;
  };
  for await (const chunk of createReadStream(file, { start: start.byte })) {
    const buf = chunk as Buffer;
    onChunk(buf);
    let from = 0;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i] as number;
      if (b === 0x0a && afterCr && i === from && pending.length === 0) {
        // the LF of a CRLF split across lines already ended: skip it
        afterCr = false;
        from = i + 1;
        lineStart = chunkStart + from;
        continue;
      }
      afterCr = false;
      if (b === 0x0a || b === 0x0d) {
        pending.push(buf.subarray(from, i));
        yield emit();
        if (b === 0x0d) {
          if (buf[i + 1] === 0x0a) i++;
          else afterCr = i + 1 === buf.length;
        }
        from = i + 1;
        lineStart = chunkStart + from;
      }
    }
    if (from < buf.length) pending.push(Buffer.from(buf.subarray(from)));
    chunkStart += buf.length;
  }
  if (pending.some((p) => p.length)) yield emit();
}

function decodeLine(bytes: Buffer, lineNo: number, byte: number): TextLine {
  let blank = true;
  for (const b of bytes) {
    if (b !== 0x20 && b !== 0x09 && b !== 0x0b && b !== 0x0c) {
      blank = false;
      break;
    }
  }
  try {
    return { text: strictUtf8.decode(bytes), lineNo, byte, blank, invalidBytes: 0 };
  } catch {
    const text = lenientUtf8.decode(bytes);
    return { text, lineNo, byte, blank, invalidBytes: [...text].filter((c) => c === '\uFFFD').length };
  }
}

/** Reads records [start, end) of a file (record = non-blank line for jsonl; for csv, rows DuckDB rejects come after the good ones). */
/**
 * Reads records [start, end) of a file (record = non-blank line for jsonl). With the `seek` that
 * planning recorded for `start`, a JSONL unit starts reading at that byte, so a unit near the end
 * of a large file costs what a unit at its start costs.
 */
export async function* readRecords(file: string, format: RecordFormat, start: number, end: number, conn: DuckDBConnection, seek?: RecordSeek): AsyncGenerator<RawRecord> {
  if (format === 'jsonl') {
    const from = seek && seek.index <= start ? seek : { index: 0, byte: 0, line: 1 };
    let index = from.index;
    for await (const line of textLines(file, undefined, from)) {
      if (line.blank) continue;
      if (index >= end) break;
      if (index++ < start) continue;
      if (line.invalidBytes) {
        yield { locator: `line:${line.lineNo}`, ok: false, reason: 'invalid_utf8', message: `line ${line.lineNo} is not valid UTF-8 (${line.invalidBytes} bad byte sequence(s)); convert the file to UTF-8 (e.g. iconv) and run again`, raw: line.text };
      } else yield parseJsonLine(line.text, `line:${line.lineNo}`);
    }
    return;
  }
  if (format === 'json') {
    // a unit has the seek planning made; a caller without one (decontamination) counts the file first
    const at = seek ?? (await countJson(file)).seeks[0];
    const container = at?.container;
    if (!container) {
      // one record (a single object or scalar), or a file that is not JSON: read whole, as only that can say why
      for (const record of jsonRecords(await readFile(file), file).slice(start, end)) yield record;
      return;
    }
    for await (const element of jsonElements(file, { from: { ...at, container } })) {
      if (element.index >= end) break;
      if (element.index >= start) yield jsonElementRecord(element, container);
    }
    return;
  }
  let rows: RawRecord[];
  try {
    rows = format === 'csv' ? await csvRows(file, start, end, conn) : await tableRows(`SELECT * FROM ${tableFunction(file, format)} LIMIT ${end - start} OFFSET ${start}`, start, conn);
  } catch (err) {
    // The file was countable but its data cannot be read (a damaged page or row group): every record of the slice says so.
    const message = `${file} records ${start}–${end} cannot be read as ${format}: ${(err as Error).message.split('\n')[0]}`;
    rows = Array.from({ length: end - start }, (_, i) => ({ locator: `row:${start + i}`, ok: false, reason: 'unreadable_records', message, raw: '' }));
  }
  yield* rows;
}

async function tableRows(sql: string, start: number, conn: DuckDBConnection): Promise<RawRecord[]> {
  const reader = await conn.runAndReadAll(sql);
  const names = reader.columnNames();
  const toPlain = plainValues(await duckdbApi());
  return reader.getRows().map((row, i) => ({ locator: `row:${start + i}`, ok: true as const, value: Object.fromEntries(names.map((n, j) => [n, toPlain(row[j] ?? null)])), raw: '' }));
}

/** CSV records [start, end): the rows DuckDB reads, then (numbered after them) the rows it rejects, each its own record. */
async function csvRows(file: string, start: number, end: number, conn: DuckDBConnection): Promise<RawRecord[]> {
  const { good, rejected } = await withCsvRejects(conn, async (options) => {
    const rows = await tableRows(`SELECT * FROM ${tableFunction(file, 'csv', options)} LIMIT ${end - start} OFFSET ${start}`, start, conn);
    const count = await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM ${tableFunction(file, 'csv', options)}`);
    return { rows, total: Number(count.getRows()[0]?.[0] ?? 0) };
  });
  const out = good.rows;
  for (let index = Math.max(start, good.total); index < end; index++) {
    const reject = rejected[index - good.total];
    if (!reject) break;
    out.push({ locator: `line:${reject.line}`, ok: false, reason: 'malformed_csv_row', message: `line ${reject.line}: ${reject.message}`, raw: reject.csvLine });
  }
  return out;
}

interface CsvReject {
  line: number;
  message: string;
  csvLine: string;
}

let rejectsSeq = 0;

/**
 * Runs `read` with read_csv options that store rejected rows (ragged, unquoted, undecodable) in
 * tables of their own instead of failing the file or letting one short row turn the whole file
 * into a single column; returns what `read` returned and the rejected rows, one per line, in file order.
 */
async function withCsvRejects<T>(conn: DuckDBConnection, read: (options: string) => Promise<T>): Promise<{ good: T; rejected: CsvReject[] }> {
  const id = `${process.pid}_${++rejectsSeq}`;
  const options = `store_rejects = true, rejects_table = 'stratum_csv_rejects_${id}', rejects_scan = 'stratum_csv_scans_${id}'`;
  try {
    const good = await read(options);
    const reader = await conn.runAndReadAll(
      `SELECT line::BIGINT, string_agg(error_type || ': ' || error_message, '; '), any_value(csv_line) FROM stratum_csv_rejects_${id} GROUP BY line ORDER BY line`,
    );
    const rejected = reader.getRows().map(([line, message, csvLine]) => ({ line: Number(line), message: String(message), csvLine: String(csvLine ?? '') }));
    return { good, rejected };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS stratum_csv_rejects_${id}; DROP TABLE IF EXISTS stratum_csv_scans_${id}`).catch(() => {});
  }
}

function parseJsonLine(line: string, locator: string): RawRecord {
  if (new JsonDepthScanner().feed(line).exceeded) return tooDeep(locator, line);
  try {
    return { locator, ok: true, value: JSON.parse(line), raw: line };
  } catch (err) {
    return { locator, ok: false, reason: 'malformed_json', message: (err as Error).message, raw: line };
  }
}

function tooDeep(locator: string, raw: string): RawRecord {
  return { locator, ok: false, reason: 'json_too_deep', message: `the JSON nests more than ${MAX_JSON_DEPTH} levels deep; no real record does, so it was not parsed`, raw };
}

/**
 * Counts a JSON file's records and hashes it in one streaming pass, with a seek at every `every`-th
 * record, so neither planning nor a unit ever holds the whole file: its records are the elements of a
 * top-level array or the members of an object whose values are all objects (records keyed by id).
 * Every element is decoded and parsed here once, so a file counted as many records is valid JSON
 * throughout. Anything else (one object, a scalar, a duplicate key, bytes that are not UTF-8 or not
 * JSON, nesting past the limit) is read whole by `jsonRecords`: one record, or the quarantine row
 * that says why (duplicate keys: the records JSON.parse gives, the last value of a key winning).
 */
async function countJson(file: string, every = Number.MAX_SAFE_INTEGER): Promise<FileCount> {
  const hash = createHash('sha256');
  const top: { container?: JsonContainer } = {};
  let records = 0;
  let allObjects = true;
  const seeks: RecordSeek[] = [];
  const keys = new Set<string>();
  let splittable = true;
  try {
    for await (const element of jsonElements(file, { onChunk: (chunk) => hash.update(chunk), onContainer: (c) => (top.container = c) })) {
      JSON.parse(strictUtf8.decode(element.value));
      if (element.key) {
        const key = JSON.parse(strictUtf8.decode(element.key)) as string;
        if (keys.has(key)) throw new NotSplittable(`duplicate key ${JSON.stringify(key).slice(0, 80)}`);
        keys.add(key);
        if (element.value[0] !== 0x7b) allObjects = false;
      }
      if (records % every === 0) seeks.push({ index: records, byte: element.byte, line: element.line, container: top.container });
      records++;
    }
  } catch (err) {
    if (!(err instanceof NotSplittable || err instanceof SyntaxError || err instanceof TypeError)) throw err; // TypeError: bytes that are not UTF-8
    splittable = false;
  }
  const many = splittable && (top.container === 'array' || (records > 0 && allObjects));
  if (many) return { records, fingerprint: hash.digest('hex'), seeks };
  const bytes = await readFile(file);
  return { records: jsonRecords(bytes, file).length, fingerprint: sha256Hex(bytes), seeks: [{ index: 0, byte: 0, line: 1 }] };
}

/** A record from an element checked when the file was counted (`malformed_json` should the file have changed since). */
function jsonElementRecord(element: JsonElement, container: JsonContainer): RawRecord {
  let locator = `index:${element.index}`;
  try {
    if (container === 'object') locator = `key:${JSON.parse(strictUtf8.decode(element.key as Buffer)) as string}`;
    return { locator, ok: true, value: JSON.parse(strictUtf8.decode(element.value)), raw: '' };
  } catch (err) {
    return { locator, ok: false, reason: 'malformed_json', message: `the file changed since it was counted: ${(err as Error).message}`, raw: lenientUtf8.decode(element.value) };
  }
}

/** A JSON file holds a list of records, an object of records keyed by id, or a single record. */
function jsonRecords(bytes: Buffer, file: string): RawRecord[] {
  const { text, invalidBytes } = decodeLine(bytes, 1, 0);
  if (new JsonDepthScanner().feed(bytes).exceeded) return [tooDeep('file', text)];
  if (invalidBytes) return [{ locator: 'file', ok: false, reason: 'invalid_utf8', message: `${file} is not valid UTF-8 (${invalidBytes} bad byte sequence(s)); convert it to UTF-8 (e.g. iconv) and run again`, raw: text }];
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

function tableFunction(file: string, format: 'parquet' | 'csv', csvOptions = ''): string {
  return format === 'parquet' ? `read_parquet(${sqlString(file)})` : `read_csv(${sqlString(file)}, header = true${csvOptions ? `, ${csvOptions}` : ''})`;
}

/** DuckDB values → plain JS; blobs become Uint8Array so images stored as bytes survive. */
function plainValues(duck: typeof import('@duckdb/node-api')): (value: DuckDBValue) => unknown {
  const toPlain = (value: DuckDBValue): unknown => {
    if (value === null) return null;
    if (value instanceof duck.DuckDBBlobValue) return value.bytes;
    if (value instanceof duck.DuckDBListValue) return value.items.map(toPlain);
    if (value instanceof duck.DuckDBStructValue) return Object.fromEntries(Object.entries(value.entries).map(([k, v]) => [k, toPlain(v)]));
    if (value instanceof duck.DuckDBMapValue) return Object.fromEntries(value.entries.map((e) => [String(toPlain(e.key)), toPlain(e.value)]));
    if (typeof value === 'bigint') return Number(value);
    if (typeof value === 'object') return String(value);
    return value;
  };
  return toPlain;
}
