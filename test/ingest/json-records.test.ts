import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonDepthScanner } from '../../pipelines/ingest/readers/json-depth.js';
import { countRecords, readRecords, type RawRecord } from '../../pipelines/ingest/readers/records.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';

/**
 * JSON record files are read as a stream, a unit from its own byte offset. Over generated files
 * (arrays, objects of records, single records, scalars, empty containers, duplicate keys, strings
 * full of brackets, quotes, escapes and non-ASCII, any white space, a BOM; and broken copies of
 * them), the records that the units of every size read, put together, are exactly those of parsing
 * the whole file: records are the elements of an array or the members of an object whose values are
 * all objects; anything else is the whole file as one record, or one quarantine row saying why.
 */
type Expected = { locator: string; ok: true; value: unknown } | { locator: string; ok: false; reason: string };

function expectedRecords(bytes: Buffer): Expected[] {
  if (new JsonDepthScanner().feed(bytes).exceeded) return [{ locator: 'file', ok: false, reason: 'json_too_deep' }];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return [{ locator: 'file', ok: false, reason: 'invalid_utf8' }];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [{ locator: 'file', ok: false, reason: 'malformed_json' }];
  }
  if (Array.isArray(parsed)) return parsed.map((value, i) => ({ locator: `index:${i}`, ok: true, value }));
  if (parsed && typeof parsed === 'object') {
    const entries = Object.entries(parsed);
    if (entries.length > 0 && entries.every(([, v]) => v && typeof v === 'object' && !Array.isArray(v))) {
      return entries.map(([key, value]) => ({ locator: `key:${key}`, ok: true, value }));
    }
  }
  return [{ locator: 'file', ok: true, value: parsed }];
}

const TRICKY = ['"', '\\', ']', '}', ',', '[', '{', ':', 'é', '日本', '😀', '\n', '\t', ' ', 'a', '\\"', '\u2028', '\u0000'];

function generator(seed: number) {
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const str = () => Array.from({ length: int(6) }, () => pick(TRICKY)).join('');
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.35) return pick([() => str(), () => int(1000) - 500, () => random() * 1e6, () => null, () => true, () => false])();
    if (r < 0.55) return Array.from({ length: int(4) }, () => value(depth + 1));
    return record(depth + 1);
  };
  const record = (depth = 0): Record<string, unknown> => Object.fromEntries(Array.from({ length: int(5) }, () => [str() || 'k', value(depth)]));
  const layout = (text: string) => {
    // white space anywhere JSON allows it: between tokens, never inside strings
    let out = '';
    let inString = false;
    let escaped = false;
    for (const ch of text) {
      out += ch;
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      if (!inString && '[]{},:"'.includes(ch) && random() < 0.15) out += pick([' ', '\n', '\r\n', '\t', '  ']);
    }
    return (random() < 0.3 ? pick([' ', '\n', '\r\n']) : '') + out + (random() < 0.3 ? '\n' : '');
  };
  let duplicateKeys = false;
  const document = (): string => {
    const kind = int(10);
    if (kind < 4) return layout(JSON.stringify(Array.from({ length: int(12) }, () => (random() < 0.7 ? record() : value(1)))));
    if (kind < 7) {
      const members: Array<readonly [string, unknown]> = Array.from({ length: int(10) + 1 }, (_, i) => [`${str()}#${i}`, record()] as const);
      if (random() < 0.3) members.push([`odd${str()}`, value(1)]);
      if (random() < 0.15) {
        members.push([members[0]![0], record()]); // a duplicate key (JSON.parse keeps the last value)
        duplicateKeys = true;
      }
      return layout(`{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
    }
    if (kind < 8) return layout(JSON.stringify(record()));
    if (kind < 9) return layout(pick(['[]', '{}', '42', '"text"', 'null', 'true']));
    return layout(JSON.stringify([record(), '['.repeat(600) + ']'.repeat(600)].map((x, i) => (i ? JSON.parse(x as string) : x))));
  };
  const broken = (text: string): Buffer => {
    const bytes = Buffer.from(text);
    switch (int(5)) {
      case 0:
        return bytes.subarray(0, int(bytes.length));
      case 1: {
        const at = int(bytes.length + 1);
        return Buffer.concat([bytes.subarray(0, at), Buffer.from(pick([',', ']', '}', '"', ':', '{', 'x'])), bytes.subarray(at)]);
      }
      case 2:
        return Buffer.from(text.replace(/\](\s*)$/, ',]$1').replace(/\}(\s*)$/, ',}$1'));
      case 3:
        return Buffer.concat([bytes, Buffer.from(pick([' x', '[]', ',', '{}']))]);
      default: {
        const at = int(bytes.length + 1);
        return Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at)]);
      }
    }
  };
  return { document, broken, int, random, hasDuplicateKeys: () => duplicateKeys };
}

describe('JSON record files read as a stream', () => {
  let dir: string;
  let conn: DuckDBConnection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratum-json-records-'));
    conn = await connect();
  });
  afterAll(() => {
    conn?.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  async function readAllUnits(file: string, unitRows: number): Promise<{ records: RawRecord[]; streamed: boolean }> {
    const { records, seeks } = await countRecords(file, 'json', conn, unitRows);
    const out: RawRecord[] = [];
    for (let start = 0; start < Math.max(records, 1); start += unitRows) {
      for await (const r of readRecords(file, 'json', start, Math.min(records, start + unitRows), conn, seeks[start / unitRows])) out.push(r);
    }
    return { records: out, streamed: seeks.some((s) => s.container !== undefined) };
  }
  const comparable = (records: RawRecord[]): Expected[] => records.map((r) => (r.ok ? { locator: r.locator, ok: true, value: r.value } : { locator: r.locator, ok: false, reason: r.reason }));

  it('units of any size read exactly the records of parsing the whole file, valid or broken', async () => {
    const seen = { many: 0, whole: 0, broken: 0 };
    for (let seed = 1; seed <= 400; seed++) {
      const g = generator(seed);
      const text = g.document();
      const bytes = seed % 3 === 0 ? g.broken(text) : Buffer.from(text);
      const withBom = g.random() < 0.1 ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]) : bytes;
      const file = join(dir, `doc-${seed}.json`);
      writeFileSync(file, withBom);
      const expected = expectedRecords(withBom);
      const { records, streamed } = await readAllUnits(file, 1 + g.int(5));
      expect(comparable(records), `seed ${seed}: ${withBom.toString('utf8').slice(0, 200)}`).toEqual(expected);
      // many records, and no duplicate key (JSON.parse's last-wins needs the whole file): read from offsets, not whole
      const many = expected.every((e) => e.ok && e.locator !== 'file') && expected.length > 0;
      if (many && !g.hasDuplicateKeys()) expect(streamed, `seed ${seed} was read whole`).toBe(true);
      if (expected.some((e) => !e.ok)) seen.broken++;
      else if (expected.length === 1 && expected[0]!.locator === 'file') seen.whole++;
      else seen.many++;
    }
    // the generator reaches every kind of file, often
    expect(seen.many).toBeGreaterThan(150);
    expect(seen.whole).toBeGreaterThan(30);
    expect(seen.broken).toBeGreaterThan(50);
  });

  it('a unit reads from its own offset: bytes before it are never read', async () => {
    const records = Array.from({ length: 5000 }, (_, i) => ({ id: i, question: `What is ${i} + ${i}? [x] {y} "z" \\`, answer: String(2 * i) }));
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify(records, null, 1));
    const { records: count, seeks } = await countRecords(file, 'json', conn, 1000);
    expect(count).toBe(5000);
    expect(seeks.map((s) => s.index)).toEqual([0, 1000, 2000, 3000, 4000]);
    const last = seeks[4]!;
    // everything before the last unit's offset becomes bytes that are neither UTF-8 nor JSON
    const bytes = Buffer.from(JSON.stringify(records, null, 1));
    bytes.fill(0xff, 0, last.byte);
    writeFileSync(file, bytes);
    const read: RawRecord[] = [];
    for await (const r of readRecords(file, 'json', 4000, 5000, conn, last)) read.push(r);
    expect(read).toHaveLength(1000);
    expect(read.every((r) => r.ok)).toBe(true);
    expect(read.map((r) => r.locator)).toEqual(Array.from({ length: 1000 }, (_, i) => `index:${4000 + i}`));
    expect(read.map((r) => (r.ok ? (r.value as { id: number }).id : -1))).toEqual(Array.from({ length: 1000 }, (_, i) => 4000 + i));
  });
});
