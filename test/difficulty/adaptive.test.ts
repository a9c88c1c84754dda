import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clopperPearsonInterval,
  decideNextRound,
  fixedPolicy,
  nextRoundSize,
  rateAdaptively,
  tierAgreementAtMaxN,
  validateAdaptivePolicy,
  type AdaptivePolicy,
  type RoundDecision,
} from '../../pipelines/difficulty/adaptive.js';
import { RolloutClient } from '../../pipelines/difficulty/rollout-client.js';
import { DEFAULT_TIER_THRESHOLDS, tierOf, tierOfCounts, type TierThresholds } from '../../pipelines/difficulty/tiers.js';
import { FAKE_MODEL, boxedAnswer, itemTag, mulberry32, startFakePolicyServer, type FakePolicyServer } from '../support/openai-server.js';

const POLICY: AdaptivePolicy = { initialN: 4, roundN: 4, maxN: 32, confidence: 0.9 };

/** Every n at which a policy looks, given full rounds. */
function looks(policy: AdaptivePolicy): number[] {
  const ns = [policy.initialN];
  while (ns.at(-1)! < policy.maxN) ns.push(Math.min(ns.at(-1)! + policy.roundN, policy.maxN));
  return ns;
}

/** Simulates one sample with true pass rate p; decisions are memoised since they depend on (k, n) only. */
function simulator(policy: AdaptivePolicy, thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS) {
  const memo = new Map<string, RoundDecision>();
  const decide = (k: number, n: number) => {
    const key = `${k}/${n}`;
    let d = memo.get(key);
    if (!d) memo.set(key, (d = decideNextRound(k, n, policy, thresholds)));
    return d;
  };
  return (p: number, random: () => number) => {
    const outcomes = Array.from({ length: policy.maxN }, () => (random() < p ? 1 : 0));
    let k = 0;
    let n = 0;
    let decision = decide(0, 0);
    while (decision.size > 0) {
      for (let i = 0; i < decision.size; i++) k += outcomes[n++]!;
      decision = decide(k, n);
    }
    const fullK = outcomes.reduce<number>((a, b) => a + b, 0);
    return { k, n, reason: decision.stopReason, tier: tierOfCounts(k, n, thresholds), fullTier: tierOfCounts(fullK, policy.maxN, thresholds) };
  };
}

function binomialPmf(j: number, n: number, p: number): number {
  let c = 1;
  for (let i = 1; i <= j; i++) c = (c * (n - j + i)) / i;
  return c * p ** j * (1 - p) ** (n - j);
}

describe('clopperPearsonInterval', () => {
  it('matches published values', () => {
    const { lo, hi } = clopperPearsonInterval(3, 10, 0.95);
    expect(lo).toBeCloseTo(0.0667, 4);
    expect(hi).toBeCloseTo(0.6525, 4);
    expect(clopperPearsonInterval(0, 10, 0.95)).toEqual({ lo: 0, hi: expect.closeTo(1 - 0.025 ** 0.1, 12) });
    expect(clopperPearsonInterval(10, 10, 0.95)).toEqual({ lo: expect.closeTo(0.025 ** 0.1, 12), hi: 1 });
    expect(clopperPearsonInterval(5, 7, 1)).toEqual({ lo: 0, hi: 1 });
  });

  it('covers the true rate with at least the nominal probability', () => {
    for (const n of [4, 16, 40]) {
      const intervals = Array.from({ length: n + 1 }, (_, k) => clopperPearsonInterval(k, n, 0.9));
      for (const p of [0.001, 0.05, 0.2, 0.25, 0.5, 0.74, 0.9, 0.999]) {
        const coverage = intervals.reduce((sum, { lo, hi }, k) => sum + (lo <= p && p <= hi ? binomialPmf(k, n, p) : 0), 0);
        expect(coverage, `n=${n} p=${p}`).toBeGreaterThanOrEqual(0.9 - 1e-9);
      }
    }
  });
});

describe('nextRoundSize', () => {
  it('starts with initialN, continues in rounds of roundN, and stops at maxN', () => {
    const p: AdaptivePolicy = { initialN: 4, roundN: 6, maxN: 13, confidence: 1 };
    expect(nextRoundSize(0, 0, p)).toBe(4);
    expect(nextRoundSize(2, 4, p)).toBe(6);
    expect(nextRoundSize(3, 10, p)).toBe(3);
    expect(nextRoundSize(6, 13, p)).toBe(0);
    expect(decideNextRound(6, 13, p).stopReason).toBe('budget');
  });

  it('is non-adaptive when initialN = maxN', () => {
    for (let k = 0; k <= 8; k++) expect(nextRoundSize(k, 8, fixedPolicy(8))).toBe(0);
    expect(nextRoundSize(0, 0, fixedPolicy(8))).toBe(8);
  });

  it('with confidence 1, stops before maxN exactly when no outcome of the remaining rollouts changes the tier', () => {
    const policies: AdaptivePolicy[] = [
      { initialN: 4, roundN: 4, maxN: 16, confidence: 1 },
      { initialN: 2, roundN: 3, maxN: 11, confidence: 1 },
      { initialN: 1, roundN: 1, maxN: 9, confidence: 1 },
    ];
    const thresholdSets: TierThresholds[] = [DEFAULT_TIER_THRESHOLDS, { easy: 0.6, medium: 0.4 }, { easy: 0.5, medium: 0.5 }];
    let earlyStops = 0;
    for (const policy of policies) {
      for (const t of thresholdSets) {
        for (const n of looks(policy).filter((x) => x < policy.maxN)) {
          for (let k = 0; k <= n; k++) {
            const remaining = policy.maxN - n;
            const tier = tierOfCounts(k, n, t);
            // Any later stop: m more rollouts, j of them correct.
            let couldChange = false;
            for (let m = 1; m <= remaining && !couldChange; m++) {
              for (let j = 0; j <= m; j++) if (tierOfCounts(k + j, n + m, t) !== tier) couldChange = true;
            }
            const decision = decideNextRound(k, n, policy, t);
            expect(decision.size === 0, `k=${k} n=${n} ${JSON.stringify(policy)} ${JSON.stringify(t)}`).toBe(!couldChange);
            if (decision.size === 0) {
              expect(decision.stopReason).toBe('decided');
              earlyStops++;
            }
          }
        }
      }
    }
    expect(earlyStops).toBeGreaterThan(0);
  });

  it('with confidence 1, always ends in the tier that maxN rollouts give', () => {
    const policy = { ...POLICY, confidence: 1 };
    const run = simulator(policy);
    const random = mulberry32(5);
    for (let i = 0; i < 3000; i++) {
      const result = run(random(), random);
      expect(result.tier).toBe(result.fullTier);
    }
  });

  it('computes the chance that maxN rollouts keep the tier exactly (beta-binomial under the Jeffreys posterior)', () => {
    // Reference: numerical integration of P(tier at maxN = tier now | p) against Beta(k + ½, n − k + ½).
    const reference = (k: number, n: number, maxN: number, t: TierThresholds) => {
      const tier = tierOfCounts(k, n, t);
      const r = maxN - n;
      let num = 0;
      let den = 0;
      const steps = 20_000;
      for (let i = 0; i < steps; i++) {
        const p = (i + 0.5) / steps;
        const w = p ** (k - 0.5) * (1 - p) ** (n - k - 0.5);
        let same = 0;
        for (let x = 0; x <= r; x++) if (tierOfCounts(k + x, maxN, t) === tier) same += binomialPmf(x, r, p);
        num += w * same;
        den += w;
      }
      return num / den;
    };
    const random = mulberry32(17);
    for (let trial = 0; trial < 60; trial++) {
      const n = 1 + Math.floor(random() * 20);
      const k = Math.floor(random() * (n + 1));
      const maxN = n + Math.floor(random() * 20);
      const medium = Math.round(random() * 50) / 100;
      const t = { medium, easy: medium + Math.round(random() * 50) / 100 };
      // The midpoint rule is crude at the integrable singularities p → 0, 1; 1e-2 is far below any confidence in use.
      expect(tierAgreementAtMaxN(k, n, maxN, t), `k=${k} n=${n} maxN=${maxN} ${JSON.stringify(t)}`).toBeCloseTo(reference(k, n, maxN, t), 2);
    }
    expect(tierAgreementAtMaxN(3, 8, 8)).toBe(1);
    expect(() => tierAgreementAtMaxN(3, 8, 7)).toThrow(RangeError);
  });

  it('stops exactly when that chance reaches the confidence, and labels the tier it has', () => {
    for (let n = 4; n < POLICY.maxN; n += 4) {
      for (let k = 0; k <= n; k++) {
        const d = decideNextRound(k, n, POLICY);
        if (d.stopReason === 'decided') continue;
        expect(d.agreement).toBeCloseTo(tierAgreementAtMaxN(k, n, POLICY.maxN), 12);
        expect(d.size === 0).toBe(d.agreement! >= POLICY.confidence);
      }
    }
    // 8/16 is medium and far from both thresholds; 4/16 sits on one.
    expect(decideNextRound(8, 16, POLICY)).toMatchObject({ size: 0, stopReason: 'confident' });
    expect(nextRoundSize(4, 16, POLICY)).toBe(4);
  });

  it('at equal tier agreement uses fewer rollouts than fixed n, on rate distributions of every shape', () => {
    const random = mulberry32(23);
    const shapes: Record<string, () => number> = {
      uniform: () => random(),
      'u-shaped': () => 0.5 - 0.5 * Math.cos(Math.PI * random()),
      'many always / never solved': () => (random() < 0.35 ? 1 : random() < 0.15 ? 0 : random()),
      'mostly easy': () => Math.sqrt(random()),
      grid: () => Math.round(random() * 20) / 20,
    };
    const policy: AdaptivePolicy = { initialN: 4, roundN: 2, maxN: 32, confidence: 0.8 };
    const evaluate = (pol: AdaptivePolicy, rates: number[]) => {
      const run = simulator(pol);
      const draw = mulberry32(5);
      let rollouts = 0;
      let agree = 0;
      for (const p of rates) {
        const r = run(p, draw);
        rollouts += r.n;
        if (r.tier === tierOf(p)) agree++;
      }
      return { perSample: rollouts / rates.length, agreement: agree / rates.length };
    };
    for (const [name, draw] of Object.entries(shapes)) {
      const rates = Array.from({ length: 4000 }, draw);
      const adaptive = evaluate(policy, rates);
      // Fixed n with as many rollouts as adaptive spent (rounded up) agrees with the true tier less often.
      const fixed = evaluate(fixedPolicy(Math.ceil(adaptive.perSample)), rates);
      expect(adaptive.agreement, `${name}: adaptive ${JSON.stringify(adaptive)} vs fixed ${JSON.stringify(fixed)}`).toBeGreaterThan(fixed.agreement);
    }
  });

  it('spends its rollouts where they can still change the label', () => {
    const run = simulator(POLICY);
    const random = mulberry32(11);
    const meanN = (p: number) => {
      let total = 0;
      for (let i = 0; i < 1000; i++) total += run(p, random).n;
      return total / 1000;
    };
    expect(meanN(0.5)).toBeLessThan(POLICY.maxN / 2);
    expect(meanN(0.5)).toBeLessThan(meanN(0.25));
    expect(meanN(0.5)).toBeLessThan(meanN(0.75));
    expect(meanN(1)).toBeLessThan(POLICY.maxN);
    expect(meanN(0)).toBeLessThan(POLICY.maxN);
  });

  it('refuses impossible policies', () => {
    expect(() => validateAdaptivePolicy({ initialN: 8, roundN: 4, maxN: 4, confidence: 0.9 })).toThrow(RangeError);
    expect(() => validateAdaptivePolicy({ initialN: 0, roundN: 4, maxN: 4, confidence: 0.9 })).toThrow(RangeError);
    expect(() => validateAdaptivePolicy({ initialN: 4, roundN: 4, maxN: 8, confidence: 0 })).toThrow(RangeError);
    expect(() => nextRoundSize(5, 4, POLICY)).toThrow(RangeError);
  });
});

describe('rateAdaptively', () => {
  it('records the rounds, the n used and why it stopped', async () => {
    const sizes: number[] = [];
    const outcome = await rateAdaptively(async (size) => (sizes.push(size), { rollouts: size, successes: 0 }), POLICY);
    const rounds = sizes.map(() => 4);
    expect(sizes).toEqual(rounds);
    expect(sizes.length).toBeLessThan(POLICY.maxN / 4);
    expect(outcome).toEqual({ k: 0, n: 4 * sizes.length, undecided: 0, passRate: 0, tier: 'unsolved', rounds, stopReason: 'confident' });
  });

  it('draws one round of maxN without adaptivity', async () => {
    const outcome = await rateAdaptively(async (size) => ({ rollouts: size, successes: 3 }), fixedPolicy(8));
    expect(outcome).toMatchObject({ k: 3, n: 8, rounds: [8], stopReason: 'budget', tier: 'medium' });
  });

  it('counts only the rollouts that came back, and stops when a round brings none', async () => {
    const asked: number[] = [];
    const short = await rateAdaptively(async (size) => (asked.push(size), { rollouts: Math.max(1, size - 1), successes: 0 }), { ...POLICY, confidence: 1, maxN: 12 });
    expect(asked).toEqual([4, 4, 4, 3, 1]);
    expect(short.rounds).toEqual([3, 3, 3, 2, 1]);
    expect(short).toMatchObject({ n: 12, stopReason: 'budget' });
    const stalled = await rateAdaptively(async (_size, round) => ({ rollouts: round === 0 ? 4 : 0, successes: round === 0 ? 2 : 0 }), POLICY);
    expect(stalled).toMatchObject({ k: 2, n: 4, rounds: [4, 0], stopReason: 'stalled', tier: 'medium' });
    await expect(rateAdaptively(async () => ({ rollouts: 2, successes: 3 }), POLICY)).rejects.toThrow(RangeError);
  });

  describe('against the fake policy server', () => {
    let server: FakePolicyServer;
    const items = [
      { id: 'never', p: 0, answer: '1' },
      { id: 'always', p: 1, answer: '2' },
      { id: 'coin', p: 0.5, answer: '3' },
    ];
    beforeAll(async () => {
      server = await startFakePolicyServer({ items, seed: 4, faults: { rates: { '500': 0.2 } } });
    });
    afterAll(() => server.close());

    it('stops every item before maxN and loses no rollout', async () => {
      const client = new RolloutClient({
        endpoint: { name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL },
        concurrency: 4,
        maxRetries: 10,
        timeoutMs: 2_000,
        backoff: { baseMs: 1, maxMs: 5 },
      });
      const outcomes = await Promise.all(
        items.map((item) =>
          rateAdaptively(async (size) => {
            const result = await client.complete([{ role: 'user', content: `${itemTag(item.id)} Solve it.` }], { n: size, temperature: 1, topP: 1, maxTokens: 64 });
            return { rollouts: result.choices.length, successes: result.choices.filter((c) => boxedAnswer(c.text) === item.answer).length };
          }, POLICY),
        ),
      );
      const [never, always] = outcomes;
      expect(never).toMatchObject({ k: 0, tier: 'unsolved', stopReason: 'confident' });
      expect(always).toMatchObject({ tier: 'solved', stopReason: 'confident' });
      expect(always!.k).toBe(always!.n);
      for (const o of outcomes) expect(o!.n).toBeLessThan(POLICY.maxN);
      for (const [i, item] of items.entries()) {
        expect(server.stats.choicesByItem.get(item.id)).toEqual({ returned: outcomes[i]!.n, correct: outcomes[i]!.k });
      }
    });
  });
});
