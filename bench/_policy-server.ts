/**
 * The loopback policy server in its own process, so a benchmark measures the client side alone.
 * Items `b0 … b<count-1>`: item i is correct with p = (i mod 5) / 4 and its answer is `\frac{i}{7}`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startFakePolicyServer, type FakeItem } from '../test/support/openai-server.js';

export function benchItems(count: number): FakeItem[] {
  return Array.from({ length: count }, (_, i) => ({ id: `b${i}`, p: (i % 5) / 4, answer: `\\frac{${i}}{7}` }));
}

export async function startPolicyServerProcess(count: number): Promise<{ baseUrl: string; stop: () => void }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(count)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench policy server exited with code ${code}`)));
  });
  return { baseUrl, stop: () => child.kill() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--serve') {
  // GLM-format answers with no planted latency or faults: the server answers as fast as it can.
  const server = await startFakePolicyServer({ items: benchItems(Number(process.argv[3])), seed: 1 });
  process.send?.(server.baseUrl);
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
}
