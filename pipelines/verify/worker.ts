/** Worker-thread entry of the verifier pool: runs the synchronous deterministic path. */
import { warmUpCas } from './cas.js';
import { verifyDeterministic, type DeterministicOutcome } from './deterministic.js';
import type { VerifyRequest } from './types.js';

warmUpCas();

export default function run(task: { req: VerifyRequest; budgetMs: number; startedAt?: Float64Array } | { ping: true }): DeterministicOutcome | 'pong' {
  if ('ping' in task) return 'pong';
  // Shared with the pool, whose hard budget counts from here (epoch ms), not from when the task was queued.
  if (task.startedAt) task.startedAt[0] = performance.timeOrigin + performance.now();
  return verifyDeterministic(task.req, task.budgetMs);
}
