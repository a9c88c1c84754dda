/**
 * The difficulty stage end to end against a loopback policy server (own process, answers at once):
 * requests, journal, verification, shard writes. In the same run, two bare HTTP clients ask the
 * same server the same questions with the same n and concurrency: `fetch`, and `http.request` on a
 * keep-alive agent (the transport the stage uses). Printed per stage run: samples/s and its ratio to
 * each bare client; CPU per request (process.cpuUsage: all threads), the part of it that is
 * verification (the same answers verified again in-process, warm) and the rest, the stage's own
 * overhead (HTTP client, JSON, journal, verification dispatch, row building, shard writes), beside
 * the bare clients' CPU per request. The first run in the process pays module loading and JIT
 * warm-up; the second (fresh samples) shows the steady state. Then the verifier pool's start-up
 * cost, rescoring from the journal, and adaptive sampling against fixed n on known rates.
 *
 *   pnpm bench difficulty
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runCommand } from '../pipelines/cli/run.js';
import { RolloutJournal, type JournalEntry } from '../pipelines/difficulty/journal.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';
import { clearParseCache } from '../pipelines/verify/cas.js';
import { verify } from '../pipelines/verify/index.js';
import { FAKE_MODEL, itemTag } from '../test/support/openai-server.js';
import { benchAdaptive } from './_adaptive.js';
import { benchItems, startPolicyServerProcess } from './_policy-server.js';

const SAMPLES = 2000;
const N = 8;
const CONCURRENCY = 64;

const question = (id: string) => `${itemTag(id)} Compute it.`;

/**
 * CPU ms (all threads) of verifying every stored rollout in-process, a sample's rollouts together as
 * the stage verifies them, with the CAS parse cache emptied first (the stage met these answers cold):
 * the part of the stage's CPU that is verification.
 */
async function verificationCpuMs(shardsDir: string): Promise<number> {
  const conn = await connect();
  await createShardViews(conn, shardsDir, ['b']);
  const rows = (await conn.runAndReadAll(`SELECT r.response, s.task.answer AS answer FROM rollouts r JOIN samples s ON s.id = r.sample_id ORDER BY r.sample_id, r.request_id, r.choice_index`)).getRowObjectsJson() as { response: string; answer: string }[];
  clearParseCache();
  const cpu = process.cpuUsage();
  for (const r of rows) await verify({ domain: 'math', response: r.response, groundTruth: r.answer, format: 'glm' });
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

type Ask = (body: string) => Promise<void>;

function fetchClient(url: string): Ask {
  return async (body) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { choices: unknown[] };
    if (json.choices.length !== N) throw new Error('short answer');
  };
}

function httpClient(url: string): Ask {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const { hostname, port, pathname } = new URL(url);
  return (body) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ hostname, port, path: pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { choices: unknown[] };
          if (json.choices.length === N) resolve();
          else reject(new Error('short answer'));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}

/** Requests/s of a bare client asking the same questions with the same n and concurrency, and its CPU ms per request. */
async function bareClient(ask: Ask, ids: string[]): Promise<{ rate: number; cpuMs: number }> {
  const body = (id: string) => JSON.stringify({ model: FAKE_MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: question(id) }] }], n: N, temperature: 1, top_p: 1, max_tokens: 64 });
  await Promise.all(ids.slice(0, CONCURRENCY).map((id) => ask(body(id)))); // warm the connection pool
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) await ask(body(ids[next++]!));
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rate: ids.length / ((performance.now() - started) / 1000), cpuMs: (used.user + used.system) / 1000 / ids.length };
}

/** CPU ms (all threads) and wall ms of starting a verifier pool until every worker has loaded the verifier, then closing it. */
async function poolStartup(threads: number): Promise<{ cpuMs: number; wallMs: number }> {
  const { createVerifierPool } = await import('../pipelines/verify/pool.js');
  const cpu = process.cpuUsage();
  const started = performance.now();
  const pool = createVerifierPool({ threads });
  await pool.ready();
  const wallMs = performance.now() - started;
  await pool.close();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs };
}

/**
 * The journal on its own: CPU per appended request in a segment against one new file per sample (the
 * layout before segments), and the cost of the lookup index a run builds (from sidecars, and by
 * scanning segments that have none), with its heap per request.
 */
async function benchJournal(dir: string): Promise<void> {
  setFlagsFromString('--expose-gc');
  const REQUESTS = 20_000;
  const INDEXED = 200_000;
  const entry = (i: number): JournalEntry => ({
    sample_id: `sample-${i.toString(36).padStart(6, '0')}-0123456789abcdef0123456789`,
    endpoint: 'fake',
    params_hash: '0123456789abcdef',
    prompt_hash: 'fedcba9876543210',
    offset: 0,
    request_id: randomUUID(),
    choices: Array.from({ length: N }, (_, index) => ({ index, text: `<think>…</think><answer><|begin_of_box|>${i}<|end_of_box|></answer>`, finishReason: 'stop' })),
    prompt_tokens: 40,
    completion_tokens: 320,
    latency_ms: 12.5,
  });
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  const entries = Array.from({ length: REQUESTS }, (_, i) => entry(i));
  const segmented = new RolloutJournal(join(dir, 'journal-segment'), { syncIntervalMs: 200 });
  let since = process.cpuUsage();
  for (const e of entries) segmented.append(e);
  await segmented.close();
  const segmentMs = cpuMs(since);
  since = process.cpuUsage();
  for (const e of entries) {
    const path = new RolloutJournal(join(dir, 'journal-per-sample')).pathOf(e.sample_id);
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${JSON.stringify(e)}\n`);
  }
  const perFileMs = cpuMs(since);
  process.stdout.write(
    `journal, ${REQUESTS} requests of n=${N}: ${(segmentMs / REQUESTS).toFixed(3)} ms CPU per request appended to one segment (fdatasync every 200 ms and at close), ` +
      `${(perFileMs / REQUESTS).toFixed(3)} ms creating one file per sample (the earlier layout)\n`,
  );
  const big = new RolloutJournal(join(dir, 'journal-index'));
  const small = { ...entry(0), choices: entry(0).choices.slice(0, 1) };
  for (let i = 0; i < INDEXED; i++) big.append({ ...small, sample_id: `sample-${i.toString(36).padStart(6, '0')}-0123456789abcdef0123456789` });
  await big.close();
  const gc = runInNewContext('gc') as () => void;
  for (const sidecars of [true, false]) {
    if (!sidecars) await rm(join(dir, 'journal-index-index'), { recursive: true, force: true });
    gc();
    const heap = process.memoryUsage().heapUsed;
    const reader = new RolloutJournal(join(dir, 'journal-index'));
    since = process.cpuUsage();
    await reader.load('not-there');
    const ms = cpuMs(since);
    gc();
    process.stdout.write(
      `  lookup index of ${INDEXED} journalled requests ${sidecars ? 'from sidecars' : 'by scanning the segment (no sidecar)'}: ${Math.round(ms)} ms CPU, ${Math.round((process.memoryUsage().heapUsed - heap) / INDEXED)} bytes of heap per request\n`,
    );
    await reader.close();
  }
}

export async function benchDifficulty(): Promise<void> {
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-difficulty-'));
  const runs = [
    { label: 'verifying in-process, first run in the process', verifierThreads: 0 },
    { label: 'verifying in-process, second run (warm process)', verifierThreads: 0 },
    { label: '2 verifier threads (hard budget)', verifierThreads: 2 },
  ];
  const items = benchItems(SAMPLES * runs.length);
  const server = await startPolicyServerProcess(items.length);
  const url = `${server.baseUrl}/chat/completions`;
  const bareFetch = fetchClient(url);
  const bareHttp = httpClient(url);
  const f = (x: number) => x.toFixed(2);
  try {
    for (const [i, run] of runs.entries()) {
      const mine = items.slice(i * SAMPLES, (i + 1) * SAMPLES);
      await writeFile(join(dir, `qa-${i}.jsonl`), mine.map((it) => JSON.stringify({ q: question(it.id), a: it.answer })).join('\n') + '\n');
      const loaded = validateConfig(
        {
          shardsDir: join(dir, `shards-${i}`),
          datasets: {
            b: {
              sources: [{ name: 'qa', type: 'qa', path: join(dir, `qa-${i}.jsonl`), format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
              ingest: { unitRows: 500 },
              difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: N, concurrency: CONCURRENCY, maxTokens: 64, verifierThreads: run.verifierThreads },
            },
          },
        },
        join(dir, 'pipeline.config.ts'),
      );
      await runCommand(loaded, 'ingest', {});
      await runCommand(loaded, 'filter', {});
      // Measured right before the stage run, so all three see the same machine load.
      const ids = mine.map((it) => it.id);
      const fetchPeer = await bareClient(bareFetch, ids);
      const httpPeer = await bareClient(bareHttp, ids);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await runCommand(loaded, 'difficulty', {});
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const stageCpu = (used.user + used.system) / 1000 / SAMPLES;
      const verifyCpu = (await verificationCpuMs(loaded.shardsDir)) / SAMPLES;
      const rate = SAMPLES / seconds;
      const overhead = stageCpu - verifyCpu;
      process.stdout.write(
        `difficulty stage, ${run.label}: ${SAMPLES} samples × n=${N} in ${f(seconds)} s = ${Math.round(rate)} samples/s (${Math.round(rate * N)} verified rollouts/s)\n` +
          `  bare clients (c=${CONCURRENCY}, n=${N}, same server, same questions): http.request + keep-alive agent ${Math.round(httpPeer.rate)} requests/s, ${f(httpPeer.cpuMs)} ms CPU per request; fetch ${Math.round(fetchPeer.rate)} requests/s, ${f(fetchPeer.cpuMs)} ms CPU per request\n` +
          `  stage / bare client rate: ${f(rate / httpPeer.rate)}× http.request, ${f(rate / fetchPeer.rate)}× fetch\n` +
          `  CPU per request ${f(stageCpu)} ms, of which verifying its ${N} answers ${f(verifyCpu)} ms: stage overhead ${f(overhead)} ms (${f(overhead / httpPeer.cpuMs)}× the bare http.request client's CPU, ${f(overhead / fetchPeer.cpuMs)}× fetch's); peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`,
      );
      if (i === runs.length - 1) {
        const rescore = performance.now();
        const rescoreCpu = process.cpuUsage();
        await runCommand(loaded, 'difficulty', { force: true });
        const r = process.cpuUsage(rescoreCpu);
        process.stdout.write(`  rescoring from the journal: ${f((performance.now() - rescore) / 1000)} s, ${f((r.user + r.system) / 1000 / SAMPLES)} ms CPU per sample\n`);
      }
    }
    const startup = await poolStartup(2);
    process.stdout.write(`verifier pool start-up (2 threads, until every worker has loaded the verifier, then closed): ${Math.round(startup.cpuMs)} ms CPU, ${Math.round(startup.wallMs)} ms wall\n`);
    await benchJournal(dir);
  } finally {
    server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  benchAdaptive();
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDifficulty();
