import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIER_THRESHOLDS,
  RATED_TIERS_ASCENDING,
  combinePassRates,
  intervalContains,
  isEmptyInterval,
  tierInterval,
  tierOf,
  tierOfCounts,
  type TierThresholds,
} from '../../pipelines/difficulty/tiers.js';

describe('tierOf', () => {
  it('applies the default RLCS thresholds', () => {
    const cases: Array<[number, string]> = [
      [0, 'unsolved'],
      [1e-9, 'hard'],
      [0.2499, 'hard'],
      [0.25, 'medium'],
      [0.5, 'medium'],
      [0.7499, 'medium'],
      [0.75, 'easy'],
      [0.999, 'easy'],
      [1, 'solved'],
    ];
    for (const [p, tier] of cases) expect(tierOf(p), `p=${p}`).toBe(tier);
    expect(DEFAULT_TIER_THRESHOLDS).toEqual({ easy: 0.75, medium: 0.25 });
  });

  it('puts exact k/n on the threshold into the upper tier', () => {
    expect(tierOfCounts(4, 16)).toBe('medium');
    expect(tierOfCounts(12, 16)).toBe('easy');
    expect(tierOfCounts(3, 4)).toBe('easy');
    expect(tierOfCounts(3, 10, { easy: 0.8, medium: 0.3 })).toBe('medium');
  });

  it('is unrated without rollouts and refuses impossible rates', () => {
    expect(tierOf(null)).toBe('unrated');
    expect(tierOf(Number.NaN)).toBe('unrated');
    expect(tierOfCounts(0, 0)).toBe('unrated');
    expect(() => tierOf(-0.1)).toThrow(RangeError);
    expect(() => tierOf(1.1)).toThrow(RangeError);
    expect(() => tierOfCounts(5, 4)).toThrow(RangeError);
    expect(() => tierOfCounts(1.5, 4)).toThrow(RangeError);
  });

  it('takes custom thresholds and rejects inconsistent ones', () => {
    const t = { easy: 0.9, medium: 0.5 };
    expect(tierOf(0.89, t)).toBe('medium');
    expect(tierOf(0.9, t)).toBe('easy');
    expect(tierOf(0.49, t)).toBe('hard');
    expect(() => tierOf(0.5, { easy: 0.3, medium: 0.6 })).toThrow(/medium ≤ easy/);
    expect(() => tierOf(0.5, { easy: 1.2, medium: 0.6 })).toThrow(RangeError);
  });
});

describe('tierInterval', () => {
  const thresholdSets: TierThresholds[] = [DEFAULT_TIER_THRESHOLDS, { easy: 0.9, medium: 0.1 }, { easy: 0.5, medium: 0.5 }, { easy: 1, medium: 0 }];
  const grid = [...Array.from({ length: 1001 }, (_, i) => i / 1000), 1e-12, 1 - 1e-12, 0.25 - 1e-12, 0.75 - 1e-12];

  it('covers exactly the pass rates tierOf maps to the tier, so the tiers partition [0, 1]', () => {
    for (const t of thresholdSets) {
      for (const p of grid) {
        const containing = RATED_TIERS_ASCENDING.filter((tier) => intervalContains(tierInterval(tier, t), p));
        expect(containing, `p=${p} thresholds=${JSON.stringify(t)}`).toEqual([tierOf(p, t)]);
      }
    }
  });

  it('reports the open and closed ends', () => {
    expect(tierInterval('solved')).toEqual({ lo: 1, hi: 1, loClosed: true, hiClosed: true });
    expect(tierInterval('easy')).toEqual({ lo: 0.75, hi: 1, loClosed: true, hiClosed: false });
    expect(tierInterval('medium')).toEqual({ lo: 0.25, hi: 0.75, loClosed: true, hiClosed: false });
    expect(tierInterval('hard')).toEqual({ lo: 0, hi: 0.25, loClosed: false, hiClosed: false });
    expect(tierInterval('unsolved')).toEqual({ lo: 0, hi: 0, loClosed: true, hiClosed: true });
  });

  it('marks tiers that thresholds leave empty', () => {
    expect(isEmptyInterval(tierInterval('medium', { easy: 0.5, medium: 0.5 }))).toBe(true);
    expect(isEmptyInterval(tierInterval('hard', { easy: 0.5, medium: 0 }))).toBe(true);
    expect(isEmptyInterval(tierInterval('easy', { easy: 1, medium: 0.5 }))).toBe(true);
    expect(RATED_TIERS_ASCENDING.some((tier) => isEmptyInterval(tierInterval(tier)))).toBe(false);
  });
});

describe('combinePassRates', () => {
  it('pools k and n over models', () => {
    expect(
      combinePassRates([
        { model: 'glm-4.1v', k: 3, n: 8 },
        { model: 'qwen2.5-vl', k: 5, n: 8 },
        { model: 'glm-4.1v', k: 1, n: 4 },
      ]),
    ).toEqual({ k: 9, n: 20, passRate: 0.45, models: ['glm-4.1v', 'qwen2.5-vl'] });
  });

  it('has no pass rate without rollouts and refuses bad counts', () => {
    expect(combinePassRates([])).toEqual({ k: 0, n: 0, passRate: null, models: [] });
    expect(combinePassRates([{ model: 'm', k: 0, n: 0 }]).passRate).toBeNull();
    expect(() => combinePassRates([{ model: 'm', k: 3, n: 2 }])).toThrow(RangeError);
  });
});
