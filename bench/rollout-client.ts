/**
 * Rollout-client throughput against the loopback fake policy server answering instantly, at several
 * concurrency limits. The server runs in a child process so the numbers (and the peak RSS) are the
 * client's, not the client's and the server's sharing one event loop.
 *
 *   pnpm exec tsx bench/rollout-client.ts
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RolloutClient, type ChatMessage } from '../pipelines/difficulty/rollout-client.js';
import { FAKE_MODEL, itemTag, startFakePolicyServer } from '../test/support/openai-server.js';

const CONCURRENCY = [1, 16, 64];
const N = 8;
const SECONDS_PER_RUN = 2;
const ITEMS = Array.from({ length: 64 }, (_, i) => ({ id: `bench-${i}`, p: 0.5, answer: String(i) }));

export async function benchRolloutClient(): Promise<void> {
  const rssBeforeMiB = process.memoryUsage().rss / 2 ** 20;
  const server = await startServerProcess();
  try {
    console.log(`rollout client → loopback server (instant), n=${N} choices/request, ${SECONDS_PER_RUN} s per run`);
    console.log('concurrency  requests/s  choices/s  p50 ms  p99 ms');
    for (const concurrency of CONCURRENCY) {
      const r = await run(server.baseUrl, concurrency);
      console.log(
        `${String(concurrency).padStart(11)}  ${r.requestsPerSecond.toFixed(0).padStart(10)}  ${r.choicesPerSecond.toFixed(0).padStart(9)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}`,
      );
    }
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    console.log(`peak RSS (client process): ${peakMiB.toFixed(1)} MiB (RSS before the runs: ${rssBeforeMiB.toFixed(1)} MiB, heap used now: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB)`);
  } finally {
    server.stop();
  }
}

async function run(baseUrl: string, concurrency: number) {
  const client = new RolloutClient({
    endpoint: { name: 'bench', baseUrl, model: FAKE_MODEL },
    concurrency,
    maxRetries: 0,
    timeoutMs: 10_000,
    backoff: { baseMs: 1, maxMs: 1 },
  });
  const params = { n: N, temperature: 1, topP: 1, maxTokens: 256 };
  const prompts: ChatMessage[][] = ITEMS.map((item) => [{ role: 'user', content: `${itemTag(item.id)} What is the answer?` }]);
  // Warm up the connection pool before timing.
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client.complete(prompts[i % prompts.length]!, params)));

  const latencies: number[] = [];
  let choices = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + SECONDS_PER_RUN * 1000;
  // One more worker than permits so the limiter, not the driver, is what bounds concurrency.
  const worker = async () => {
    while (performance.now() < deadline) {
      const result = await client.complete(prompts[next++ % prompts.length]!, params);
      latencies.push(result.latencyMs);
      choices += result.choices.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency + 1 }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requestsPerSecond: latencies.length / seconds, choicesPerSecond: choices / seconds, p50: quantile(0.5), p99: quantile(0.99) };
}

async function startServerProcess(): Promise<{ baseUrl: string; stop: () => void }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited with code ${code}`)));
  });
  return { baseUrl, stop: () => child.kill() };
}

async function serve(): Promise<void> {
  const server = await startFakePolicyServer({ items: ITEMS, instant: true });
  process.send?.(server.baseUrl);
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--serve')) await serve();
  else await benchRolloutClient();
}
