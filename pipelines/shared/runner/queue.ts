import { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { stableHash } from '../hash.js';
import type { DatasetConfig } from '../config/schema.js';
import type { UnitJob } from './unit-work.js';

/** BullMQ key prefix: every queue, job and scheduler of Stratum lives under `stratum:`. */
export const QUEUE_PREFIX = 'stratum';

/** One BullMQ queue per stage: a worker subscribes to the stages it can run (CPU-only hosts skip GPU stages). */
export function stageQueueName(stage: string): string {
  return `units-${stage}`;
}

/** What a queued unit carries: enough for any worker that sees the same shared storage to run it. */
export interface QueuedUnit {
  runId: string;
  /** Absolute path of the config file: workers load the same file (shared filesystem). */
  configFile: string;
  dataset: string;
  stage: string;
  /** Hash of the dataset's config as the coordinator loaded it: a worker with another version refuses the job. */
  datasetConfigHash: string;
  job: UnitJob;
}

export function datasetConfigHash(config: DatasetConfig): string {
  return stableHash(config);
}

/** A Redis connection from a `redis://[:password@]host:port[/db]` URL, as BullMQ needs it (no per-request retry limit). */
export function redisConnection(url: string): Redis {
  if (!/^rediss?:\/\//.test(url)) throw new UserError(`--queue expects a redis:// URL, got "${url}"`);
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  // While Redis is down ioredis reconnects by itself; one line per outage instead of an unhandled-error trace per attempt.
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ url, err: err.message }, 'Redis unreachable; reconnecting');
    down = true;
  });
  redis.on('ready', () => (down = false));
  return redis;
}
