/**
 * Adaptive rollout budgets: draw rollouts in rounds (initialN, then roundN more, ... up to maxN) and
 * stop as soon as more rollouts would not change the sample's tier. The label is always the
 * *observed* tier of k/n at the stop, recorded with the n used. Two stop rules:
 *
 * 1. Deterministic: no outcome of the remaining maxN − n rollouts can change the observed tier.
 *    The pass rates reachable from k/n at any later stop lie between k/maxN (all remaining fail) and
 *    (k + r)/maxN (all succeed), and tiers are intervals, so checking those two ends suffices.
 *
 * 2. Statistical (confidence < 1): the two-sided Clopper–Pearson interval for the true pass rate lies
 *    inside the observed tier's range. Clopper–Pearson because it is exact (never below nominal
 *    coverage), which matters at the small n and the p near 0 or 1 where Wald and Wilson fall short.
 *    The interval is per look; CP's conservatism keeps the error of the whole sequence near or below
 *    1 − confidence for the usual round schedules (see test/difficulty/adaptive.test.ts).
 *
 *    `solved` and `unsolved` are points (p = 1, p = 0) that no finite sample can confirm, so for this
 *    rule each is widened to include its neighbouring non-empty tier: 0/n stops once the interval
 *    says p < medium, i.e. "too hard to be a medium sample", and is labelled `unsolved` at that n.
 *
 * With confidence = 1 only rule 1 applies, so the result equals sampling maxN every time.
 */
import {
  DEFAULT_TIER_THRESHOLDS,
  RATED_TIERS_ASCENDING,
  intervalContains,
  isEmptyInterval,
  tierInterval,
  tierOfCounts,
  type RatedTier,
  type Tier,
  type TierInterval,
  type TierThresholds,
} from './tiers.js';

export interface AdaptivePolicy {
  /** Rollouts in the first round. */
  initialN: number;
  /** Rollouts in each later round (the last round is cut to fit maxN). */
  roundN: number;
  maxN: number;
  /** Coverage of the pass-rate interval, in (0, 1]; 1 disables the statistical rule. */
  confidence: number;
}

/** Non-adaptive sampling as a policy: one round of n. */
export function fixedPolicy(n: number): AdaptivePolicy {
  return { initialN: n, roundN: n, maxN: n, confidence: 1 };
}

export function validateAdaptivePolicy(policy: AdaptivePolicy): void {
  const { initialN, roundN, maxN, confidence } = policy;
  const positiveInt = (x: number) => Number.isInteger(x) && x > 0;
  if (!positiveInt(initialN) || !positiveInt(roundN) || !positiveInt(maxN) || initialN > maxN) {
    throw new RangeError(`adaptive policy needs positive integers with initialN ≤ maxN, got initialN=${initialN}, roundN=${roundN}, maxN=${maxN}`);
  }
  if (!(confidence > 0 && confidence <= 1)) throw new RangeError(`adaptive confidence must lie in (0, 1], got ${confidence}`);
}

export type StopReason =
  /** n reached maxN */
  | 'budget'
  /** no outcome of the remaining rollouts can change the tier */
  | 'decided'
  /** the confidence interval lies inside the tier's range */
  | 'confident'
  /** a round returned no rollouts */
  | 'stalled';

export interface RoundDecision {
  /** Rollouts to draw next; 0 = stop. */
  size: number;
  stopReason: Exclude<StopReason, 'stalled'> | null;
  /** The Clopper–Pearson interval the statistical rule looked at (null when it did not look). */
  interval: { lo: number; hi: number } | null;
}

export function decideNextRound(
  k: number,
  n: number,
  policy: AdaptivePolicy,
  thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS,
): RoundDecision {
  validateAdaptivePolicy(policy);
  const tier = tierOfCounts(k, n, thresholds);
  if (n >= policy.maxN) return { size: 0, stopReason: 'budget', interval: null };
  const remaining = policy.maxN - n;
  const more = Math.min(n === 0 ? policy.initialN : policy.roundN, remaining);
  if (tier === 'unrated') return { size: more, stopReason: null, interval: null };

  const allFail = tierOfCounts(k, policy.maxN, thresholds);
  const allSucceed = tierOfCounts(k + remaining, policy.maxN, thresholds);
  if (allFail === tier && allSucceed === tier) return { size: 0, stopReason: 'decided', interval: null };

  if (policy.confidence >= 1) return { size: more, stopReason: null, interval: null };
  const interval = clopperPearsonInterval(k, n, policy.confidence);
  const region = statisticalRegion(tier, thresholds);
  if (intervalContains(region, interval.lo) && intervalContains(region, interval.hi)) {
    return { size: 0, stopReason: 'confident', interval };
  }
  return { size: more, stopReason: null, interval };
}

/** Rollouts to draw next for a sample with k of n correct so far; 0 = stop. */
export function nextRoundSize(
  k: number,
  n: number,
  policy: AdaptivePolicy,
  thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS,
): number {
  return decideNextRound(k, n, policy, thresholds).size;
}

/**
 * The range the statistical rule asks the interval to lie in: the tier's own range, or for the point
 * tiers the union with the nearest non-empty tier above `unsolved` / below `solved`.
 */
export function statisticalRegion(tier: RatedTier, thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS): TierInterval {
  const own = tierInterval(tier, thresholds);
  if (tier !== 'unsolved' && tier !== 'solved') return own;
  const order = tier === 'unsolved' ? RATED_TIERS_ASCENDING : [...RATED_TIERS_ASCENDING].reverse();
  const neighbour = order
    .slice(1)
    .map((t) => tierInterval(t, thresholds))
    .find((i) => !isEmptyInterval(i));
  if (neighbour === undefined) return own;
  return tier === 'unsolved'
    ? { lo: 0, hi: neighbour.hi, loClosed: true, hiClosed: neighbour.hiClosed }
    : { lo: neighbour.lo, hi: 1, loClosed: neighbour.loClosed, hiClosed: true };
}

/** Two-sided (equal-tailed) Clopper–Pearson interval for a binomial proportion. */
export function clopperPearsonInterval(k: number, n: number, confidence: number): { lo: number; hi: number } {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n <= 0 || k < 0 || k > n) {
    throw new RangeError(`need integers 0 ≤ k ≤ n, n > 0, got k=${k}, n=${n}`);
  }
  if (!(confidence > 0 && confidence <= 1)) throw new RangeError(`confidence must lie in (0, 1], got ${confidence}`);
  if (confidence === 1) return { lo: 0, hi: 1 };
  const tail = (1 - confidence) / 2;
  return { lo: lowerBound(k, n, tail), hi: 1 - lowerBound(n - k, n, tail) };
}

/** The p at which P(X ≥ k | n, p) = tail; P(X ≥ k) increases with p, so bisect. */
function lowerBound(k: number, n: number, tail: number): number {
  if (k === 0) return 0;
  if (k === n) return Math.pow(tail, 1 / n);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialUpperTail(k, n, mid) < tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** P(X ≥ k) for X ~ Binomial(n, p), 0 < p < 1, summed in log space so large n does not underflow. */
function binomialUpperTail(k: number, n: number, p: number): number {
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  let logChoose = 0; // log C(n, j), advanced incrementally
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    if (j >= k) sum += Math.exp(logChoose + j * logP + (n - j) * logQ);
    logChoose += Math.log(n - j) - Math.log(j + 1);
  }
  return Math.min(1, sum);
}

export interface RoundOutcome {
  /** Decided rollouts that came back (may be fewer than asked: servers can return fewer choices). */
  rollouts: number;
  successes: number;
  /** Rollouts drawn whose verification could not decide (timeouts): spent from the budget, not counted in k/n. */
  undecided?: number;
}

export interface AdaptiveOutcome {
  k: number;
  /** Decided rollouts used. */
  n: number;
  /** Rollouts drawn but left undecided by the verifier (not in k or n). */
  undecided: number;
  passRate: number | null;
  tier: Tier;
  /** Rollouts obtained in each round. */
  rounds: number[];
  stopReason: StopReason;
}

/**
 * Runs the rounds for one sample. `drawRound(size)` samples `size` rollouts and reports how many came
 * back and how many were correct.
 */
export async function rateAdaptively(
  drawRound: (size: number, roundIndex: number) => Promise<RoundOutcome>,
  policy: AdaptivePolicy,
  thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS,
): Promise<AdaptiveOutcome> {
  validateAdaptivePolicy(policy);
  let k = 0;
  let n = 0;
  let undecided = 0;
  const rounds: number[] = [];
  let stopReason: StopReason;
  for (;;) {
    // Undecided rollouts were paid for: they come out of the budget, so the decided ones are judged against what is left.
    const budget = policy.maxN - undecided;
    const decision: Pick<RoundDecision, 'size' | 'stopReason'> =
      budget >= 1 ? decideNextRound(k, n, { ...policy, maxN: budget, initialN: Math.min(policy.initialN, budget) }, thresholds) : { size: 0, stopReason: 'budget' };
    if (decision.size === 0) {
      stopReason = decision.stopReason ?? 'budget';
      break;
    }
    const outcome = await drawRound(decision.size, rounds.length);
    const lost = outcome.undecided ?? 0;
    if (!Number.isInteger(outcome.rollouts) || !Number.isInteger(outcome.successes) || outcome.successes < 0 || outcome.successes > outcome.rollouts || !Number.isInteger(lost) || lost < 0) {
      throw new RangeError(`round outcome needs integers 0 ≤ successes ≤ rollouts and undecided ≥ 0, got ${JSON.stringify(outcome)}`);
    }
    rounds.push(outcome.rollouts + lost);
    k += outcome.successes;
    n += outcome.rollouts;
    undecided += lost;
    if (outcome.rollouts + lost === 0) {
      stopReason = 'stalled';
      break;
    }
  }
  return { k, n, undecided, passRate: n === 0 ? null : k / n, tier: tierOfCounts(k, n, thresholds), rounds, stopReason };
}
