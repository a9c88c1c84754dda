import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../pipelines/difficulty/journal.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { FAKE_MODEL, itemTag, startFakePolicyServer, type FakeItem } from '../support/openai-server.js';
import { createWorkspace, queryShards, runCli } from '../support/workspace.js';

const N = 4;
const CONCURRENCY = 16;
const items: FakeItem[] = Array.from({ length: 64 }, (_, i) => ({ id: `k${i}`, p: (i % 5) / 4, answer: String(500 + i) }));

/** Every journal line on disk (all segments, and per-sample files if any), parsed; cut lines are left out as the reader leaves them out. */
function journalLines(dir: string): JournalEntry[] {
  const lines: JournalEntry[] = [];
  if (!existsSync(dir)) return lines;
  for (const sub of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, sub))) {
      for (const line of readFileSync(join(dir, sub, f), 'utf8').split('\n')) {
        try {
          if (line) lines.push(JSON.parse(line) as JournalEntry);
        } catch {
          // cut by the kill
        }
      }
    }
  }
  return lines;
}

describe('kills while a burst of responses is being journalled', () => {
  it('never asks again for a response journalled before a kill, and ends with exactly n rollouts per sample', async () => {
    const ws = await createWorkspace();
    // Latency makes the responses of all CONCURRENCY requests arrive together: each kill lands inside a burst.
    const server = await startFakePolicyServer({ items, seed: 8, latencyMs: 150 });
    try {
      const config: PipelineConfigInput = {
        datasets: {
          d: {
            sources: [{ name: 'qa', type: 'qa', path: 'qa.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } }],
            ingest: { unitRows: 16 },
            difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: N, concurrency: CONCURRENCY, maxTokens: 64, timeoutMs: 60_000, maxRetries: 5, verifierThreads: 0, seed: 3 },
          },
        },
      };
      await ws.write('qa.jsonl', items.map((it) => JSON.stringify({ id: it.id, question: `${itemTag(it.id)} What is the value?`, answer: it.answer })).join('\n') + '\n');
      const loaded = await ws.config(config);
      const cfg = ws.path('pipeline.config.ts');
      expect((await runCli(['run', 'ingest', '--config', cfg])).code).toBe(0);
      expect((await runCli(['run', 'filter', '--config', cfg])).code).toBe(0);
      const journalDir = ws.path('shards/d/difficulty/_journal');

      // Kill in the middle of a burst, again and again: each run journals a few responses of a burst and dies.
      let kills = 0;
      for (const at of [5, 11, 3, 9, 7, 13, 6, 10, 4, 12]) {
        const journalledSamples = new Set(journalLines(journalDir).map((e) => e.sample_id));
        const completionsBefore = new Map(server.stats.completionsByItem);
        const run = await runCli(['run', 'difficulty', '--config', cfg], { env: { STRATUM_FAULT: `journal-append:${at}` } });
        if (run.code === 0) break; // fewer than `at` responses were left to journal
        expect(run.signal, run.stderr).toBe('SIGKILL');
        kills++;
        // A sample journalled by an earlier run was not asked again by this one.
        for (const id of journalledSamples) expect(server.stats.completionsByItem.get(id), id).toBe(completionsBefore.get(id));
      }
      expect(kills).toBeGreaterThanOrEqual(4);
      const finished = await runCli(['run', 'difficulty', '--config', cfg]);
      expect(finished.code, finished.stderr).toBe(0);

      const lines = journalLines(journalDir);
      // No request journalled twice, and every journalled request is the one the stored rollouts came from.
      expect(new Set(lines.map((e) => e.request_id)).size).toBe(lines.length);
      expect(lines).toHaveLength(items.length); // n = N in one request per sample; nothing asked twice once journalled
      const stored = await queryShards(loaded, `SELECT DISTINCT request_id FROM rollouts`);
      expect(new Set(stored.map((r) => r.request_id as string))).toEqual(new Set(lines.map((e) => e.request_id)));
      const per = await queryShards(loaded, `SELECT count(*)::INT AS samples, min(c)::INT AS lo, max(c)::INT AS hi, sum(c)::INT AS total FROM (SELECT sample_id, count(*) AS c FROM rollouts GROUP BY 1)`);
      expect(per[0]).toEqual({ samples: items.length, lo: N, hi: N, total: items.length * N });
      // Paid twice at most: the requests in flight at each kill (their responses had not been journalled).
      expect(server.stats.requests - items.length).toBeLessThanOrEqual(kills * CONCURRENCY);
      // And the tier of each sample is the one its stored rollouts give.
      const mismatched = await queryShards(
        loaded,
        `SELECT s.id FROM samples s JOIN (SELECT sample_id, count(*) FILTER (WHERE correct)::INT AS k FROM rollouts GROUP BY 1) r ON r.sample_id = s.id WHERE s.difficulty.k <> r.k OR s.difficulty.n <> ${N}`,
      );
      expect(mismatched).toEqual([]);
    } finally {
      await server.close();
      await ws.cleanup();
    }
  }, 600_000); // a dozen CLI processes: minutes on a loaded 2-core machine
});
