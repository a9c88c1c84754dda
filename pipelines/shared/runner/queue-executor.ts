import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { log } from '../log.js';
import type { ExecuteOptions, Executor } from './executor.js';
import { UnitsFailedError, type UnitFailure } from './failures.js';
import { datasetConfigHash, QUEUE_PREFIX, redisConnection, stageQueueName, type QueuedUnit } from './queue.js';
import type { AnyStage, StageContext } from './stage.js';
import { unitKey, type UnitJob, type UnitResult } from './unit-work.js';

export interface QueueExecutorOptions {
  /** `redis://host:port[/db]` */
  url: string;
  /** Deliveries per unit before it counts as failed (a poisoned unit stops here). */
  attempts?: number;
  /** How often the coordinator looks at the state of the jobs it is waiting for. */
  pollMs?: number;
}

/**
 * Runs unit jobs on BullMQ workers (`pnpm pipeline worker --queue …`), possibly on other machines.
 * Delivery is at least once (a worker that dies mid-unit loses its lock; BullMQ's stall check gives
 * the job to another worker); every delivery writes into its own temp folder on the shared storage,
 * and only this coordinator commits, once per unit, from the result of the delivery BullMQ
 * completed. A unit that fails all its attempts is reported after every other unit settled.
 */
export class QueueExecutor implements Executor {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly options: QueueExecutorOptions) {
    this.connection = redisConnection(options.url);
  }

  private queue(stage: string): Queue {
    let queue = this.queues.get(stage);
    if (!queue) {
      queue = new Queue(stageQueueName(stage), { connection: this.connection, prefix: QUEUE_PREFIX });
      queue.on('error', () => {}); // connection errors are logged once by the connection, and calls retry
      this.queues.set(stage, queue);
    }
    return queue;
  }

  async run(stage: AnyStage, ctx: StageContext, jobs: UnitJob[], opts: ExecuteOptions): Promise<void> {
    if (jobs.length === 0) return;
    const queue = this.queue(stage.name);
    const runId = randomUUID();
    const hash = datasetConfigHash(ctx.config);
    const byId = new Map<string, UnitJob>();
    const bulk = jobs.map((job) => {
      const id = `${ctx.dataset}.${job.phase}.${unitKey(job.unit.id)}.${runId}`;
      byId.set(id, job);
      const data: QueuedUnit = { runId, configFile: ctx.loaded.file, dataset: ctx.dataset, stage: stage.name, datasetConfigHash: hash, job };
      return {
        name: job.phase,
        data,
        opts: {
          jobId: id,
          attempts: this.options.attempts ?? 3,
          backoff: { type: 'exponential', delay: 1000 },
          // Results are read and the job removed by this coordinator; these only bound what a killed coordinator leaves.
          removeOnComplete: { age: 7 * 24 * 3600 },
          removeOnFail: { age: 30 * 24 * 3600 },
        },
      };
    });
    for (let i = 0; i < bulk.length; i += 1000) await retrying(() => queue.addBulk(bulk.slice(i, i + 1000)), ctx.signal);
    log.info({ stage: stage.name, dataset: ctx.dataset, jobs: jobs.length, runId }, 'units enqueued');

    const outstanding = new Set(byId.keys());
    const failures: UnitFailure[] = [];
    let commitError: unknown = null;
    let withdrawn = false;
    while (outstanding.size > 0) {
      if (ctx.signal.aborted && !withdrawn) {
        // Stop: units not started are withdrawn; those in flight still finish and commit.
        withdrawn = true;
        for (const id of outstanding) {
          const job = await retrying(() => Job.fromId(queue, id), ctx.signal, true);
          if (job && (await retrying(() => job.getState(), ctx.signal, true)) === 'waiting') {
            await job.remove().then(() => outstanding.delete(id), () => {});
          }
        }
      }
      let progressed = false;
      // One round trip per batch of jobs, not per job.
      const ids = [...outstanding];
      const fetched: Array<Job<QueuedUnit, UnitResult> | undefined> = [];
      for (let i = 0; i < ids.length; i += 200) {
        fetched.push(...(await retrying(() => Promise.all(ids.slice(i, i + 200).map((id) => Job.fromId<QueuedUnit, UnitResult>(queue, id))), ctx.signal, true)));
      }
      for (const [index, id] of ids.entries()) {
        const job = fetched[index];
        if (!job) {
          outstanding.delete(id);
          failures.push(failure(byId.get(id) as UnitJob, 'the job vanished from the queue (Redis lost its data?)', 0));
          continue;
        }
        if (job.finishedOn === undefined) continue;
        const unitJob = byId.get(id) as UnitJob;
        if (job.returnvalue && !job.failedReason) {
          try {
            await opts.commit(unitJob, job.returnvalue);
            opts.onItem(job.returnvalue.counts.in);
          } catch (err) {
            commitError ??= err;
          }
        } else if (job.failedReason) {
          failures.push(failure(unitJob, job.failedReason, job.attemptsMade));
        } else continue; // finished but its return value not yet visible: look again next round.
        outstanding.delete(id);
        progressed = true;
        await job.remove().catch(() => {});
      }
      if (commitError) break;
      if (!progressed && outstanding.size > 0) await sleep(this.options.pollMs ?? 200);
    }
    if (commitError) throw commitError;
    if (failures.length) throw new UnitsFailedError(stage.name, failures);
  }

  async close(): Promise<void> {
    for (const queue of this.queues.values()) await queue.close();
    this.connection.disconnect();
  }
}

function failure(job: UnitJob, error: string, attempts: number): UnitFailure {
  return { unit: job.unit.id, label: job.unit.label, error, attempts, failedAt: new Date().toISOString() };
}

/**
 * Retries a Redis call while the server is unreachable (restart, failover): ioredis reconnects on its
 * own, the run waits instead of failing. Gives up only when the run is stopped and `lenient` allows.
 */
async function retrying<T>(call: () => Promise<T>, signal: AbortSignal, lenient = false): Promise<T> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await call();
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      if (signal.aborted && !lenient) throw err;
      log.warn({ err: (err as Error).message }, 'Redis unreachable; retrying');
      await sleep(delay);
    }
  }
}

function isConnectionError(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /ECONNREFUSED|ECONNRESET|Connection is closed|EPIPE|LOADING|ETIMEDOUT|connect/i.test(msg);
}
