/**
 * Verifier (reward) library: GLM-4.1V reward semantics for every RL domain.
 *
 *   const r = await verify({ domain: 'math', response, groundTruth: '<|begin_of_box|>42<|end_of_box|>' });
 *   r.score  // in [0, 1]
 *
 * A verification runs: penalties (optional) → format gate → ground-truth extraction → the domain's
 * deterministic comparison (deterministic.ts) → the LLM judge when that cannot decide and judges
 * are configured. `createVerifierPool` (pool.ts) runs the deterministic part in worker threads under
 * a hard deadline.
 */
import { verifyDeterministic, makeResult, type AnswerMemo, type DeterministicOutcome } from './deterministic.js';
import { defaultJudgeCache, runJudges, type JudgeCache } from './judge.js';
import { TimeoutError, withTimeout } from './timeout.js';
import { UNDECIDED_PREFIX, type VerifyContext, type VerifyRequest, type VerifyResult } from './types.js';

export { UNDECIDED_PREFIX } from './types.js';
export type { FormatMode, JudgeEndpoint, Verdict, VerifyContext, VerifyDomain, VerifyOptions, VerifyRequest, VerifyResult } from './types.js';
export { JudgeCache, defaultJudgeCache, parseBinaryVerdict, runJudges, buildPrompt } from './judge.js';
export { extractGroundTruth } from './format.js';
export { extractAnswer, isVerifyDomain, verifyDeterministic, VERIFY_DOMAINS, MAX_ANSWER_CHARS } from './deterministic.js';

export const DEFAULT_TIME_BUDGET_MS = 10_000;

export interface VerifyContextWithCache extends VerifyContext {
  judgeCache?: JudgeCache;
}

/** Verifies one response against its ground truth. Never throws; bad input scores 0 with a reason. */
export async function verify(req: VerifyRequest, ctx: VerifyContextWithCache = {}): Promise<VerifyResult> {
  const budget = ctx.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const start = performance.now();
  const outcome = verifyDeterministic(req, budget);
  return finishWithJudges(req, outcome, ctx, budget - (performance.now() - start));
}

/** Completes a deterministic outcome: asks the judges when it is undecided and judges exist. */
export async function finishWithJudges(
  req: VerifyRequest,
  outcome: DeterministicOutcome,
  ctx: VerifyContextWithCache,
  remainingMs: number,
): Promise<VerifyResult> {
  const judges = ctx.judges ?? [];
  if (!outcome.judge || judges.length === 0 || req.options?.useJudge === false) return outcome.result;
  const { how, ...question } = outcome.judge;
  try {
    const decision = await withTimeout(runJudges(question, judges, ctx.judgeCache ?? defaultJudgeCache), Math.max(0, remainingMs));
    return makeResult({
      score: decision.score,
      correct: decision.correct,
      extracted: outcome.result.extracted,
      reason: `${how}; ${decision.reason}`,
      formatOk: true,
    });
  } catch (err) {
    if (err instanceof TimeoutError) return makeResult({ score: 0, extracted: outcome.result.extracted, reason: 'timeout', formatOk: true });
    return makeResult({ score: 0, extracted: outcome.result.extracted, reason: `${UNDECIDED_PREFIX} judge error: ${String(err).slice(0, 200)}`, formatOk: true, needsJudge: true });
  }
}

/**
 * Whether a result is undecided: neither a deterministic rule nor a judge decided it (its score 0 is
 * "not known to be right", not "wrong"). Such rollouts are countable in rollout rows by their reason
 * prefix (`reason LIKE 'undecided:%'`).
 */
export function isUndecided(result: Pick<VerifyResult, 'reason' | 'needsJudge'>): boolean {
  return result.needsJudge === true || result.reason.startsWith(UNDECIDED_PREFIX);
}

/**
 * Verifies a group of responses (e.g. one rollout group), each under its own budget; judge calls run
 * concurrently. Answers repeated within the group are compared once (`AnswerMemo`).
 */
export async function verifyBatch(reqs: VerifyRequest[], ctx: VerifyContextWithCache = {}): Promise<VerifyResult[]> {
  const budget = ctx.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const memo: AnswerMemo = new Map();
  const results: (VerifyResult | Promise<VerifyResult>)[] = new Array(reqs.length);
  let judged = false;
  for (let i = 0; i < reqs.length; i++) {
    const start = performance.now();
    const outcome = verifyDeterministic(reqs[i]!, budget, memo);
    // Decided without a judge (the usual case): no promise per item.
    if (!outcome.judge) results[i] = outcome.result;
    else {
      results[i] = finishWithJudges(reqs[i]!, outcome, ctx, budget - (performance.now() - start));
      judged = true;
    }
  }
  return judged ? Promise.all(results) : (results as VerifyResult[]);
}
