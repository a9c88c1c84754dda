import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConnection, watchParkedClients } from '../../pipelines/shared/runner/queue.js';
import { NO_REDIS_MESSAGE, REDIS_BINARY, startRedis, type RedisServer } from '../support/redis.js';

if (!REDIS_BINARY) process.stderr.write(`${NO_REDIS_MESSAGE}\n`);

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Internals {
  status: string;
  reconnectTimeout: unknown;
}

/**
 * The hang behind "a Redis restart mid-run" (test/ops/queue.test.ts): an ioredis client that is
 * disconnected while it waits to retry keeps status `reconnecting` with no socket and no timer, so
 * it never reconnects and never emits `end`. BullMQ does exactly that to a worker's blocking client
 * (to interrupt its BZPOPMIN) when Redis goes away, and then waits for `end`.
 */
describe.skipIf(!REDIS_BINARY)('ioredis clients parked in `reconnecting` after a Redis outage', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('stay parked on their own; the watcher finishes their close and they can connect again', async () => {
    const connection = redisConnection(redis.url);
    const watcher = watchParkedClients(connection, 3_600_000); // checked by hand below
    const client = connection.duplicate();
    client.on('error', () => {});
    try {
      await client.ping();
      const back = redis.restart(2000);
      const c = client as unknown as Internals;
      await until('the retry timer', () => c.status === 'reconnecting' && !!c.reconnectTimeout);
      let ended = false;
      client.once('end', () => (ended = true));
      client.disconnect(); // what BullMQ's RedisConnection.disconnect() does to a blocking client
      expect(c.status).toBe('reconnecting');
      expect(c.reconnectTimeout).toBeNull();
      await back; // Redis is up again, and the client is still stuck: nothing will ever move it
      await sleep(200);
      expect([c.status, ended]).toEqual(['reconnecting', false]);
      expect(watcher.check()).toBe(0); // seen once: not yet
      expect(watcher.check()).toBe(1);
      await until('end', () => ended);
      expect(c.status).toBe('end');
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(watcher.check()).toBe(0);
    } finally {
      watcher.stop();
      client.disconnect();
      connection.disconnect();
    }
  }, 120_000);

  it('a BullMQ worker whose blocking client got parked still closes, and a new worker serves the queue', async () => {
    const connection = redisConnection(redis.url);
    const watcher = watchParkedClients(connection, 500);
    const worker = new Worker('parked', async () => 'done', { connection, prefix: 'parked-test', drainDelay: 1 });
    worker.on('error', () => {});
    try {
      await worker.waitUntilReady();
      await sleep(300); // the main loop is blocked in BZPOPMIN
      const back = redis.restart(3000);
      await sleep(500); // Redis is down; the blocking client waits to retry
      await worker.close(); // disconnects the blocking client while it is `reconnecting`, then waits for `end`
      await back;
      const queue = new Queue('parked', { connection, prefix: 'parked-test' });
      queue.on('error', () => {});
      const next = new Worker('parked', async () => 'served', { connection, prefix: 'parked-test' });
      next.on('error', () => {});
      const job = await queue.add('j', {});
      for (let i = 0; (await queue.getJobState(job.id!)) !== 'completed'; i++) {
        if (i > 600) throw new Error('the job was not served');
        await sleep(100);
      }
      await next.close();
      await queue.close();
    } finally {
      watcher.stop();
      connection.disconnect();
    }
  }, 180_000);
});
