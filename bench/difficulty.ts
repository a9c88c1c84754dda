/**
 * The difficulty stage end to end against a loopback policy server (own process, answers at once):
 * requests, journal, verification, shard writes. In the same run, right before each stage run, three
 * bare clients ask the same server the same questions (same prompt, n, max_tokens, concurrency; the
 * server's answer depends only on the question and n, so the response bodies are the same size):
 *
 *   - `fetch`: POST, parse the JSON body, count the choices;
 *   - `http.request` on a keep-alive agent (the stage's transport): the same, nothing else;
 *   - `http.request` + verify: the same, then verifies the n answers in-process as one batch, the
 *     least any difficulty client has to do with a response.
 *
 * The stage does more than the last one: it journals every response (write(2) before anything else),
 * retries, rates adaptively, and writes sample, rollout and ledger rows to Parquet with a manifest
 * (fixed costs per run included in its rate). Printed per stage run: samples/s and its ratio to each
 * bare client; CPU per request (process.cpuUsage: all threads), the part of it that is verification
 * (the same answers verified again in-process, a sample's answers in one batch as the stage does) and
 * the rest, the stage's own overhead (HTTP client, JSON, journal, verification dispatch, row building,
 * shard writes), beside the bare clients' CPU per request. The first run in the process pays module
 * loading and JIT warm-up; the second (fresh samples) shows the steady state; the third verifies on
 * 2 worker threads, whose start-up is measured on its own first and printed apart. Then rescoring from
 * the journal, the journal alone, and adaptive sampling against fixed n on known rates.
 *
 *   pnpm bench difficulty                                        (2,000 samples per run)
 *   STRATUM_BENCH_DIFFICULTY_SAMPLES=10000 pnpm bench difficulty
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runCommand } from '../pipelines/cli/run.js';
import { journalEntry, RolloutJournal, type JournalEntry } from '../pipelines/difficulty/journal.js';
import { prepareMessages, RolloutClient, type ChatMessage } from '../pipelines/difficulty/rollout-client.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';
import { clearParseCache } from '../pipelines/verify/cas.js';
import { verifyBatch, type VerifyRequest } from '../pipelines/verify/index.js';
import { FAKE_MODEL } from '../test/support/openai-server.js';
import { benchAdaptive } from './_adaptive.js';
import { benchDifficultyDataset, benchItems, benchQuestion, startPolicyServerProcess } from './_policy-server.js';

const SAMPLES = Number(process.env.STRATUM_BENCH_DIFFICULTY_SAMPLES ?? 2000);
const N = 8;
const CONCURRENCY = 64;


/**
 * CPU ms (all threads) of verifying every stored rollout in-process, a sample's rollouts in one
 * batch as the stage verifies them, with the CAS parse cache emptied first (the stage met these
 * answers cold): the part of the stage's CPU that is verification.
 */
async function verificationCpuMs(shardsDir: string): Promise<number> {
  const conn = await connect();
  await createShardViews(conn, shardsDir, ['b']);
  const rows = (await conn.runAndReadAll(`SELECT r.sample_id, r.response, s.task.answer AS answer FROM rollouts r JOIN samples s ON s.id = r.sample_id ORDER BY r.sample_id, r.request_id, r.choice_index`)).getRowObjectsJson() as { sample_id: string; response: string; answer: string }[];
  const groups = new Map<string, VerifyRequest[]>();
  for (const r of rows) {
    let group = groups.get(r.sample_id);
    if (!group) groups.set(r.sample_id, (group = []));
    group.push({ domain: 'math', response: r.response, groundTruth: r.answer, format: 'glm' });
  }
  clearParseCache();
  const cpu = process.cpuUsage();
  for (const group of groups.values()) await verifyBatch(group);
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

function httpClient(url: string, verifyAnswers = false): Ask {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const { hostname, port, pathname } = new URL(url);
  return (body) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ hostname, port, path: pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { choices: { message: { content: string } }[] };
          if (json.choices.length !== N) return reject(new Error('short answer'));
          if (!verifyAnswers) return resolve();
          const answer = answerOf(body);
          verifyBatch(json.choices.map((c) => ({ domain: 'math', response: c.message.content, groundTruth: answer, format: 'glm' }))).then(() => resolve(), reject);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}

/** The stage's HTTP client on its own, and with the journal append the stage makes per response: where the stage's per-request CPU goes before verification and rows. */
function rolloutClient(baseUrl: string, journal: RolloutJournal | null): { ask: Ask; close: () => void } {
  const client = new RolloutClient({ endpoint: { name: 'fake', baseUrl, model: FAKE_MODEL }, concurrency: CONCURRENCY, maxRetries: 2, timeoutMs: 60_000, backoff: { baseMs: 100, maxMs: 1_000 } });
  const params = { n: N, temperature: 1, topP: 1, maxTokens: 64 };
  return {
    ask: async (body) => {
      const { messages } = JSON.parse(body) as { messages: ChatMessage[] };
      const result = await client.complete(prepareMessages(messages), params);
      if (result.choices.length !== N) throw new Error('short answer');
      journal?.append(journalEntry({ sample_id: randomUUID(), endpoint: 'fake', params_hash: '0123456789abcdef', prompt_hash: 'fedcba9876543210' }, 0, result));
    },
    close: () => client.close(),
  };
}

/** The ground truth of the bench item a request body asks about. */
const answers = new Map<string, string>();
function answerOf(body: string): string {
  const id = /\[\[item:([^\]]+)\]\]/.exec(body)?.[1];
  const answer = id === undefined ? undefined : answers.get(id);
  if (answer === undefined) throw new Error(`no answer for ${id}`);
  return answer;
}

/** Requests/s of a bare client asking the same questions with the same n and concurrency, and its CPU ms per request. */
async function bareClient(ask: Ask, ids: string[]): Promise<{ rate: number; cpuMs: number }> {
  const body = (id: string) => JSON.stringify({ model: FAKE_MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: benchQuestion(id) }] }], n: N, temperature: 1, top_p: 1, max_tokens: 64 });
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
  for (const it of items) answers.set(it.id, it.answer);
  const server = await startPolicyServerProcess(items.length);
  const url = `${server.baseUrl}/chat/completions`;
  const bareFetch = fetchClient(url);
  const bareHttp = httpClient(url);
  const bareVerify = httpClient(url, true);
  const clientOnly = rolloutClient(server.baseUrl, null);
  const peerJournal = new RolloutJournal(join(dir, 'peer-journal'));
  const clientJournal = rolloutClient(server.baseUrl, peerJournal);
  const f = (x: number) => x.toFixed(2);
  let startup: { cpuMs: number; wallMs: number } | null = null;
  try {
    for (const [i, run] of runs.entries()) {
      const mine = items.slice(i * SAMPLES, (i + 1) * SAMPLES);
      const loaded = await benchDifficultyDataset(dir, i, mine, server.baseUrl, { n: N, concurrency: CONCURRENCY, verifierThreads: run.verifierThreads });
      if (run.verifierThreads > 0) {
        startup = await poolStartup(run.verifierThreads);
        process.stdout.write(`verifier pool start-up (${run.verifierThreads} threads, until every worker has loaded the verifier, then closed): ${Math.round(startup.cpuMs)} ms CPU, ${Math.round(startup.wallMs)} ms wall\n`);
      }
      // Measured right before and after the stage run, so all see about the same machine load. The
      // verifying peer runs after the stage, so it does not warm the verifier up for the first run.
      const ids = mine.map((it) => it.id);
      const fetchPeer = await bareClient(bareFetch, ids);
      const httpPeer = await bareClient(bareHttp, ids);
      const cpu = process.cpuUsage();
      const started = performance.now();
      await runCommand(loaded, 'difficulty', {});
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const verifyPeer = await bareClient(bareVerify, ids);
      const clientPeer = await bareClient(clientOnly.ask, ids);
      const journalPeer = await bareClient(clientJournal.ask, ids);
      const stageCpu = (used.user + used.system) / 1000 / SAMPLES;
      const verifyCpu = (await verificationCpuMs(loaded.shardsDir)) / SAMPLES;
      const rate = SAMPLES / seconds;
      const overhead = stageCpu - verifyCpu;
      const poolShare = run.verifierThreads > 0 && startup ? startup.cpuMs / SAMPLES : 0;
      process.stdout.write(
        `difficulty stage, ${run.label}: ${SAMPLES} samples × n=${N} in ${f(seconds)} s = ${Math.round(rate)} samples/s (${Math.round(rate * N)} verified rollouts/s)\n` +
          `  bare clients (c=${CONCURRENCY}, n=${N}, same server, same questions): http.request + keep-alive agent ${Math.round(httpPeer.rate)} requests/s, ${f(httpPeer.cpuMs)} ms CPU per request; ` +
          `the same + verifying the ${N} answers ${Math.round(verifyPeer.rate)} requests/s, ${f(verifyPeer.cpuMs)} ms; fetch ${Math.round(fetchPeer.rate)} requests/s, ${f(fetchPeer.cpuMs)} ms\n` +
          `  the stage's client alone ${f(clientPeer.cpuMs)} ms CPU per request, with the journal append ${f(journalPeer.cpuMs)} ms (bodies parsed by the bench: a few µs)\n` +
          `  stage / bare client rate: ${f(rate / httpPeer.rate)}× http.request, ${f(rate / verifyPeer.rate)}× http.request + verify, ${f(rate / fetchPeer.rate)}× fetch\n` +
          `  CPU per request ${f(stageCpu)} ms, of which verifying its ${N} answers ${f(verifyCpu)} ms: stage overhead ${f(overhead)} ms` +
          (poolShare > 0 ? `, ${f(overhead - poolShare)} ms without the pool's start-up (${f(poolShare)} ms per request of this run)` : '') +
          ` (bare http.request ${f(httpPeer.cpuMs)} ms, fetch ${f(fetchPeer.cpuMs)} ms); peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`,
      );
      if (i === runs.length - 1) {
        const rescore = performance.now();
        const rescoreCpu = process.cpuUsage();
        await runCommand(loaded, 'difficulty', { force: true });
        const r = process.cpuUsage(rescoreCpu);
        process.stdout.write(`  rescoring from the journal: ${f((performance.now() - rescore) / 1000)} s, ${f((r.user + r.system) / 1000 / SAMPLES)} ms CPU per sample\n`);
      }
    }
    await benchJournal(dir);
  } finally {
    clientOnly.close();
    clientJournal.close();
    await peerJournal.close();
    server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  benchAdaptive();
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDifficulty();
