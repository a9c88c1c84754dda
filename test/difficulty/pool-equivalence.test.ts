import { describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { FAKE_MODEL, itemTag, startFakePolicyServer, type FakeItem } from '../support/openai-server.js';
import { createWorkspace, queryShards } from '../support/workspace.js';

const ANSWERS = ['\\frac{3}{7}', '0.5', '42', 'x = 3', '\\sqrt{2}', '(1, 2)', '12\\%', '1{,}000', 'Paris', '-7'];
const items: FakeItem[] = Array.from({ length: 60 }, (_, i) => ({ id: `v${i}`, p: (i % 7) / 6, answer: ANSWERS[i % ANSWERS.length]! }));

/** Every rollout's verdict and every sample's tier after a full run with the given verifier threads. */
async function runWith(verifierThreads: number) {
  const ws = await createWorkspace();
  const server = await startFakePolicyServer({ items, seed: 21 });
  try {
    await ws.write('qa.jsonl', items.map((it) => JSON.stringify({ id: it.id, question: `${itemTag(it.id)} Solve.`, answer: it.answer })).join('\n') + '\n');
    const config: PipelineConfigInput = {
      datasets: {
        d: {
          sources: [{ name: 'qa', type: 'qa', path: 'qa.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } }],
          ingest: { unitRows: 15 },
          difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: 8, concurrency: 16, maxTokens: 64, timeoutMs: 60_000, verifierThreads, seed: 4 },
        },
      },
    };
    const loaded = await ws.config(config);
    for (const stage of ['ingest', 'filter', 'difficulty'] as const) await runCommand(loaded, stage, {});
    const rollouts = await queryShards(loaded, `SELECT sample_id, choice_index, response, score, correct, reason FROM rollouts ORDER BY ALL`);
    const samples = await queryShards(loaded, `SELECT id, tier, difficulty.k AS k, difficulty.n AS n FROM samples ORDER BY id`);
    return { rollouts, samples };
  } finally {
    await server.close();
    await ws.cleanup();
  }
}

describe('verifying on the worker pool (rounds of several samples per message) or in-process', () => {
  it('gives every rollout the same verdict and every sample the same tier', async () => {
    const inProcess = await runWith(0);
    const pooled = await runWith(2);
    expect(inProcess.rollouts).toHaveLength(items.length * 8);
    expect(new Set(inProcess.rollouts.map((r) => r.correct)).size).toBe(2); // both right and wrong answers were seen
    expect(pooled.rollouts).toEqual(inProcess.rollouts);
    expect(pooled.samples).toEqual(inProcess.samples);
  }, 300_000);
});
