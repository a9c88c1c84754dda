/**
 * Adaptive sampling against fixed n, simulated: each sample has a known success rate p (the
 * loopback simulator's), rollouts are Bernoulli(p) draws, and a tier "agrees" when it equals the
 * tier of p itself. Prints rollouts per sample and tier agreement for fixed n and adaptive policies.
 */
import { decideNextRound, fixedPolicy, type AdaptivePolicy } from '../pipelines/difficulty/adaptive.js';
import { DEFAULT_TIER_THRESHOLDS, tierOf, tierOfCounts } from '../pipelines/difficulty/tiers.js';
import { mulberry32 } from '../test/support/openai-server.js';

const SAMPLES = 20_000;

/** Success rates shaped like a policy on GSM8K + MATH: many always solved, some never, the rest spread out. */
export function mathLikeRates(count: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const u = random();
    if (u < 0.35) return 1;
    if (u < 0.45) return 0;
    // Beta(0.7, 0.7)-like by inverse transform of a symmetric U shape
    const x = random();
    return Math.min(0.999, Math.max(0.001, 0.5 - 0.5 * Math.cos(Math.PI * x)));
  });
}

export function simulate(policy: AdaptivePolicy, rates: readonly number[], seed: number): { rolloutsPerSample: number; agreement: number } {
  const random = mulberry32(seed);
  let rollouts = 0;
  let agree = 0;
  const memo = new Map<string, number>();
  for (const p of rates) {
    let k = 0;
    let n = 0;
    for (;;) {
      const key = `${k}/${n}`;
      let size = memo.get(key);
      if (size === undefined) memo.set(key, (size = decideNextRound(k, n, policy).size));
      if (size === 0) break;
      for (let i = 0; i < size; i++) if (random() < p) k++;
      n += size;
    }
    rollouts += n;
    if (tierOfCounts(k, n) === tierOf(p, DEFAULT_TIER_THRESHOLDS)) agree++;
  }
  return { rolloutsPerSample: rollouts / rates.length, agreement: agree / rates.length };
}

export function benchAdaptive(): void {
  const rates = mathLikeRates(SAMPLES, 7);
  process.stdout.write(`adaptive vs fixed n, ${SAMPLES} simulated samples with known rates (35% always solved, 10% never, rest U-shaped), default tiers:\n`);
  const fixed = [4, 8, 12, 16, 20, 24, 32].map((n) => ({ n, ...simulate(fixedPolicy(n), rates, 11) }));
  for (const f of fixed) process.stdout.write(`  ${`fixed n=${f.n}`.padEnd(30)} ${f.rolloutsPerSample.toFixed(2).padStart(6)} rollouts/sample  tier agreement ${(100 * f.agreement).toFixed(1)}%\n`);
  const adaptive: AdaptivePolicy[] = [
    { initialN: 4, roundN: 4, maxN: 16, confidence: 0.9 },
    { initialN: 4, roundN: 2, maxN: 32, confidence: 0.8 },
  ];
  for (const policy of adaptive) {
    const r = simulate(policy, rates, 11);
    // The fixed n that reaches the same agreement, interpolated between the fixed runs.
    const above = fixed.findIndex((f) => f.agreement >= r.agreement);
    let equal = '> 32';
    if (above === 0) equal = `≤ ${fixed[0]!.n}`;
    else if (above > 0) {
      const lo = fixed[above - 1]!;
      const hi = fixed[above]!;
      equal = (lo.n + ((hi.n - lo.n) * (r.agreement - lo.agreement)) / (hi.agreement - lo.agreement)).toFixed(1);
    }
    const name = `adaptive ${policy.initialN}+${policy.roundN}…${policy.maxN} @${policy.confidence}`;
    process.stdout.write(
      `  ${name.padEnd(30)} ${r.rolloutsPerSample.toFixed(2).padStart(6)} rollouts/sample  tier agreement ${(100 * r.agreement).toFixed(1)}%  (fixed n for the same agreement: ${equal})\n`,
    );
  }
}
