/**
 * Loopback captioner + teacher + solver in its own process for `pnpm bench synthesize`: caption i
 * reads `The Golden Gate Bridge with <n> boats in scene <i>.`; the captioner keeps the facts for
 * i mod 5 < 3, drops the number for 3 and refuses for 4; the teacher writes three questions per
 * image, right unless (i + j) mod 4 = 0; the solver answers question (i, j) right with p = 1, 0.9,
 * 0.6 or 0.2 by (i + j) mod 4.
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { itemTag, startFakePolicyServer, type FakeChatRequest, type FakeItem } from '../test/support/openai-server.js';

export const BENCH_MODELS = { captioner: 'bench-captioner', teacher: 'bench-teacher', solver: 'bench-solver' };

export function benchCaption(i: number): string {
  return `The Golden Gate Bridge with ${10 + (i % 80)} boats in scene ${i}.`;
}

const P = [1, 0.9, 0.6, 0.2];

function items(count: number): FakeItem[] {
  return Array.from({ length: count * 3 }, (_, x) => {
    const i = Math.floor(x / 3);
    const j = x % 3;
    return { id: `b${i}-${j}`, p: P[(i + j) % 4]!, answer: String(20 + j + (i % 50)), wrongAnswer: String(99 + j) };
  });
}

function respond(req: FakeChatRequest): string | undefined {
  if (req.model === BENCH_MODELS.captioner) {
    const m = /with (\d+) boats in scene (\d+)/.exec(req.text);
    if (!m) return 'no caption';
    const i = Number(m[2]);
    if (i % 5 === 4) return "I'm sorry, but I can't see the image.";
    const n = i % 5 === 3 ? 'many' : m[1];
    return `Seen from the shore, the Golden Gate Bridge rises above ${n} boats on the bay in scene ${i}, under a pale sky.`;
  }
  if (req.model !== BENCH_MODELS.teacher) return undefined;
  const i = Number(/in scene (\d+)/.exec(req.text)?.[1]);
  return [0, 1, 2]
    .map((j) => `<item>\n<question>${itemTag(`b${i}-${j}`)} How many boats of colour ${j} are there?</question>\n<answer>${20 + j + (i % 50) + ((i + j) % 4 === 0 ? 5 : 0)}</answer>\n<type>numeric</type>\n</item>`)
    .join('\n');
}

export async function startSynthesisServerProcess(count: number): Promise<{ baseUrl: string; stop: () => void }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(count)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench synthesis server exited with code ${code}`)));
  });
  return { baseUrl, stop: () => child.kill() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--serve') {
  const server = await startFakePolicyServer({ items: items(Number(process.argv[3])), model: BENCH_MODELS.teacher, models: [BENCH_MODELS.solver, BENCH_MODELS.captioner], seed: 1, respond });
  process.send?.(server.baseUrl);
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
}
