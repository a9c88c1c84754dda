import type { Task } from '../../schemas/sample.js';
import { isVerifyDomain, verifyDeterministic } from '../verify/deterministic.js';

/** A generous budget: a self-check compares an answer with itself. */
const BUDGET_MS = 10_000;

/**
 * Whether a generated task's answer passes its own verifier: a GLM-format response holding exactly
 * the ground truth must score 1 deterministically (no judge). A task that fails this could never be
 * rewarded correctly, so it is never emitted.
 */
export async function selfCheck(task: Task): Promise<{ ok: boolean; score: number; reason: string }> {
  if (!isVerifyDomain(task.verifier)) return { ok: false, score: 0, reason: `unknown verifier ${task.verifier}` };
  const response = `<think>The answer follows.</think><answer>${task.answer}</answer>`;
  const { result } = verifyDeterministic(
    { domain: task.verifier, response, groundTruth: task.answer, question: task.question, choices: task.choices, format: 'glm' },
    BUDGET_MS,
  );
  return { ok: result.score >= 1 && !result.needsJudge, score: result.score, reason: result.reason };
}
