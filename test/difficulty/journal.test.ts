import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { RolloutJournal, migrateUnitJournals, sequencesOf, type JournalEntry } from '../../pipelines/difficulty/journal.js';
import { RolloutSequence } from '../../pipelines/difficulty/rollout-sequence.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { FAKE_MODEL, itemTag, mulberry32, startFakePolicyServer, type FakeItem, type FakePolicyServer, type FakePolicyServerOptions } from '../support/openai-server.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

type Difficulty = NonNullable<PipelineConfigInput['datasets'][string]['difficulty']>;

function itemsFor(count: number, seed: number): FakeItem[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => ({ id: `s${seed}-${i}`, p: Math.round(random() * 10) / 10, answer: String(1000 + i) }));
}

describe('the rollout journal is keyed by sample and sampling params', () => {
  let ws: Workspace;
  let server: FakePolicyServer;
  let items: FakeItem[];

  async function start(count: number, opts: Partial<FakePolicyServerOptions> = {}): Promise<void> {
    items = itemsFor(count, 41 + count);
    server = await startFakePolicyServer({ items, seed: 5, ...opts });
  }

  async function writeRows(rows: FakeItem[]): Promise<void> {
    await ws.write('qa.jsonl', rows.map((it) => JSON.stringify({ id: it.id, question: `${itemTag(it.id)} What is the value?`, answer: it.answer })).join('\n') + '\n');
  }

  function config(difficulty: Partial<Difficulty> = {}, unitRows = 10): PipelineConfigInput {
    return {
      datasets: {
        d: {
          sources: [{ name: 'qa', type: 'qa', path: 'qa.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } }],
          ingest: { unitRows },
          difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: 8, maxTokens: 64, concurrency: 8, timeoutMs: 30_000, maxRetries: 20, verifierThreads: 0, seed: 11, ...difficulty },
        },
      },
    };
  }

  async function run(cfg: PipelineConfigInput, stages: ('ingest' | 'filter' | 'difficulty')[] = ['ingest', 'filter', 'difficulty']) {
    const loaded = await ws.config(cfg);
    for (const stage of stages) await runCommand(loaded, stage, {});
    return loaded;
  }

  /** Every stored rollout, by sample, in (request order, choice) order as the stage used them. */
  async function rolloutsBySample(cfg: PipelineConfigInput): Promise<Map<string, string[]>> {
    const rows = await queryShards(await ws.config(cfg), `SELECT sample_id, request_id, choice_index, response FROM rollouts`);
    const by = new Map<string, string[]>();
    for (const r of rows) {
      const list = by.get(r.sample_id as string) ?? [];
      list.push(`${r.request_id as string}#${r.choice_index as number}`);
      by.set(r.sample_id as string, list);
    }
    for (const list of by.values()) list.sort();
    return by;
  }

  beforeEach(async () => {
    ws = await createWorkspace();
  });
  afterEach(async () => {
    await server?.close().catch(() => {}); // the append test closes its own
    await ws.cleanup();
  });

  it('appending rows to the source pays only for the new samples', async () => {
    // Row counts that leave the last unit partly filled, so an append changes its row range and id.
    for (const [before, after] of [
      [23, 29],
      [17, 31],
    ] as const) {
      await start(after);
      await writeRows(items.slice(0, before));
      await run(config());
      const first = server.stats.requests;
      const rolloutsBefore = await rolloutsBySample(config());
      await writeRows(items);
      await run(config());
      expect(server.stats.requests - first, `${before} → ${after} rows`).toBe(after - before);
      const rolloutsAfter = await rolloutsBySample(config());
      expect(rolloutsAfter.size).toBe(after);
      for (const [id, list] of rolloutsBefore) expect(rolloutsAfter.get(id)).toEqual(list);
      await server.close();
      await ws.cleanup();
      ws = await createWorkspace();
    }
  });

  it('a larger n tops up with new seeds, a smaller n reuses a prefix, and neither repeats a request', async () => {
    await start(12);
    await writeRows(items);
    await run(config({ n: 8 }));
    expect(server.stats.choicesReturned).toBe(12 * 8);
    const at8 = await rolloutsBySample(config());

    for (const [n, newChoices] of [
      [13, 5],
      [16, 3],
      [4, 0],
      [16, 0],
    ] as const) {
      const returned = server.stats.choicesReturned;
      await run(config({ n }), ['difficulty']);
      expect(server.stats.choicesReturned - returned, `n = ${n}`).toBe(12 * newChoices);
      const rows = await queryShards(await ws.config(config({ n })), `SELECT difficulty.n AS n, count(*)::INT AS c FROM samples GROUP BY 1`);
      expect(rows).toEqual([{ n, c: 12 }]);
      const now = await rolloutsBySample(config());
      for (const [id, list] of now) {
        expect(list).toHaveLength(n);
        // The first min(n, 8) rollouts are the ones paid for at n = 8.
        const kept = at8.get(id)!.filter((r) => list.includes(r));
        expect(kept).toHaveLength(Math.min(n, 8));
      }
    }
    // A top-up at position 13 asks with seed 11 + 13 (the base seed shifted by its offset), never the base seed again.
    expect(server.stats.lastRequestBody).toMatchObject({ n: 3, seed: 24 });
  });

  it('a sample whose question changed under the same id is asked afresh; the others are not', async () => {
    await start(12);
    await writeRows(items);
    await run(config());
    const first = server.stats.requests;
    const edited = new Set(items.slice(0, 3).map((it) => it.id));
    await ws.write('qa.jsonl', items.map((it) => JSON.stringify({ id: it.id, question: `${itemTag(it.id)} What is the value${edited.has(it.id) ? ', exactly' : ''}?`, answer: it.answer })).join('\n') + '\n');
    await run(config());
    expect(server.stats.requests - first).toBe(3);
    for (const id of edited) expect(server.stats.completionsByItem.get(id)).toBe(2);
  });

  it('rescoring after a threshold change replays exactly the same rollouts, even when the server answered short', async () => {
    await start(40, { faults: { rates: { short: 0.5 } } });
    await writeRows(items);
    await run(config({ n: 16 }));
    expect(server.stats.faults.short).toBeGreaterThan(5);
    const before = await rolloutsBySample(config());
    const requests = server.stats.requests;
    const changed = config({ n: 16, tiers: { easy: 0.95, medium: 0.05 } });
    await run(changed, ['difficulty']);
    expect(server.stats.requests).toBe(requests);
    expect(await rolloutsBySample(changed)).toEqual(before);
    const ns = await queryShards(await ws.config(changed), `SELECT DISTINCT difficulty.n AS n FROM samples`);
    expect(ns).toEqual([{ n: 16 }]);
  });
});

describe('RolloutSequence and journal replay', () => {
  function entry(offset: number, count: number, request = `r${offset}`): JournalEntry {
    return {
      sample_id: 's',
      endpoint: 'e',
      params_hash: 'p',
      offset,
      request_id: request,
      choices: Array.from({ length: count }, (_, index) => ({ index, text: `${request}:${index}`, finishReason: 'stop' })),
      prompt_tokens: null,
      completion_tokens: null,
      latency_ms: 1,
    };
  }

  it('replays any mix of short answers, overlaps and cut lines as one gap-free sequence', () => {
    const random = mulberry32(3);
    for (let trial = 0; trial < 200; trial++) {
      const lines: string[] = [];
      let length = 0;
      const expected: string[] = [];
      for (let i = 0; i < 8; i++) {
        const count = 1 + Math.floor(random() * 6);
        const roll = random();
        if (roll < 0.15) {
          // a duplicate of an earlier position (two writers raced): must not be counted twice
          const offset = Math.floor(random() * (length + 1));
          lines.push(JSON.stringify(entry(offset, count, `dup${trial}-${i}`)));
          for (let j = 0; j < count; j++) if (offset + j >= length) expected.push(`dup${trial}-${i}:${j}`);
          length = Math.max(length, offset + count);
        } else if (roll < 0.25) {
          lines.push(JSON.stringify(entry(length, count, `cut${trial}-${i}`)).slice(0, 30)); // crash mid-line
        } else {
          lines.push(JSON.stringify(entry(length, count, `ok${trial}-${i}`)));
          for (let j = 0; j < count; j++) expected.push(`ok${trial}-${i}:${j}`);
          length += count;
        }
      }
      const seq = sequencesOf(lines).get('e\u0000p\u0000') ?? [];
      expect(seq.map((r) => r.choice.text)).toEqual(expected);
    }
  });

  it('has a response on disk the moment append returns, before any other callback can run', async () => {
    const ws = await createWorkspace();
    try {
      const journal = new RolloutJournal(ws.path('_journal'));
      for (const [i, id] of ['abc123', 'x/../y', 'ünïcode id', 'ab', 'q"uote\\d\nline'].entries()) {
        const e = { ...entry(0, 3, `req${i}`), sample_id: id };
        void journal.append(e); // deliberately not awaited: a SIGKILL may come at the next tick
        const lines = readFileSync(journal.segmentPath!, 'utf8').trim().split('\n');
        expect(lines).toHaveLength(i + 1);
        expect(JSON.parse(lines[i]!)).toEqual(e);
        expect(journal.segmentPath!.startsWith(ws.path('_journal'))).toBe(true);
        expect((await journal.load(id)).get('e\u0000p\u0000')?.map((r) => r.choice.text)).toEqual([`req${i}:0`, `req${i}:1`, `req${i}:2`]);
      }
      await journal.close();
    } finally {
      await ws.cleanup();
    }
  });

  it('moves journals written per unit (keyed by round) into the per-sample layout, rounds in order', async () => {
    const ws = await createWorkspace();
    try {
      const legacy = (sample: string, round: number, count: number, params = 'p') => {
        const { offset: _o, ...rest } = { ...entry(0, count, `${sample}-r${round}`), sample_id: sample, params_hash: params };
        return JSON.stringify({ ...rest, round });
      };
      // Rounds out of order, a short round, two params, two samples, and a line cut by a crash.
      await ws.write('_journal/u0123abcd.jsonl', [legacy('s1', 1, 4), legacy('s1', 0, 3), legacy('s2', 0, 8), legacy('s1', 0, 2, 'q'), '{"cut'].join('\n') + '\n');
      const journal = new RolloutJournal(ws.path('_journal'));
      expect(migrateUnitJournals(journal)).toBe(1);
      expect(existsSync(ws.path('_journal/u0123abcd.jsonl.migrated'))).toBe(true);
      const s1 = await journal.load('s1');
      expect(s1.get('e\u0000p\u0000')?.map((r) => r.choice.text)).toEqual(['s1-r0:0', 's1-r0:1', 's1-r0:2', 's1-r1:0', 's1-r1:1', 's1-r1:2', 's1-r1:3']);
      expect(s1.get('e\u0000q\u0000')).toHaveLength(2);
      expect((await journal.load('s2')).get('e\u0000p\u0000')).toHaveLength(8);
      expect(migrateUnitJournals(journal)).toBe(0);
    } finally {
      await ws.cleanup();
    }
  });

  it('takes exactly the positions asked for, topping up short answers and requesting only the shortfall', async () => {
    const random = mulberry32(9);
    for (let trial = 0; trial < 100; trial++) {
      const asked: [number, number][] = [];
      const have = Math.floor(random() * 10);
      const seq = new RolloutSequence(
        Array.from({ length: have }, (_, i) => ({ choice: { index: i, text: `j${i}`, finishReason: 'stop' }, entry: entry(0, have, 'j') })),
        async (offset, n) => {
          asked.push([offset, n]);
          return entry(offset, Math.max(1, Math.floor(random() * (n + 1))), `q${offset}`);
        },
      );
      let from = 0;
      for (let round = 0; round < 4; round++) {
        const count = 1 + Math.floor(random() * 6);
        const got = await seq.take(from, count);
        expect(got).toHaveLength(count);
        from += count;
      }
      for (const [offset] of asked) expect(offset).toBeGreaterThanOrEqual(have);
      // Requests never overlap: each starts where the sequence ended.
      for (let i = 1; i < asked.length; i++) expect(asked[i]![0]).toBeGreaterThan(asked[i - 1]![0]);
    }
  });
});
