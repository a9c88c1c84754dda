/**
 * The difficulty stage end to end against a loopback policy server that answers at once: requests,
 * journal, verification (GLM format, math CAS) and shard writes, in samples/s and rollouts/s.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/load.js';
import { FAKE_MODEL, itemTag, startFakePolicyServer } from '../test/support/openai-server.js';

const SAMPLES = 2000;
const N = 8;

export async function benchDifficulty(): Promise<void> {
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-difficulty-'));
  const items = Array.from({ length: SAMPLES }, (_, i) => ({ id: `b${i}`, p: (i % 5) / 4, answer: `\\frac{${i}}{7}` }));
  const server = await startFakePolicyServer({ items, seed: 1 });
  try {
    await writeFile(join(dir, 'qa.jsonl'), items.map((it) => JSON.stringify({ q: `${itemTag(it.id)} Compute it.`, a: it.answer })).join('\n') + '\n');
    for (const verifierThreads of [2, 0]) {
    const loaded = validateConfig(
      {
        shardsDir: join(dir, `shards-${verifierThreads}`),
        datasets: {
          b: {
            sources: [{ name: 'qa', type: 'qa', path: join(dir, 'qa.jsonl'), format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
            ingest: { unitRows: 500 },
            difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: N, concurrency: 64, maxTokens: 64, verifierThreads },
          },
        },
      },
      join(dir, 'pipeline.config.ts'),
    );
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const requestsBefore = server.stats.requests;
    const started = performance.now();
    await runCommand(loaded, 'difficulty', {});
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `difficulty stage, ${verifierThreads ? `${verifierThreads} verifier threads (hard budget)` : 'verifying in-process'}: ${SAMPLES} samples × n=${N} in ${seconds.toFixed(2)} s = ${Math.round(SAMPLES / seconds)} samples/s, ` +
        `${Math.round((SAMPLES * N) / seconds)} verified rollouts/s (${server.stats.requests - requestsBefore} requests); peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`,
    );
    const rescore = performance.now();
    const requestsAfter = server.stats.requests;
    await runCommand(loaded, 'difficulty', { force: true });
    process.stdout.write(`  rescoring from the journal: ${((performance.now() - rescore) / 1000).toFixed(2)} s, ${server.stats.requests - requestsAfter} new requests\n`);
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDifficulty();
