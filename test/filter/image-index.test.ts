import { describe, expect, it } from 'vitest';
import { bandAgreement, imageBandPlan, type Hash256 } from '../../pipelines/filter/image-hash.js';
import { mulberry32 } from '../../pipelines/shared/random.js';

/** A random hash and a copy differing in exactly d random bit positions. */
function pairAt(rand: () => number, d: number): [Hash256, Hash256] {
  const a = Array.from({ length: 8 }, () => Math.floor(rand() * 2 ** 32) >>> 0);
  const b = [...a];
  const positions = Array.from({ length: 256 }, (_, i) => i);
  for (let j = 0; j < d; j++) {
    const k = j + Math.floor(rand() * (256 - j));
    [positions[j], positions[k]] = [positions[k] as number, positions[j] as number];
    const pos = positions[j] as number;
    b[pos >>> 5] = ((b[pos >>> 5] as number) ^ (1 << (31 - (pos & 31)))) >>> 0;
  }
  return [a, b];
}

const sharesBand = (masks: number[][], a: Hash256, b: Hash256): boolean =>
  masks.some((m) => m.every((mask, w) => (((a[w] as number) ^ (b[w] as number)) & mask) === 0));

describe('image near-duplicate index (band layout derived from the number of hashes)', () => {
  it('reaches the target recall at the radius for every size, with band width growing with log2 n', () => {
    let previousBits = 0;
    for (const n of [10, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8]) {
      for (const radius of [24, 48, 64]) {
        for (const recall of [0.9, 0.95, 0.99]) {
          const plan = imageBandPlan(n, radius, recall);
          expect(plan.recallAt(radius)).toBeGreaterThanOrEqual(recall);
          expect(plan.recallAt(radius - 8)).toBeGreaterThan(plan.recallAt(radius));
          expect(plan.masks).toHaveLength(plan.bands);
          for (const m of plan.masks) expect(m.reduce((s, w) => s + popcount(w), 0)).toBe(plan.bits);
        }
      }
      const plan = imageBandPlan(n, 48, 0.95);
      expect(plan.bits).toBeGreaterThanOrEqual(previousBits);
      previousBits = plan.bits;
      // Unrelated candidates per band stay within a small multiple of the number of hashes: no n² term.
      if (n >= 1e5) expect(plan.randomCandidatesPerBand).toBeLessThan(4 * n);
    }
    expect(imageBandPlan(1e7, 48, 0.95).bits).toBeGreaterThan(imageBandPlan(1e5, 48, 0.95).bits);
  });

  it('finds pairs at each distance as often as the analytic recall says, whichever bits differ', () => {
    const rand = mulberry32(7);
    for (const n of [1e3, 1e6]) {
      const plan = imageBandPlan(n, 48, 0.95);
      for (const d of [16, 32, 40, 48, 56, 64]) {
        const trials = 1500;
        let found = 0;
        for (let t = 0; t < trials; t++) {
          const [a, b] = pairAt(rand, d);
          if (sharesBand(plan.masks, a, b)) found++;
        }
        const p = plan.recallAt(d);
        // Binomial: within 5 standard deviations (plus a little for p near 0 or 1).
        const sd = Math.sqrt((p * (1 - p)) / trials);
        expect(Math.abs(found / trials - p)).toBeLessThanOrEqual(5 * sd + 0.005);
      }
    }
  });

  it('gives a random pair a band agreement of about 2^-bits', () => {
    expect(bandAgreement(0, 20)).toBe(1);
    expect(bandAgreement(256, 1)).toBe(0);
    expect(bandAgreement(128, 20)).toBeLessThan(2 ** -20);
    expect(bandAgreement(128, 20)).toBeGreaterThan(2 ** -22);
  });
});

function popcount(x: number): number {
  let c = 0;
  for (let v = x >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}
