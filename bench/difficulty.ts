/**
 * The difficulty stage end to end against a loopback policy server (own process, answers at once):
 * requests, journal, verification, shard writes. Printed per run: samples/s and its ratio to a bare
 * HTTP client (fetch, same prompts, same n and concurrency) against the same server; CPU per request
 * (all threads), the part of it that is verification (the same answers verified again in-process)
 * and the rest, the stage's own overhead (HTTP client, JSON, journal, verification dispatch, row
 * building, shard writes). Then adaptive sampling against fixed n, simulated with known rates.
 *
 *   pnpm bench difficulty
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/load.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';
import { verify } from '../pipelines/verify/index.js';
import { FAKE_MODEL, itemTag } from '../test/support/openai-server.js';
import { benchAdaptive } from './_adaptive.js';
import { benchItems, startPolicyServerProcess } from './_policy-server.js';

const SAMPLES = 2000;
const N = 8;
const CONCURRENCY = 64;

const question = (id: string) => `${itemTag(id)} Compute it.`;

/** CPU ms (all threads) of verifying every stored rollout in-process: the part of the stage's CPU that is verification. */
async function verificationCpuMs(shardsDir: string): Promise<number> {
  const conn = await connect();
  await createShardViews(conn, shardsDir, ['b']);
  const rows = (await conn.runAndReadAll(`SELECT r.response, s.task.answer AS answer FROM rollouts r JOIN samples s ON s.id = r.sample_id`)).getRowObjectsJson() as { response: string; answer: string }[];
  const cpu = process.cpuUsage();
  for (const r of rows) await verify({ domain: 'math', response: r.response, groundTruth: r.answer, format: 'glm' });
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

/** Requests/s of plain fetch calls asking the same questions with the same n and concurrency, and CPU ms per request. */
async function bareClient(baseUrl: string, ids: string[]): Promise<{ rate: number; cpuMs: number }> {
  const url = `${baseUrl}/chat/completions`;
  const ask = async (id: string) => {
    const body = JSON.stringify({ model: FAKE_MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: question(id) }] }], n: N, temperature: 1, top_p: 1, max_tokens: 64 });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { choices: unknown[] };
    if (json.choices.length !== N) throw new Error('short answer');
  };
  await Promise.all(ids.slice(0, CONCURRENCY).map(ask)); // warm the connection pool
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) await ask(ids[next++]!);
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rate: ids.length / ((performance.now() - started) / 1000), cpuMs: (used.user + used.system) / 1000 / ids.length };
}

export async function benchDifficulty(): Promise<void> {
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-difficulty-'));
  const items = benchItems(SAMPLES);
  const server = await startPolicyServerProcess(SAMPLES);
  try {
    await writeFile(join(dir, 'qa.jsonl'), items.map((it) => JSON.stringify({ q: question(it.id), a: it.answer })).join('\n') + '\n');
    for (const verifierThreads of [2, 0]) {
      // Measured right before each stage run, so both see the same machine load.
      const { rate: bare, cpuMs: bareCpu } = await bareClient(server.baseUrl, items.map((it) => it.id));
      process.stdout.write(`bare HTTP client (fetch, c=${CONCURRENCY}, n=${N}) against the loopback policy: ${Math.round(bare)} requests/s, ${bareCpu.toFixed(2)} ms CPU per request\n`);
      const loaded = validateConfig(
        {
          shardsDir: join(dir, `shards-${verifierThreads}`),
          datasets: {
            b: {
              sources: [{ name: 'qa', type: 'qa', path: join(dir, 'qa.jsonl'), format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
              ingest: { unitRows: 500 },
              difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: N, concurrency: CONCURRENCY, maxTokens: 64, verifierThreads },
            },
          },
        },
        join(dir, 'pipeline.config.ts'),
      );
      await runCommand(loaded, 'ingest', {});
      await runCommand(loaded, 'filter', {});
      const cpu = process.cpuUsage();
      const started = performance.now();
      await runCommand(loaded, 'difficulty', {});
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const stageCpu = (used.user + used.system) / 1000 / SAMPLES;
      const verifyCpu = (await verificationCpuMs(loaded.shardsDir)) / SAMPLES;
      const rate = SAMPLES / seconds;
      process.stdout.write(
        `difficulty stage, ${verifierThreads ? `${verifierThreads} verifier threads (hard budget)` : 'verifying in-process'}: ${SAMPLES} samples × n=${N} in ${seconds.toFixed(2)} s = ${Math.round(rate)} samples/s ` +
          `(${Math.round(rate * N)} verified rollouts/s), ${(rate / bare).toFixed(2)}× the bare client; CPU per request ${stageCpu.toFixed(2)} ms, ` +
          `of which verifying its ${N} answers ${verifyCpu.toFixed(2)} ms: stage overhead ${(stageCpu - verifyCpu).toFixed(2)} ms (bare client ${bareCpu.toFixed(2)} ms); ` +
          `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`,
      );
      const rescore = performance.now();
      await runCommand(loaded, 'difficulty', { force: true });
      process.stdout.write(`  rescoring from the journal: ${((performance.now() - rescore) / 1000).toFixed(2)} s\n`);
    }
  } finally {
    server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  benchAdaptive();
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDifficulty();
