/**
 * The loopback policy server in its own process, so a benchmark measures the client side alone.
 * Items `b0 … b<count-1>`: item i is correct with p = (i mod 5) / 4 and its answer is `\frac{i}{7}`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import type { LoadedConfig } from '../pipelines/shared/config/load.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import { FAKE_MODEL, itemTag, startFakePolicyServer, type FakeItem } from '../test/support/openai-server.js';

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

/** The question text of bench item `id`, as the dataset holds it and the bare peers send it. */
export const benchQuestion = (id: string): string => `${itemTag(id)} Compute it.`;

/**
 * One bench dataset of `items` as QA rows in `dir` (file and shards suffixed `tag`), its difficulty
 * stage pointed at the bench policy server; ingest and filter are run, so only difficulty is left.
 */
export async function benchDifficultyDataset(
  dir: string,
  tag: string | number,
  items: FakeItem[],
  baseUrl: string,
  difficulty: { n: number; concurrency: number; verifierThreads: number },
): Promise<LoadedConfig> {
  const file = join(dir, `qa-${tag}.jsonl`);
  await writeFile(file, items.map((it) => JSON.stringify({ q: benchQuestion(it.id), a: it.answer })).join('\n') + '\n');
  const loaded = validateConfig(
    {
      shardsDir: join(dir, `shards-${tag}`),
      datasets: {
        b: {
          sources: [{ name: 'qa', type: 'qa', path: file, format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
          ingest: { unitRows: 500 },
          difficulty: { endpoints: [{ name: 'fake', baseUrl, model: FAKE_MODEL }], maxTokens: 64, ...difficulty },
        },
      },
    },
    join(dir, 'pipeline.config.ts'),
  );
  await runCommand(loaded, 'ingest', {});
  await runCommand(loaded, 'filter', {});
  return loaded;
}
