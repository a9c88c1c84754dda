/** Reward service throughput: rollout groups of 8 posted to `POST /reward` as a trainer's reward step would. */
import { startRewardServer } from '../pipelines/verify/server.js';

const GROUP = 8;
const SECONDS = 4;

function group(i: number): object {
  const gt = String(i % 97);
  const items = Array.from({ length: GROUP }, (_, j) => {
    const answer = j % 3 === 0 ? `\\frac{${(i % 97) * 2}}{2}` : j % 3 === 1 ? gt : String((i % 97) + 1);
    return { domain: 'math', response: `<think>working ${i}.${j}</think><answer>so it is <|begin_of_box|>${answer}<|end_of_box|></answer>`, ground_truth: gt };
  });
  return { items };
}

export async function benchRewardServer(): Promise<void> {
  for (const threads of [0, 2]) {
    const server = await startRewardServer({ port: 0, threads });
    try {
      for (const concurrency of [1, 16]) {
        let groups = 0;
        const latencies: number[] = [];
        const deadline = performance.now() + SECONDS * 1000;
        const client = async (): Promise<void> => {
          while (performance.now() < deadline) {
            const started = performance.now();
            const res = await fetch(`${server.url}/reward`, { method: 'POST', body: JSON.stringify(group(groups)) });
            await res.json();
            latencies.push(performance.now() - started);
            groups++;
          }
        };
        await Promise.all(Array.from({ length: concurrency }, client));
        latencies.sort((a, b) => a - b);
        const p = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1);
        process.stdout.write(
          `reward server, ${threads ? `${threads} worker threads` : 'in-process'}, ${concurrency} client(s): ` +
            `${Math.round(groups / SECONDS)} groups/s = ${Math.round((groups * GROUP) / SECONDS)} verifications/s, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms\n`,
        );
      }
    } finally {
      await server.close();
    }
  }
  process.stdout.write(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchRewardServer();
