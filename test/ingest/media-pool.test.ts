import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolStartError, ProcessPool, WorkerCrashedError, WorkerTaskError } from '../../pipelines/shared/pool/process-pool.js';
import type { PoolTestTask } from '../fixtures/caption/pool-worker.js';

const workerModule = new URL('../fixtures/caption/pool-worker.ts', import.meta.url);
const pools: Array<ProcessPool<PoolTestTask, unknown>> = [];
const makePool = (size = 2, extra: { maxQueue?: number; taskTimeoutMs?: number } = {}) => {
  const pool = new ProcessPool<PoolTestTask, unknown>({ name: 'test', workerModule, size, ...extra });
  pools.push(pool);
  return pool;
};
afterAll(() => {
  for (const p of pools.splice(0)) p.destroy();
});
// Worker start-up (node + tsx) dominates these tests, so they share two pools.
const shared = makePool(2);
const single = makePool(1, { maxQueue: 2, taskTimeoutMs: 500 });

describe('process pool', () => {
  it('runs tasks on forked workers (a .ts worker runs under tsx) and passes bytes both ways', async () => {
    const pool = shared;
    const bytes = new Uint8Array([1, 2, 3, 250]);
    expect(await pool.run({ op: 'echo', value: { bytes, n: 7 } })).toEqual({ bytes, n: 7 });
    const pids = new Set(await Promise.all(Array.from({ length: 4 }, () => pool.run({ op: 'sleep', ms: 100 }))));
    expect(pids.size).toBe(2);
    expect(pids.has(process.pid)).toBe(false);
  });

  it('reports each worker’s peak RSS', async () => {
    const stats = await shared.workerStats();
    expect(stats).toHaveLength(2);
    for (const s of stats) expect(s.maxRssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('reports a task that throws with its original error, and keeps the worker', async () => {
    const pool = single;
    const before = await pool.run({ op: 'pid' });
    const err = await pool.run({ op: 'throw' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerTaskError);
    expect((err as WorkerTaskError).remote).toMatchObject({ name: 'RangeError', message: 'bad task' });
    expect(await pool.run({ op: 'pid' })).toBe(before);
  });

  it('fails only the task whose worker crashed, with a clear error, and replaces the worker', async () => {
    const pool = single;
    const before = await pool.run({ op: 'pid' });
    const [crashed, after] = await Promise.allSettled([pool.run({ op: 'crash' }), pool.run({ op: 'echo', value: 'still here' })]);
    expect(crashed.status).toBe('rejected');
    const error = (crashed as PromiseRejectedResult).reason as Error;
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error.message).toMatch(/test pool worker \(pid \d+\) died with exit code 3 while running this task; the worker was replaced/);
    expect(after).toEqual({ status: 'fulfilled', value: 'still here' });
    expect(await pool.run({ op: 'pid' })).not.toBe(before);
  });

  it('kills a task that runs past its timeout', async () => {
    const pool = single;
    await expect(pool.run({ op: 'sleep', ms: 10_000 })).rejects.toThrow(/ran longer than 500 ms/);
    expect(await pool.run({ op: 'echo', value: 1 })).toBe(1);
  });

  it('bounds the queue: run() waits for room instead of growing without limit', async () => {
    const pool = single;
    let accepted = 0;
    const runs = Array.from({ length: 6 }, () =>
      (async () => {
        const p = pool.run({ op: 'sleep', ms: 30 });
        accepted++;
        return p;
      })(),
    );
    await new Promise((r) => setTimeout(r, 5));
    expect(accepted).toBe(6); // run() called six times ...
    expect((pool as unknown as { queue: unknown[] }).queue.length).toBeLessThanOrEqual(2); // ... but at most two wait in the queue
    await Promise.all(runs);
  });

  it('gives up with PoolStartError when workers die before they are ready', async () => {
    const pool = new ProcessPool<PoolTestTask, unknown>({ name: 'broken', workerModule: new URL('../fixtures/caption/broken-worker.ts', import.meta.url), size: 1, startAttempts: 2 });
    pools.push(pool);
    const err = await pool.run({ op: 'pid' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolStartError);
    expect((err as Error).message).toMatch(/cannot load/);
  });

  it('close() finishes queued work; an idle pool never keeps its process alive', async () => {
    const pool = makePool(1);
    const running = Array.from({ length: 5 }, (_, i) => pool.run({ op: 'echo', value: i }));
    await pool.close();
    expect(await Promise.all(running)).toEqual([0, 1, 2, 3, 4]);
    await expect(pool.run({ op: 'pid' })).rejects.toThrow(/closed/);

    const child = spawn(process.execPath, ['--import', 'tsx', new URL('../fixtures/caption/pool-exit-child.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the process did not exit by itself'));
      }, 15_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(out).toContain('done [1,2,3]');
  });

});
