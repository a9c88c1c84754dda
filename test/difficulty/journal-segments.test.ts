import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RolloutJournal, sequencesOfEntries, type JournalEntry } from '../../pipelines/difficulty/journal.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

function entry(sampleId: string, offset: number, count: number, request: string, endpoint = 'e'): JournalEntry {
  return {
    sample_id: sampleId,
    endpoint,
    params_hash: 'p',
    prompt_hash: 'q',
    offset,
    request_id: request,
    choices: Array.from({ length: count }, (_, index) => ({ index, text: `${request}:${index} ${'x'.repeat(index * 7)}`, finishReason: 'stop' })),
    prompt_tokens: 3,
    completion_tokens: null,
    latency_ms: 1,
  };
}

/** Rollout texts per sample and key, as a fresh reader sees them. */
async function readBack(dir: string, ids: Iterable<string>): Promise<Record<string, Record<string, string[]>>> {
  const reader = new RolloutJournal(dir);
  const out: Record<string, Record<string, string[]>> = {};
  for (const id of ids) {
    const seqs = await reader.load(id);
    if (seqs.size) out[id] = Object.fromEntries([...seqs].map(([k, v]) => [k, v.map((r) => r.choice.text)]));
  }
  await reader.close();
  return out;
}

function expected(entries: JournalEntry[]): Record<string, Record<string, string[]>> {
  const by = new Map<string, JournalEntry[]>();
  for (const e of entries) by.set(e.sample_id, [...(by.get(e.sample_id) ?? []), e]);
  const out: Record<string, Record<string, string[]>> = {};
  for (const [id, list] of by) out[id] = Object.fromEntries([...sequencesOfEntries(list)].map(([k, v]) => [k, v.map((r) => r.choice.text)]));
  return out;
}

describe('the journal in segments, one per writer', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await createWorkspace();
  });
  afterEach(async () => {
    await ws.cleanup();
  });

  it('reads back every sequence whatever mix of closed writers, killed writers, lost or stale sidecars and cut lines it finds', async () => {
    const random = mulberry32(17);
    const ids = ['a1', 'b/2', 'ünï', 'q"u\\o\nte', ...Array.from({ length: 36 }, (_, i) => `s${i}`)];
    for (let trial = 0; trial < 12; trial++) {
      const dir = ws.path(`j${trial}`);
      const written: JournalEntry[] = [];
      const next = new Map<string, number>();
      const writers = 2 + Math.floor(random() * 4);
      for (let w = 0; w < writers; w++) {
        const journal = new RolloutJournal(dir, { syncIntervalMs: random() < 0.5 ? 0 : 5 });
        // A writer reads before it writes, as the stage does, so its index covers the earlier segments.
        if (random() < 0.5) await journal.load(ids[0]!);
        const appends = 1 + Math.floor(random() * 40);
        for (let i = 0; i < appends; i++) {
          const id = ids[Math.floor(random() * ids.length)]!;
          const endpoint = random() < 0.8 ? 'e' : 'f';
          const key = `${id}\u0000${endpoint}`;
          const offset = next.get(key) ?? 0;
          const e = entry(id, offset, 1 + Math.floor(random() * 8), `t${trial}w${w}r${i}`, endpoint);
          journal.append(e);
          written.push(e);
          next.set(key, offset + e.choices.length);
          // What this writer appended is visible to its own lookups at once.
          if (random() < 0.1) expect((await journal.load(id)).get(`${endpoint}\u0000p\u0000q`)?.length).toBe(offset + e.choices.length);
        }
        const fate = random();
        if (fate < 0.5) await journal.close(); // sidecar written
        else if (fate < 0.7) {
          // killed mid-line: the cut line is at the end of its segment, its request was never counted
          appendFileSync(journal.segmentPath!, '{"sample_id":"s0","endpoint":"e","params_hash":"p","off');
        } // else killed between lines: no sidecar
      }
      // Lose or spoil some sidecars: they only speed reading up.
      const indexDir = `${dir}-index`;
      if (existsSync(indexDir)) {
        for (const f of readdirSync(indexDir)) {
          const roll = random();
          if (roll < 0.2) rmSync(join(indexDir, f));
          else if (roll < 0.35) writeFileSync(join(indexDir, f), '{"v":1,"size":12,"ids":["s');
          else if (roll < 0.7) {
            // stale: covers only the first line of its segment
            const s = JSON.parse(readFileSync(join(indexDir, f), 'utf8')) as { size: number; ids: string[]; pos: number[]; len: number[] };
            writeFileSync(join(indexDir, f), JSON.stringify({ v: 1, size: s.len[0] ?? 0, ids: s.ids.slice(0, 1), pos: s.pos.slice(0, 1), len: s.len.slice(0, 1) }));
          }
        }
      }
      expect(await readBack(dir, ids)).toEqual(expected(written));
    }
  });

  it('still reads the per-sample files earlier versions wrote, and extends their sequences', async () => {
    const dir = ws.path('_journal');
    const old = new RolloutJournal(dir);
    for (const id of ['abc', 'x y']) {
      mkdirSync(join(old.pathOf(id), '..'), { recursive: true });
      writeFileSync(old.pathOf(id), [entry(id, 0, 3, `${id}-old0`), entry(id, 3, 5, `${id}-old1`)].map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
    const journal = new RolloutJournal(dir);
    expect((await journal.load('abc')).get('e\u0000p\u0000q')).toHaveLength(8);
    journal.append(entry('abc', 8, 4, 'abc-new'));
    await journal.close();
    const back = await readBack(dir, ['abc', 'x y', 'none']);
    expect(back.abc!['e\u0000p\u0000q']!.map((t) => t.split(' ')[0])).toEqual([
      ...['abc-old0:0', 'abc-old0:1', 'abc-old0:2'],
      ...['abc-old1:0', 'abc-old1:1', 'abc-old1:2', 'abc-old1:3', 'abc-old1:4'],
      ...['abc-new:0', 'abc-new:1', 'abc-new:2', 'abc-new:3'],
    ]);
    expect(back['x y']!['e\u0000p\u0000q']).toHaveLength(8);
    expect(back.none).toBeUndefined();
  });

  it('orders a sequence by offset when segment names (writer clocks) disagree with the order it was written in', async () => {
    const dir = ws.path('_journal');
    mkdirSync(join(dir, 'log'), { recursive: true });
    // The later request sits in the segment whose name sorts first.
    writeFileSync(join(dir, 'log', '20260101T000000000Z-1-00000000.jsonl'), JSON.stringify(entry('s', 4, 4, 'second')) + '\n');
    writeFileSync(join(dir, 'log', '20270101T000000000Z-1-00000000.jsonl'), JSON.stringify(entry('s', 0, 4, 'first')) + '\n');
    const back = await readBack(dir, ['s']);
    expect(back.s!['e\u0000p\u0000q']!.map((t) => t.split(' ')[0])).toEqual(['first:0', 'first:1', 'first:2', 'first:3', 'second:0', 'second:1', 'second:2', 'second:3']);
  });

  it('writes one segment per writer, and a closed writer leaves a sidecar covering all of it', async () => {
    const dir = ws.path('_journal');
    const journal = new RolloutJournal(dir);
    for (let i = 0; i < 50; i++) journal.append(entry(`s${i % 7}`, Math.floor(i / 7) * 2, 2, `r${i}`));
    await journal.close();
    const segments = readdirSync(join(dir, 'log'));
    expect(segments).toHaveLength(1);
    const sidecar = JSON.parse(readFileSync(join(`${dir}-index`, `${segments[0]}.json`), 'utf8')) as { size: number; ids: string[] };
    expect(sidecar.size).toBe(readFileSync(join(dir, 'log', segments[0]!)).length);
    expect(sidecar.ids).toHaveLength(50);
  });
});
