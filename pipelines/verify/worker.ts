/** Worker-thread entry of the verifier pool: runs the synchronous deterministic path. */
import { warmUpCas } from './cas.js';
import { verifyDeterministic, type AnswerMemo, type DeterministicOutcome } from './deterministic.js';
import type { VerifyRequest } from './types.js';

warmUpCas();

type Task =
  | { req: VerifyRequest; budgetMs: number; startedAt?: Float64Array }
  /** A group (e.g. the n rollouts of one request) in one message: startedAt[i] is stamped as item i starts. */
  | { reqs: VerifyRequest[]; budgetMs: number; startedAt: Float64Array }
  | { ping: true };

export default function run(task: Task): DeterministicOutcome | DeterministicOutcome[] | 'pong' {
  if ('ping' in task) return 'pong';
  // Shared with the pool, whose hard budget counts from here (epoch ms), not from when the task was queued.
  const now = () => performance.timeOrigin + performance.now();
  if ('reqs' in task) {
    const memo: AnswerMemo = new Map();
    return task.reqs.map((req, i) => {
      task.startedAt[i] = now();
      return verifyDeterministic(req, task.budgetMs, memo);
    });
  }
  if (task.startedAt) task.startedAt[0] = now();
  return verifyDeterministic(task.req, task.budgetMs);
}
