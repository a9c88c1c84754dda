import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { QUEUE_PREFIX, redisConnection, watchParkedClients } from './queue.js';

/** The queue BullMQ's job schedulers put scheduled runs on; `pipeline worker --runs` executes them. */
export const RUNS_QUEUE = 'runs';

/** What a scheduled run does: `pipeline run <stage> [--dataset d] --config <file> [--queue <url>]`. */
export interface ScheduledRun {
  configFile: string;
  stage: string;
  dataset?: string;
  /** Hand the run's units to queue workers (through the same Redis) instead of running them in the worker that starts the run. */
  distributed: boolean;
}

export interface ScheduleInfo {
  id: string;
  cron: string | null;
  everyMs: number | null;
  tz: string | null;
  next: string | null;
  run: ScheduledRun | null;
}

/** Adds or replaces schedule `id`: BullMQ's job scheduler puts one run job on the runs queue per tick. */
export async function addSchedule(url: string, id: string, when: { cron?: string; everyMs?: number; tz?: string }, run: ScheduledRun): Promise<ScheduleInfo> {
  if (!when.cron === !when.everyMs) throw new UserError('give exactly one of --cron "<expr>" and --every <ms>');
  return withQueue(url, async (queue) => {
    await queue.upsertJobScheduler(id, when.cron ? { pattern: when.cron, tz: when.tz } : { every: when.everyMs as number }, {
      name: 'run',
      data: run,
      opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    });
    const info = (await list(queue)).find((s) => s.id === id);
    if (!info) throw new Error(`schedule ${id} was not stored`);
    return info;
  });
}

export function listSchedules(url: string): Promise<ScheduleInfo[]> {
  return withQueue(url, list);
}

export async function removeSchedule(url: string, id: string): Promise<boolean> {
  return withQueue(url, (queue) => queue.removeJobScheduler(id));
}

/** The last finished runs (newest first), for `schedule list`. */
export async function recentRuns(url: string, n = 10): Promise<Array<{ schedule: string | null; state: string; finishedAt: string | null; error: string | null; output: string | null }>> {
  return withQueue(url, async (queue) => {
    const jobs = (await queue.getJobs(['completed', 'failed'], 0, 200)) as Job<ScheduledRun, string>[];
    return jobs
      .filter((j) => j.finishedOn)
      .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))
      .slice(0, n)
      .map((j) => ({
        schedule: j.repeatJobKey ?? null,
        state: j.failedReason ? 'failed' : 'completed',
        finishedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
        error: j.failedReason || null,
        output: typeof j.returnvalue === 'string' ? j.returnvalue : null,
      }));
  });
}

async function list(queue: Queue): Promise<ScheduleInfo[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  return schedulers.map((s) => ({
    id: s.id ?? s.key,
    cron: s.pattern ?? null,
    everyMs: s.every ?? null,
    tz: s.tz ?? null,
    next: s.next ? new Date(s.next).toISOString() : null,
    run: (s.template?.data as ScheduledRun | undefined) ?? null,
  }));
}

async function withQueue<T>(url: string, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = redisConnection(url);
  const queue = new Queue(RUNS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  queue.on('error', () => {});
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/**
 * Executes scheduled runs, one at a time per worker. Two runs of the same dataset and stage never
 * overlap: the second is refused by the stage lock and recorded as failed with that reason.
 */
export function runsWorker(url: string, execute: (run: ScheduledRun) => Promise<string>): { worker: Worker; connection: Redis } {
  const connection = redisConnection(url);
  watchParkedClients(connection); // its timer is unref'd: it ends with the process
  const worker = new Worker<ScheduledRun, string>(
    RUNS_QUEUE,
    async (job) => {
      log.info({ schedule: job.repeatJobKey, run: job.data }, 'scheduled run starting');
      return execute(job.data);
    },
    { connection, prefix: QUEUE_PREFIX, concurrency: 1, lockDuration: 60_000 },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'runs worker error'));
  worker.on('failed', (job, err) => log.warn({ schedule: job?.repeatJobKey, err: err.message }, 'scheduled run failed'));
  return { worker, connection };
}
