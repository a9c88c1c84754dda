/**
 * Hard time budgets: the deterministic path (CAS included) runs in worker threads; a task that
 * outlives its budget is aborted (Piscina terminates and replaces the worker) and scores 0 with
 * reason `timeout`. Judge calls stay on the main thread so their cache is shared.
 *
 * The budget counts from the moment a worker starts the task (the worker stamps it into shared
 * memory), never the time spent queued or waiting for a worker to start and load the verifier: a
 * cold or freshly replaced worker must not turn an exact match into a timeout.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { DeterministicOutcome } from './deterministic.js';
import { DEFAULT_TIME_BUDGET_MS, finishWithJudges, type VerifyContextWithCache } from './index.js';
import { makeResult } from './deterministic.js';
import type { VerifyRequest, VerifyResult } from './types.js';
import { verifyWorkerBundle } from './worker-bundle.js';

export interface VerifierPoolOptions {
  /** Worker threads (default: available cores, at most 8). */
  threads?: number;
  /** Default budget per verification in ms. */
  timeBudgetMs?: number;
  /** Extra time a worker gets after its budget before it is killed (default 250 ms). */
  hardGraceMs?: number;
}

const isTsx = (a: string) => /[\\/]tsx[\\/]dist[\\/]/.test(a) || a === 'tsx' || a.startsWith('tsx/');
const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

/** Node flags for workers loading the TypeScript sources: the parent's, plus the tsx loader when the parent runs without it (vitest). */
function workerExecArgv(): string[] {
  const inherited = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  return inherited.some(isTsx) ? inherited : [...inherited, '--import', 'tsx'];
}

/** Node flags for workers loading the bundle: the parent's without the tsx loader, which the bundle does not need. */
function bundleExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--inspect') || isTsx(a)) continue;
    if (LOADER_FLAGS.has(a) && i + 1 < args.length && isTsx(args[i + 1]!)) {
      i++;
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0 && LOADER_FLAGS.has(a.slice(0, eq)) && isTsx(a.slice(eq + 1))) continue;
    out.push(a);
  }
  return out;
}

/** Workers load one JavaScript bundle of the verifier when it can be built (worker-bundle.ts), else the TypeScript sources through tsx. */
async function startPiscina(threads: number): Promise<Piscina> {
  const bundle = await verifyWorkerBundle();
  return new Piscina({
    filename: bundle ?? new URL('./worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    execArgv: bundle ? bundleExecArgv() : workerExecArgv(),
    idleTimeout: 60_000,
  });
}

const DEFAULT_HARD_GRACE_MS = 250;

export class VerifierPool {
  private readonly piscina: Promise<Piscina>;
  readonly threads: number;
  readonly timeBudgetMs: number;
  readonly hardGraceMs: number;
  timeouts = 0;

  constructor(opts: VerifierPoolOptions = {}) {
    this.threads = Math.max(1, opts.threads ?? Math.min(8, availableParallelism()));
    this.timeBudgetMs = opts.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    this.hardGraceMs = opts.hardGraceMs ?? DEFAULT_HARD_GRACE_MS;
    this.piscina = startPiscina(this.threads);
    this.piscina.catch(() => {}); // surfaces at the first task or ready()
  }

  /** Resolves once every worker has loaded the verifier (the CAS engine loads later, on first use: cas.ts). */
  async ready(): Promise<void> {
    const piscina = await this.piscina;
    await Promise.all(Array.from({ length: this.threads }, () => piscina.run({ ping: true })));
  }

  /**
   * Runs a task whose worker stamps `startedAt[i]` (epoch ms) as it starts item i; aborts it when the
   * item running now has outlived budget + grace. Until the first stamp the clock has not begun, and
   * it stands still while the worker loads the CAS engine (the stamp reads Infinity meanwhile).
   */
  private async runWatched<T>(task: object, startedAt: Float64Array, budgetMs: number): Promise<T> {
    const piscina = await this.piscina;
    const controller = new AbortController();
    const limitMs = budgetMs + this.hardGraceMs;
    let timer: NodeJS.Timeout | undefined;
    const watch = (): void => {
      let started = 0;
      for (let i = startedAt.length - 1; i >= 0 && started === 0; i--) started = startedAt[i]!;
      // Infinity: the worker is loading the CAS engine, a one-time cost no budget counts (worker.ts).
      if (started === 0 || started === Number.POSITIVE_INFINITY) timer = setTimeout(watch, Math.max(10, Math.min(limitMs, 1_000)));
      else {
        const left = started + limitMs - (performance.timeOrigin + performance.now());
        if (left <= 0) controller.abort();
        else timer = setTimeout(watch, Math.max(1, left));
      }
    };
    timer = setTimeout(watch, limitMs);
    return (piscina.run(task, { signal: controller.signal }) as Promise<T>).finally(() => clearTimeout(timer));
  }

  private async deterministic(req: VerifyRequest, budgetMs: number): Promise<DeterministicOutcome> {
    const startedAt = new Float64Array(new SharedArrayBuffer(8));
    try {
      return await this.runWatched<DeterministicOutcome>({ req, budgetMs, startedAt }, startedAt, budgetMs);
    } catch (err) {
      if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
        this.timeouts++;
        return { result: makeResult({ score: 0, extracted: null, reason: 'timeout', formatOk: false }) };
      }
      return { result: makeResult({ score: 0, extracted: null, reason: `error: ${String(err).slice(0, 200)}`, formatOk: false }) };
    }
  }

  async verify(req: VerifyRequest, ctx: VerifyContextWithCache = {}): Promise<VerifyResult> {
    const budget = ctx.timeBudgetMs ?? this.timeBudgetMs;
    const start = performance.now();
    const outcome = await this.deterministic(req, budget);
    return finishWithJudges(req, outcome, ctx, budget - (performance.now() - start));
  }

  /**
   * Verifies a group in one worker message (a message costs far more than a typical verification),
   * each item under its own budget. If an item outlives its budget the group is aborted and its
   * items are verified one by one, so only the slow one scores `timeout`.
   */
  async verifyBatch(reqs: VerifyRequest[], ctx: VerifyContextWithCache = {}): Promise<VerifyResult[]> {
    if (reqs.length <= 1) return Promise.all(reqs.map((r) => this.verify(r, ctx)));
    const budget = ctx.timeBudgetMs ?? this.timeBudgetMs;
    const startedAt = new Float64Array(new SharedArrayBuffer(8 * reqs.length));
    let outcomes: DeterministicOutcome[];
    try {
      outcomes = await this.runWatched<DeterministicOutcome[]>({ reqs, budgetMs: budget, startedAt }, startedAt, budget);
    } catch {
      return Promise.all(reqs.map((r) => this.verify(r, ctx)));
    }
    // Decided in the worker (the usual case): no promise per item.
    if (outcomes.every((outcome) => !outcome.judge)) return outcomes.map((outcome) => outcome.result);
    return Promise.all(
      outcomes.map((outcome, i) => {
        const ended = i + 1 < outcomes.length ? startedAt[i + 1]! : performance.timeOrigin + performance.now();
        return finishWithJudges(reqs[i]!, outcome, ctx, budget - (ended - startedAt[i]!));
      }),
    );
  }

  async close(): Promise<void> {
    await (await this.piscina).destroy();
  }
}

export function createVerifierPool(opts: VerifierPoolOptions = {}): VerifierPool {
  return new VerifierPool(opts);
}
