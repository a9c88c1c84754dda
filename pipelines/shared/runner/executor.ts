import type { AnyStage, StageContext } from './stage.js';
import { executeUnit, type UnitJob, type UnitResult } from './unit-work.js';

/** Called by the executor in the coordinator for every finished job; only it commits to the manifest. */
export type CommitFn = (job: UnitJob, result: UnitResult) => Promise<void>;

/**
 * Where unit jobs run. The runner plans, decides what is stale and commits; an executor only runs
 * jobs and hands back their results. The in-process loop is the embedded default; a queue-backed
 * executor hands the same jobs to workers on other machines.
 */
export interface Executor {
  run(stage: AnyStage, ctx: StageContext, jobs: UnitJob[], opts: ExecuteOptions): Promise<void>;
}

export interface ExecuteOptions {
  concurrency: number;
  commit: CommitFn;
  onItem: (n: number) => void;
}

/**
 * Runs jobs in this process, `concurrency` at a time, with one set of worker resources (the stage's
 * `setup`) for all of them. When a job throws, no new job starts, every job in flight settles
 * (commits included), resources are released, and then the first error is thrown.
 */
export class InProcessExecutor implements Executor {
  async run(stage: AnyStage, ctx: StageContext, jobs: UnitJob[], opts: ExecuteOptions): Promise<void> {
    if (jobs.length === 0) return;
    const resources: unknown = stage.setup ? await stage.setup(ctx) : undefined;
    let next = 0;
    let failure: { error: unknown } | null = null;
    const lane = async (): Promise<void> => {
      while (next < jobs.length && !ctx.signal.aborted && !failure) {
        const job = jobs[next++] as UnitJob;
        try {
          const result = await executeUnit(stage, ctx, job, resources, opts.onItem);
          await opts.commit(job, result);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    try {
      await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(opts.concurrency, jobs.length)) }, lane));
    } finally {
      if (stage.teardown) await stage.teardown(resources);
    }
    if (failure) throw (failure as { error: unknown }).error;
  }
}
