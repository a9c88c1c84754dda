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

/** The ioredis fields the watcher reads and completes (not in its typings: private there). */
interface IoRedisInternals {
  status: string;
  reconnectTimeout: NodeJS.Timeout | null;
  manuallyClosing: boolean;
  setStatus(status: string): void;
  flushQueue(error: Error): void;
}

export interface ParkedClientWatcher {
  /** Looks once: completes what ioredis left half-done on every client stuck in `reconnecting`. Returns how many it freed. */
  check(): number;
  stop(): void;
}

/**
 * Watches the connections BullMQ duplicates from `connection` (each worker's blocking connection)
 * for an ioredis client parked in `reconnecting`: no socket and no retry timer, so it never
 * reconnects and never emits `end` (bullmq #4585 / #4656). It happens when BullMQ disconnects a
 * blocking client while ioredis waits to retry, e.g. a Redis restart seen late on a loaded machine:
 * ioredis clears its retry timer, has no socket to close, and stops there. The worker then fetches
 * no new job from that queue, and `Worker.close()` waits for an `end` that never comes.
 *
 * The watcher completes the transition ioredis skipped. A client closed on purpose
 * (`manuallyClosing`) gets its `end`, as ioredis' close handler would have emitted it; BullMQ then
 * reconnects it if it still needs it. A client that was not closed on purpose is reconnected. A
 * client is freed only when it is seen parked on two checks in a row (it never passes through that
 * state otherwise: ioredis arms the retry timer in the same tick it enters `reconnecting`).
 */
export function watchParkedClients(connection: Redis, intervalMs = 1000): ParkedClientWatcher {
  const clients = new Set<Redis>();
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = ((...args: Parameters<Redis['duplicate']>) => {
    const client = duplicate(...args);
    clients.add(client);
    client.once('end', () => {
      // BullMQ may reconnect an ended client; it stays watched until it ends without reconnecting.
      setTimeout(() => {
        if (client.status === 'end') clients.delete(client);
      }, 60_000).unref();
    });
    return client;
  }) as Redis['duplicate'];
  const seen = new Set<Redis>();
  const check = (): number => {
    let freed = 0;
    for (const client of clients) {
      const c = client as unknown as IoRedisInternals;
      const parked = c.status === 'reconnecting' && !c.reconnectTimeout;
      if (!parked) {
        seen.delete(client);
        continue;
      }
      if (!seen.has(client)) {
        seen.add(client);
        continue;
      }
      seen.delete(client);
      freed++;
      if (c.manuallyClosing) {
        log.warn('a Redis connection stuck after an outage was closing: finishing its close');
        c.manuallyClosing = false;
        c.setStatus('end');
        c.flushQueue(new Error('Connection is closed.'));
      } else {
        log.warn('a Redis connection stuck after an outage: reconnecting it');
        client.connect().catch(() => {});
      }
    }
    return freed;
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
