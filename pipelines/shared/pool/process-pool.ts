import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildMessage, ParentMessage, SerializedError, WorkerStats } from './protocol.js';

export interface ProcessPoolOptions {
  /** Used in errors and process titles, e.g. `image`. */
  name: string;
  /** Absolute path or file: URL of the worker module; it calls `serveTasks`. A `.ts` module runs under tsx. */
  workerModule: string | URL;
  /** Worker processes; default: the number of cores. */
  size?: number;
  /** Tasks one worker runs at once (2 lets file reads overlap decoding); default 1. */
  tasksPerWorker?: number;
  /** Tasks waiting for a worker; `run()` waits for room beyond this (backpressure). Default 4 per slot. */
  maxQueue?: number;
  /** A task running longer than this kills its worker and fails; default: no limit. */
  taskTimeoutMs?: number;
  env?: Record<string, string>;
  /** Workers that die before they are ready, in a row, before the pool gives up; default 3. */
  startAttempts?: number;
}

/** The worker died (crash, OOM kill, timeout) while running the task; the pool replaced it. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

/** The pool was closed or destroyed before the task could run. */
export class PoolClosedError extends Error {
  override name = 'PoolClosedError';
}

/** Workers die before they are ready (bad module, missing loader): the pool gives up instead of looping. */
export class PoolStartError extends Error {
  override name = 'PoolStartError';
}

/** An error thrown by the task handler inside the worker, with its original name and stack. */
export class WorkerTaskError extends Error {
  override name = 'WorkerTaskError';
  constructor(readonly remote: SerializedError) {
    super(`${remote.name}: ${remote.message}`);
  }
}

interface Task {
  id: number;
  payload: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

interface Worker {
  child: ChildProcess;
  ready: boolean;
  running: Map<number, Task>;
  stderrTail: string;
  exited: Promise<void>;
}

/**
 * A small pool of forked Node processes for CPU-heavy work that does not scale inside one process
 * (sharp/libvips decoding: see DESIGN.md). Workers start on the first task; the queue is bounded
 * (`run` waits for room); a worker that dies fails only the tasks it was running and is replaced;
 * an idle pool does not keep the parent alive, and `close()` lets the workers finish and exit.
 */
export class ProcessPool<T, R> {
  readonly size: number;
  private readonly tasksPerWorker: number;
  private readonly maxQueue: number;
  private readonly workers = new Set<Worker>();
  private readonly queue: Task[] = [];
  private readonly roomWaiters: Array<() => void> = [];
  private readonly statsWaiters = new Map<number, (stats: WorkerStats | null) => void>();
  private nextId = 1;
  private started = false;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private startFailures = 0;
  private brokenError: PoolStartError | null = null;
  private idleWaiters: Array<() => void> = [];
  private waitingForRoom = 0;

  constructor(private readonly options: ProcessPoolOptions) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.tasksPerWorker = Math.max(1, options.tasksPerWorker ?? 1);
    this.maxQueue = Math.max(1, options.maxQueue ?? this.size * this.tasksPerWorker * 4);
  }

  /** Runs one task on a worker. Waits while the queue is full; rejects with the pool's error types. */
  async run(payload: T): Promise<R> {
    if (this.brokenError) throw this.brokenError;
    if (this.state !== 'open') throw new PoolClosedError(`${this.options.name} pool is closed`);
    // Submitted before close(): still runs, even if it first waits for room.
    this.waitingForRoom++;
    try {
      while (this.queue.length >= this.maxQueue && !this.destroyed() && !this.brokenError) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      }
    } finally {
      this.waitingForRoom--;
    }
    if (this.brokenError) throw this.brokenError;
    if (this.destroyed()) throw new PoolClosedError(`${this.options.name} pool was destroyed`);
    if (!this.started) this.start();
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, payload, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Peak RSS and task counts of the live workers. */
  async workerStats(): Promise<WorkerStats[]> {
    const ready = [...this.workers].filter((w) => w.ready && w.child.connected);
    const pending = Promise.all(
      ready.map(
        (w) =>
          new Promise<WorkerStats | null>((resolve) => {
            const id = this.nextId++;
            this.statsWaiters.set(id, resolve);
            this.send(w, { kind: 'stats', id });
          }),
      ),
    );
    this.updateRef();
    const stats = await pending;
    return stats.filter((s): s is WorkerStats => s !== null);
  }

  /** Finishes queued and running tasks, then lets the workers exit. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    while (!this.isIdle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.state = 'closed';
    const exits = [...this.workers].map((w) => {
      w.child.ref(); // wait for the exit itself, or close() would never resolve in an otherwise idle process
      if (w.child.connected) w.child.disconnect();
      const force = setTimeout(() => w.child.kill('SIGKILL'), 5000);
      force.unref();
      return w.exited.finally(() => clearTimeout(force));
    });
    await Promise.all(exits);
  }

  /** Kills the workers now; queued and running tasks fail with PoolClosedError. Safe in an `exit` handler. */
  destroy(): void {
    this.state = 'closed';
    const error = new PoolClosedError(`${this.options.name} pool was destroyed`);
    for (const task of this.queue.splice(0)) task.reject(error);
    for (const w of this.workers) {
      for (const task of w.running.values()) this.settle(w, task, () => task.reject(error));
      w.child.kill('SIGKILL');
    }
    this.workers.clear();
    this.wakeRoomWaiters();
  }

  private start(): void {
    this.started = true;
    for (let i = 0; i < this.size; i++) this.spawnWorker();
  }

  private spawnWorker(): void {
    const modulePath = this.options.workerModule instanceof URL ? fileURLToPath(this.options.workerModule) : this.options.workerModule;
    const child = fork(modulePath, [], {
      execArgv: modulePath.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : [],
      env: { ...process.env, ...this.options.env, STRATUM_POOL_WORKER: this.options.name },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let markExited!: () => void;
    const worker: Worker = { child, ready: false, running: new Map(), stderrTail: '', exited: new Promise((r) => (markExited = r)) };
    this.workers.add(worker);
    const stderr = child.stderr as Socket | null;
    stderr?.unref();
    stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      worker.stderrTail = (worker.stderrTail + chunk.toString()).slice(-2000);
    });
    child.on('message', (message: ChildMessage) => this.onMessage(worker, message));
    let gone = false;
    const onGone = (description: string): void => {
      if (gone) return;
      gone = true;
      markExited();
      this.onWorkerGone(worker, description);
    };
    child.on('exit', (code, signal) => onGone(signal ? `signal ${signal}` : `exit code ${code}`));
    child.on('error', (err) => {
      onGone(`error ${err.message}`);
      child.kill('SIGKILL');
    });
    this.updateRef();
  }

  private onMessage(worker: Worker, message: ChildMessage): void {
    if (message.kind === 'ready') {
      worker.ready = true;
      this.startFailures = 0;
      this.dispatch();
      return;
    }
    if (message.kind === 'stats') {
      this.statsWaiters.get(message.id)?.(message.stats);
      this.statsWaiters.delete(message.id);
      this.updateRef();
      return;
    }
    const task = worker.running.get(message.id);
    if (!task) return;
    if (message.ok) this.settle(worker, task, () => task.resolve(message.value));
    else this.settle(worker, task, () => task.reject(new WorkerTaskError(message.error)));
    this.dispatch();
  }

  private onWorkerGone(worker: Worker, description: string): void {
    this.workers.delete(worker);
    const pid = worker.child.pid ?? '?';
    for (const task of worker.running.values()) {
      const error = new WorkerCrashedError(
        `${this.options.name} pool worker (pid ${pid}) died with ${description} while running this task; the worker was replaced` +
          (worker.stderrTail.trim() ? `. Its last output: ${worker.stderrTail.trim().slice(-500)}` : ''),
      );
      this.settle(worker, task, () => task.reject(error));
    }
    for (const [id, resolve] of this.statsWaiters) {
      resolve(null);
      this.statsWaiters.delete(id);
    }
    if (this.state === 'closed') return;
    if (!worker.ready && ++this.startFailures >= (this.options.startAttempts ?? 3)) {
      this.brokenError = new PoolStartError(
        `${this.options.name} pool workers exit before they are ready (${description}); module ${String(this.options.workerModule)}` +
          (worker.stderrTail.trim() ? `: ${worker.stderrTail.trim().slice(-800)}` : ''),
      );
      for (const task of this.queue.splice(0)) task.reject(this.brokenError);
      this.wakeRoomWaiters();
      this.notifyIdle();
      return;
    }
    this.spawnWorker();
    this.dispatch();
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      while (worker.ready && worker.running.size < this.tasksPerWorker && this.queue.length > 0) {
        const task = this.queue.shift() as Task;
        worker.running.set(task.id, task);
        if (this.options.taskTimeoutMs) {
          task.timer = setTimeout(() => {
            worker.stderrTail += `\n(task ran longer than ${this.options.taskTimeoutMs} ms and was killed)`;
            worker.child.kill('SIGKILL');
          }, this.options.taskTimeoutMs);
        }
        this.send(worker, { kind: 'task', id: task.id, payload: task.payload });
        this.roomWaiters.shift()?.();
      }
    }
    this.updateRef();
  }

  private send(worker: Worker, message: ParentMessage): void {
    worker.child.send(message, (err) => {
      // A failed send means the worker is gone; its exit handler fails the task.
      if (err) worker.child.kill('SIGKILL');
    });
  }

  private settle(worker: Worker, task: Task, finish: () => void): void {
    if (task.timer) clearTimeout(task.timer);
    worker.running.delete(task.id);
    finish();
    if (this.isIdle()) this.notifyIdle();
  }

  /** A method, not an inline comparison: the state changes while run() awaits. */
  private destroyed(): boolean {
    return this.state === 'closed';
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.runningCount() === 0 && this.waitingForRoom === 0;
  }

  private runningCount(): number {
    let n = 0;
    for (const w of this.workers) n += w.running.size;
    return n;
  }

  private notifyIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
    this.updateRef();
  }

  private wakeRoomWaiters(): void {
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** Busy workers keep the parent's event loop alive; idle ones do not, so a CLI can exit. */
  private updateRef(): void {
    const busy = !this.isIdle() || this.statsWaiters.size > 0 || this.state === 'closing';
    for (const { child } of this.workers) {
      if (busy) {
        child.ref();
        child.channel?.ref();
      } else {
        child.unref();
        child.channel?.unref();
      }
    }
  }
}

let tsxUrl: string | undefined;
function tsxLoaderUrl(): string {
  tsxUrl ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsxUrl;
}
