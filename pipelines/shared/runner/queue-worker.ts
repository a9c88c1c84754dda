import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setMaxListeners } from 'node:events';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { log } from '../log.js';
import { stageContext } from './context.js';
import { faultPoint } from './fault.js';
import { datasetConfigHash, QUEUE_PREFIX, redisConnection, stageQueueName, watchParkedClients, type ParkedClientWatcher, type QueuedUnit } from './queue.js';
import { loadStage, registeredStages } from '../../stages.js';
import type { AnyStage, StageContext } from './stage.js';
import { executeUnit, type UnitResult } from './unit-work.js';
import { WorkerMetrics } from './worker-metrics.js';

export interface QueueWorkerOptions {
  url: string;
  /** Stages this worker runs (default: every registered stage): a CPU host leaves out the GPU stages. */
  stages?: string[];
  /** Units at once per stage (default: the stage's `unitConcurrency`). */
  concurrency?: number;
  /** BullMQ lock: a worker silent this long is presumed dead and its unit handed to another (default 30 s). */
  lockDurationMs?: number;
  /** How often workers look for units whose worker died (default 30 s). */
  stalledIntervalMs?: number;
}

interface Loaded {
  ctx: StageContext;
  resources: Map<string, Promise<unknown>>;
}

/**
 * A queue worker: takes unit jobs of its stages from BullMQ, runs each with `executeUnit` into a
 * temp folder on the shared storage, and returns the result for the coordinator to commit. Stage
 * resources (`setup`) are created once per config, dataset and stage, and released on close.
 */
export class QueueWorker {
  private readonly connection: Redis;
  private readonly parked: ParkedClientWatcher;
  private readonly workers: Worker[] = [];
  private readonly contexts = new Map<string, Promise<Loaded>>();
  private readonly stages = new Map<string, AnyStage>();
  private readonly controller = new AbortController();
  readonly metrics = new WorkerMetrics();
  readonly id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;

  constructor(private readonly options: QueueWorkerOptions) {
    this.connection = redisConnection(options.url);
    // Before any Worker exists: it watches the blocking connections BullMQ duplicates from this one.
    this.parked = watchParkedClients(this.connection);
    setMaxListeners(0, this.controller.signal);
  }

  async start(): Promise<string[]> {
    const names = this.options.stages?.length ? this.options.stages : registeredStages();
    for (const name of names) {
      const stage = await loadStage(name);
      this.stages.set(name, stage);
      const worker = new Worker<QueuedUnit, UnitResult>(stageQueueName(name), (job) => this.process(job), {
        connection: this.connection,
        prefix: QUEUE_PREFIX,
        name: this.id,
        concurrency: this.options.concurrency ?? stage.unitConcurrency,
        lockDuration: this.options.lockDurationMs ?? 30_000,
        stalledInterval: this.options.stalledIntervalMs ?? 30_000,
        // A unit whose worker died is handed on a few times before it counts as failed.
        maxStalledCount: 3,
      });
      worker.on('failed', (job, err) => {
        this.metrics.failed(name, job ? job.attemptsMade < (job.opts.attempts ?? 1) : false);
        log.warn({ stage: name, unit: job?.data.job.unit.id, attempt: job?.attemptsMade, err: err.message }, 'unit failed');
      });
      worker.on('stalled', () => this.metrics.stalled(name));
      worker.on('error', (err) => log.warn({ err: err.message }, 'queue worker error'));
      this.workers.push(worker);
      this.metrics.watch(name, worker);
    }
    return names;
  }

  private async process(job: Job<QueuedUnit, UnitResult>): Promise<UnitResult> {
    const data = job.data;
    const stage = this.stages.get(data.stage);
    if (!stage) throw new UnrecoverableError(`worker ${this.id} does not run stage ${data.stage}`);
    const loaded = await this.context(data);
    const hash = datasetConfigHash(loaded.ctx.config);
    if (hash !== data.datasetConfigHash) {
      throw new Error(`worker ${this.id} loaded ${data.configFile} with a different config for ${data.dataset} than the coordinator: restart the worker after changing the config`);
    }
    let resources = loaded.resources.get(stage.name);
    if (!resources) {
      resources = stage.setup ? stage.setup(loaded.ctx) : Promise.resolve(undefined);
      loaded.resources.set(stage.name, resources);
    }
    const started = Date.now();
    const result = await executeUnit(stage, loaded.ctx, { ...data.job, attempt: `${job.attemptsStarted}-${randomUUID().slice(0, 8)}` }, await resources, (n) =>
      this.metrics.items(stage.name, n),
    );
    faultPoint('unit-executed');
    this.metrics.unit(stage.name, Date.now() - started);
    return result;
  }

  private context(data: QueuedUnit): Promise<Loaded> {
    const key = `${data.configFile}\u0000${data.dataset}`;
    let loaded = this.contexts.get(key);
    if (!loaded) {
      loaded = (async () => {
        const config: LoadedConfig = await loadConfig(data.configFile);
        return { ctx: await stageContext(config, data.dataset, this.controller.signal), resources: new Map() };
      })();
      loaded.catch(() => this.contexts.delete(key));
      this.contexts.set(key, loaded);
    }
    return loaded;
  }

  /** Waiting jobs of each stage, for the metrics endpoint. */
  async queueDepth(): Promise<Record<string, number>> {
    const depth: Record<string, number> = {};
    for (const name of this.stages.keys()) {
      const key = `${QUEUE_PREFIX}:${stageQueueName(name)}`;
      depth[name] = (await this.connection.llen(`${key}:wait`)) + (await this.connection.zcard(`${key}:prioritized`));
    }
    return depth;
  }

  /** Finishes the units in flight, then releases stage resources and connections. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    this.controller.abort();
    for (const loaded of this.contexts.values()) {
      const { ctx, resources } = await loaded.catch(() => ({ ctx: null, resources: new Map<string, Promise<unknown>>() }));
      for (const [name, r] of resources) {
        const stage = this.stages.get(name);
        if (stage?.teardown) await stage.teardown(await r);
      }
      ctx?.conn.closeSync();
    }
    this.parked.stop();
    this.connection.disconnect();
  }
}
