/** Worker-thread entry of the verifier pool: runs the synchronous deterministic path. */
import { onCasLoad } from './cas.js';
import { verifyDeterministic, type AnswerMemo, type DeterministicOutcome } from './deterministic.js';
import type { VerifyRequest } from './types.js';

type Task =
  | { req: VerifyRequest; budgetMs: number; startedAt?: Float64Array }
  /** A group (e.g. the n rollouts of one request) in one message: startedAt[i] is stamped as item i starts. */
  | { reqs: VerifyRequest[]; budgetMs: number; startedAt: Float64Array }
  | { ping: true };

/** The stamp of the item running now, which the pool's hard budget reads. */
let running: { startedAt: Float64Array; i: number } | null = null;
let held = 0;

// The CAS engine loads on first use, inside some item (cas.ts): while it loads the item's stamp reads
// Infinity (the pool's clock waits), then it moves on by the load time, so the load counts against
// no budget, as the soft deadline excludes it too.
onCasLoad({
  before: () => {
    if (!running) return;
    held = running.startedAt[running.i]!;
    running.startedAt[running.i] = Number.POSITIVE_INFINITY;
  },
  after: (ms) => {
    if (running) running.startedAt[running.i] = held + ms;
  },
});

export default function run(task: Task): DeterministicOutcome | DeterministicOutcome[] | 'pong' {
  if ('ping' in task) return 'pong';
  // Shared with the pool, whose hard budget counts from here (epoch ms), not from when the task was queued.
  const now = () => performance.timeOrigin + performance.now();
  try {
    if ('reqs' in task) {
      const memo: AnswerMemo = new Map();
      return task.reqs.map((req, i) => {
        task.startedAt[i] = now();
        running = { startedAt: task.startedAt, i };
        return verifyDeterministic(req, task.budgetMs, memo);
      });
    }
    if (task.startedAt) {
      task.startedAt[0] = now();
      running = { startedAt: task.startedAt, i: 0 };
    }
    return verifyDeterministic(task.req, task.budgetMs);
  } finally {
    running = null;
  }
}
