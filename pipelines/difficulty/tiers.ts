/**
 * Pass rate → curriculum tier (RLCS). `solved` and `unsolved` are point tiers (every / no rollout
 * correct); the three tiers between them are ranges set by two thresholds:
 *
 *   unsolved  p = 0
 *   hard      0 < p < medium
 *   medium    medium ≤ p < easy
 *   easy      easy ≤ p < 1
 *   solved    p = 1
 *
 * A range can be empty (medium = easy, say); tierOf and tierInterval agree on that.
 */
import type { Tier } from '../../schemas/tier.js';

export type { Tier } from '../../schemas/tier.js';
export type RatedTier = Exclude<Tier, 'unrated'>;

/** Lowest pass rate of the `easy` and of the `medium` tier (same shape as the config's `difficulty.tiers`). */
export interface TierThresholds {
  easy: number;
  medium: number;
}

export const DEFAULT_TIER_THRESHOLDS: Readonly<TierThresholds> = Object.freeze({ easy: 0.75, medium: 0.25 });

/** Rated tiers from the lowest pass rate to the highest. */
export const RATED_TIERS_ASCENDING: readonly RatedTier[] = ['unsolved', 'hard', 'medium', 'easy', 'solved'];

/** A pass-rate range; `loClosed`/`hiClosed` say whether the ends belong to it. */
export interface TierInterval {
  lo: number;
  hi: number;
  loClosed: boolean;
  hiClosed: boolean;
}

export function validateTierThresholds(t: TierThresholds): void {
  const ok = Number.isFinite(t.medium) && Number.isFinite(t.easy) && t.medium >= 0 && t.medium <= t.easy && t.easy <= 1;
  if (!ok) throw new RangeError(`tier thresholds need 0 ≤ medium ≤ easy ≤ 1, got medium=${t.medium}, easy=${t.easy}`);
}

/** The tier of a pass rate; null or NaN (no rollouts) is `unrated`. */
export function tierOf(passRate: number | null, thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS): Tier {
  validateTierThresholds(thresholds);
  if (passRate === null || Number.isNaN(passRate)) return 'unrated';
  if (passRate < 0 || passRate > 1) throw new RangeError(`pass rate must lie in [0, 1], got ${passRate}`);
  if (passRate === 1) return 'solved';
  if (passRate === 0) return 'unsolved';
  if (passRate >= thresholds.easy) return 'easy';
  if (passRate >= thresholds.medium) return 'medium';
  return 'hard';
}

/** The tier of k successes out of n rollouts (`unrated` when n = 0). */
export function tierOfCounts(k: number, n: number, thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS): Tier {
  assertCounts(k, n);
  return tierOf(n === 0 ? null : k / n, thresholds);
}

/** The pass rates a tier covers: exactly the p for which tierOf(p) returns `tier`. */
export function tierInterval(tier: RatedTier, thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS): TierInterval {
  validateTierThresholds(thresholds);
  const { easy, medium } = thresholds;
  switch (tier) {
    case 'solved':
      return { lo: 1, hi: 1, loClosed: true, hiClosed: true };
    case 'easy':
      return { lo: easy, hi: 1, loClosed: true, hiClosed: false };
    case 'medium':
      // p = 0 is `unsolved` even when medium = 0.
      return { lo: medium, hi: easy, loClosed: medium > 0, hiClosed: false };
    case 'hard':
      return { lo: 0, hi: medium, loClosed: false, hiClosed: false };
    case 'unsolved':
      return { lo: 0, hi: 0, loClosed: true, hiClosed: true };
  }
}

export function intervalContains(interval: TierInterval, p: number): boolean {
  const aboveLo = interval.loClosed ? p >= interval.lo : p > interval.lo;
  const belowHi = interval.hiClosed ? p <= interval.hi : p < interval.hi;
  return aboveLo && belowHi;
}

export function isEmptyInterval(interval: TierInterval): boolean {
  if (interval.lo > interval.hi) return true;
  return interval.lo === interval.hi && !(interval.loClosed && interval.hiClosed);
}

export interface ModelPassCount {
  model: string;
  k: number;
  n: number;
}

export interface PooledPassRate {
  k: number;
  n: number;
  /** k / n, or null when no model produced a rollout. */
  passRate: number | null;
  models: string[];
}

/**
 * Pools per-model counts into one k/n. Pooling weights each model by its rollout count, so a model
 * sampled 4× as often counts 4× as much; rate models separately when that is not what you want.
 */
export function combinePassRates(perModel: readonly ModelPassCount[]): PooledPassRate {
  let k = 0;
  let n = 0;
  const models: string[] = [];
  for (const m of perModel) {
    assertCounts(m.k, m.n);
    k += m.k;
    n += m.n;
    if (!models.includes(m.model)) models.push(m.model);
  }
  return { k, n, passRate: n === 0 ? null : k / n, models };
}

function assertCounts(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n) {
    throw new RangeError(`pass counts need integers 0 ≤ k ≤ n, got k=${k}, n=${n}`);
  }
}
