import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { type LoadedConfig } from '../../pipelines/shared/config/load.js';
import { validateConfig } from '../../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { UnitsFailedError } from '../../pipelines/shared/runner/failures.js';
import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { QUEUE_PREFIX, stageQueueName } from '../../pipelines/shared/runner/queue.js';
import { NO_REDIS_MESSAGE, REDIS_BINARY, startRedis, startWorker, type RedisServer, type WorkerProcess } from '../support/redis.js';
import { createWorkspace, queryShards, runCli, type Workspace } from '../support/workspace.js';

if (!REDIS_BINARY) process.stderr.write(`${NO_REDIS_MESSAGE}\n`);

const FILES = 3;
const ROWS = 24;
const WORKER_TIMING = ['--lock-ms', '3000', '--stalled-check-ms', '1500'];
const STEPS = ['ingest', 'filter/_map', 'filter'];

/** Rows with some questions repeated across files, so the filter's dedup has work to do. */
function qaRows(file: number, extraTag = ''): string {
  return (
    Array.from({ length: ROWS }, (_, i) => {
      const q = i % 5 === 0 ? `shared question ${i}: what is ${i} plus ${i}?` : `file ${file}${extraTag} question ${i}: what is ${i} times ${file + 2}?`;
      return JSON.stringify({ id: `f${file}${extraTag}-${i}`, question: q, answer: String(i) });
    }).join('\n') + '\n'
  );
}

function datasetConfig(shardsDir: string, files: string[]): PipelineConfigInput {
  return {
    shardsDir,
    datasets: {
      d: {
        sources: files.map((f, i) => ({ name: `s${i}`, type: 'qa' as const, path: f, format: 'jsonl' as const, fields: { id: 'id', question: 'question', answer: 'answer' } })),
        ingest: { unitRows: 6 },
      },
    },
  };
}

/** A config file of its own (workers load it by path), sharing the workspace's input files. */
async function configAt(ws: Workspace, name: string, files: string[]): Promise<LoadedConfig> {
  const config = datasetConfig(`shards-${name}`, files);
  const file = await ws.write(`${name}.config.ts`, `export default ${JSON.stringify(config, null, 2)};\n`);
  return validateConfig(config, file);
}

/** Per step: unit id → output hash of the committed unit. */
async function outputHashes(loaded: LoadedConfig): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const step of STEPS) {
    const m = await readManifest(join(loaded.shardsDir, 'd', step, '_manifest.jsonl'), step);
    out[step] = Object.fromEntries(Object.entries(m.units).map(([id, r]) => [id, r.outputHash]));
  }
  return out;
}

async function ledger(loaded: LoadedConfig): Promise<unknown[]> {
  return queryShards(loaded, `SELECT stage, sample_id, decision, reason FROM ledger ORDER BY ALL`);
}

/** Commit lines per unit id in a step's manifest log: exactly-once commits leave one each. */
async function commitLines(loaded: LoadedConfig, step: string): Promise<Map<string, number>> {
  const text = await readFile(join(loaded.shardsDir, 'd', step, '_manifest.jsonl'), 'utf8');
  const counts = new Map<string, number>();
  for (const line of text.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { op: string; id: string };
    if (entry.op === 'commit') counts.set(entry.id, (counts.get(entry.id) ?? 0) + 1);
  }
  return counts;
}

describe.skipIf(!REDIS_BINARY)('distributed runs on BullMQ with a real redis-server and worker processes', () => {
  let ws: Workspace;
  let redis: RedisServer;
  let files: string[];
  let reference: { hashes: Record<string, Record<string, string>>; ledger: unknown[] };
  const workers: WorkerProcess[] = [];
  const worker = (args: string[] = [], env: Record<string, string> = {}): WorkerProcess => {
    const w = startWorker(redis.url, [...WORKER_TIMING, ...args], env);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    ws = await createWorkspace();
    files = [];
    for (let f = 0; f < FILES; f++) files.push(await ws.write(`qa/part-${f}.jsonl`, qaRows(f)));
    redis = await startRedis();
    const local = await configAt(ws, 'local', files);
    await runCommand(local, 'ingest', {});
    await runCommand(local, 'filter', {});
    reference = { hashes: await outputHashes(local), ledger: await ledger(local) };
    expect(Object.keys(reference.hashes.ingest ?? {})).toHaveLength((FILES * ROWS) / 6);
  }, 240_000);

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await redis?.stop();
    await ws?.cleanup();
  });

  it('two worker processes produce the shards and ledgers of an in-process run', async () => {
    const loaded = await configAt(ws, 'two', files);
    const a = worker();
    const b = worker();
    await Promise.all([a.ready, b.ready]);
    await runCommand(loaded, 'ingest', { queue: redis.url });
    await runCommand(loaded, 'filter', { queue: redis.url });
    expect(await outputHashes(loaded)).toEqual(reference.hashes);
    expect(await ledger(loaded)).toEqual(reference.ledger);
    for (const step of STEPS) for (const [id, n] of await commitLines(loaded, step)) expect(n, `${step} ${id}`).toBe(1);
    // Both workers took units (each prints nothing per unit; their metrics count them).
    await Promise.all([a.stop(), b.stop()]);
  }, 240_000);

  it('a worker killed with SIGKILL mid-unit: the unit finishes on another worker after the stall check, committed once', async () => {
    const loaded = await configAt(ws, 'kill', files);
    const doomed = worker([], { STRATUM_FAULT: 'unit-executed:1' });
    await doomed.ready;
    const run = runCommand(loaded, 'ingest', { queue: redis.url });
    const death = await doomed.exited;
    expect(death.signal).toBe('SIGKILL');
    const survivor = worker();
    await survivor.ready;
    await run;
    expect((await outputHashes(loaded)).ingest).toEqual(reference.hashes.ingest);
    const lines = await commitLines(loaded, 'ingest');
    expect([...lines.values()].every((n) => n === 1)).toBe(true);
    expect(lines.size).toBe((FILES * ROWS) / 6);
    const rows = await queryShards(loaded, `SELECT count(*)::INT AS n, count(DISTINCT sample_id)::INT AS ids FROM ledger`);
    expect(rows[0]).toEqual({ n: FILES * ROWS, ids: FILES * ROWS });
    // The killed delivery's temp folder is gone with the run.
    await expect(readFile(join(loaded.shardsDir, 'd', 'ingest', '_tmp'))).rejects.toThrow();
    await survivor.stop();
  }, 240_000);

  it('a poisoned unit fails after its attempts, the others commit, and status shows the error', async () => {
    const poison = await ws.write('qa/vanishing.jsonl', qaRows(9, 'v'));
    const loaded = await configAt(ws, 'poison', [...files, poison]);
    const run = runCommand(loaded, 'ingest', { queue: redis.url, attempts: 2 });
    const settled = run.then(
      () => null,
      (err: unknown) => err,
    );
    // Planned and enqueued with the file present; it vanishes before any worker reads it.
    const client = new Redis(redis.port, '127.0.0.1');
    while ((await client.llen(`${QUEUE_PREFIX}:${stageQueueName('ingest')}:wait`)) < ((FILES + 1) * ROWS) / 6) await sleep(100);
    client.disconnect();
    await rm(poison);
    const w = worker();
    const err = await settled;
    expect(err).toBeInstanceOf(UnitsFailedError);
    const failures = (err as UnitsFailedError).failures;
    expect(failures).toHaveLength(ROWS / 6);
    for (const f of failures) {
      expect(f.unit).toContain('vanishing.jsonl');
      expect(f.attempts).toBe(2);
      expect(f.error).toMatch(/ENOENT/);
    }
    expect(Object.keys((await outputHashes(loaded)).ingest ?? {}).sort()).toEqual(Object.keys(reference.hashes.ingest ?? {}).sort());
    const status = await runCli(['status', '--config', loaded.file]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('failed units');
    expect(status.stdout).toMatch(/vanishing\.jsonl[^\n]*ENOENT/);
    await w.stop();
  }, 240_000);

  // On a loaded machine this used to hang in the worker's shutdown: BullMQ parked blocking clients in
  // ioredis' `reconnecting` state for good (see watchParkedClients); test/ops/parked-client.test.ts pins that down.
  it('a Redis restart mid-run: the run completes with every unit committed once', async () => {
    const loaded = await configAt(ws, 'restart', files);
    const w = worker(['--concurrency', '1']);
    await w.ready;
    const run = runCommand(loaded, 'ingest', { queue: redis.url });
    // Restart once the first units are committed and others are still queued.
    const manifest = join(loaded.shardsDir, 'd', 'ingest', '_manifest.jsonl');
    for (;;) {
      const text = await readFile(manifest, 'utf8').catch(() => '');
      if (text.split('\n').filter(Boolean).length >= 2) break;
      await sleep(50);
    }
    await redis.restart(1000);
    await run;
    // The filter's queues sat idle through the restart: their workers must still take units.
    await runCommand(loaded, 'filter', { queue: redis.url });
    expect(await outputHashes(loaded)).toEqual(reference.hashes);
    for (const step of STEPS) for (const [id, n] of await commitLines(loaded, step)) expect(n, `${step} ${id}`).toBe(1);
    await w.stop();
  }, 240_000);
});

describe.skipIf(!REDIS_BINARY)('schedules through BullMQ job schedulers', () => {
  it('schedule add → a worker with --runs runs it; list shows it and its last run; remove stops it', async () => {
    const ws = await createWorkspace();
    const redis = await startRedis();
    const w = startWorker(redis.url, ['--runs', '--stages', 'ingest']);
    try {
      await ws.write('qa/part-0.jsonl', qaRows(0));
      const loaded = await configAt(ws, 'sched', [ws.path('qa/part-0.jsonl')]);
      const bad = await runCli(['schedule', 'add', 'nightly', '--queue', redis.url, '--config', loaded.file, '--stage', 'ingest']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--cron');
      const cron = await runCli(['schedule', 'add', 'nightly', '--queue', redis.url, '--config', loaded.file, '--cron', '0 2 * * *', '--tz', 'UTC', '--stage', 'ingest']);
      expect(cron.code, cron.stderr).toBe(0);
      expect(cron.stdout).toMatch(/next run \d{4}-\d\d-\d\dT02:00:00/);
      const every = await runCli(['schedule', 'add', 'often', '--queue', redis.url, '--config', loaded.file, '--every', '1000', '--stage', 'ingest', '--dataset', 'd']);
      expect(every.code, every.stderr).toBe(0);
      await w.ready;
      const manifest = join(loaded.shardsDir, 'd', 'ingest', '_manifest.jsonl');
      for (let i = 0; ; i++) {
        const text = await readFile(manifest, 'utf8').catch(() => '');
        if (text.split('\n').filter(Boolean).length === ROWS / 6) break;
        if (i > 1200) throw new Error(`the schedule did not fire:\n${w.output()}`);
        await sleep(100);
      }
      let listed = await runCli(['schedule', 'list', '--queue', redis.url]);
      for (let i = 0; !listed.stdout.includes('completed') && i < 60; i++) {
        await sleep(500);
        listed = await runCli(['schedule', 'list', '--queue', redis.url]);
      }
      expect(listed.stdout).toMatch(/nightly[\s│]+0 2 \* \* \*/);
      expect(listed.stdout).toMatch(/often[\s│]+every 1000 ms/);
      expect(listed.stdout).toMatch(/completed[\s│]+ingest: \d+ processed/);
      expect((await runCli(['schedule', 'remove', 'often', '--queue', redis.url])).code).toBe(0);
      expect((await runCli(['schedule', 'remove', 'often', '--queue', redis.url])).code).toBe(2);
      const after = await runCli(['schedule', 'list', '--queue', redis.url]);
      expect(after.stdout).not.toContain('often');
      expect(after.stdout).toContain('nightly');
    } finally {
      await w.stop();
      await redis.stop();
      await ws.cleanup();
    }
  }, 240_000);
});
