import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { countRecords, readRecords, type RawRecord } from '../../pipelines/ingest/readers/records.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { rng } from '../support/scenes.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

/** JSONL with blank lines, CRLF endings, multi-byte text and leading spaces, generated from a seed. */
function jsonl(seed: number, n: number): string {
  const r = rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    if (r() < 0.1) lines.push(r() < 0.5 ? '' : '   ');
    lines.push(`${r() < 0.2 ? '  ' : ''}${JSON.stringify({ i, text: 'é中'.repeat(Math.floor(r() * 5)) })}`);
  }
  return lines.map((l) => l + (r() < 0.3 ? '\r\n' : '\n')).join('');
}

async function collect(gen: AsyncGenerator<RawRecord>): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for await (const r of gen) out.push(r);
  return out;
}

describe('JSONL units seek to their byte offset', () => {
  it.each([1, 2, 3, 4, 5])('reads the same records as a scan from the top, without reading the bytes before the unit (seed %i)', async (seed) => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const conn = await connect();
    const file = await ws.write('a.jsonl', jsonl(seed, 200));
    const every = 7 + seed;
    const { records, seeks } = await countRecords(file, 'jsonl', conn, every);
    expect(records).toBe(200);
    expect(seeks.map((s) => s.index)).toEqual(Array.from({ length: Math.ceil(200 / every) }, (_, k) => k * every));
    const expected = await collect(readRecords(file, 'jsonl', 0, records, conn));
    const last = seeks.at(-1)!;
    // Overwrite everything before the last unit with bytes that are not JSON: a unit that reads from the top would see them.
    const bytes = await readFile(file);
    bytes.fill(0x7b, 0, last.byte);
    await writeFile(file, bytes);
    const tail = await collect(readRecords(file, 'jsonl', last.index, records, conn, last));
    expect(tail).toEqual(expected.slice(last.index));
    expect(tail.every((r) => r.ok)).toBe(true);
  });
});
