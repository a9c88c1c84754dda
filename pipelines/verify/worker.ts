/** Worker-thread entry of the verifier pool: runs the synchronous deterministic path. */
import { warmUpCas } from './cas.js';
import { verifyDeterministic, type DeterministicOutcome } from './deterministic.js';
import type { VerifyRequest } from './types.js';

warmUpCas();

export default function run(task: { req: VerifyRequest; budgetMs: number } | { ping: true }): DeterministicOutcome | 'pong' {
  if ('ping' in task) return 'pong';
  return verifyDeterministic(task.req, task.budgetMs);
}
