import { fmix32 } from './text.js';

/**
 * MinHash over 32-bit shingle hashes: permutation i is `fmix32(h ^ seed_i)` (a seeded bijection),
 * and the signature keeps each permutation's minimum. The reduce hashes bands of `rows` values into
 * LSH keys from the stored signatures (text-clusters.ts); pairs sharing a band are verified by the
 * fraction of equal signature values (an unbiased estimate of their Jaccard similarity).
 */
export class MinHasher {
  private readonly seeds: Uint32Array;

  constructor(readonly permutations: number) {
    this.seeds = new Uint32Array(permutations);
    for (let i = 0; i < permutations; i++) this.seeds[i] = fmix32((0x5bd1e995 + Math.imul(i + 1, 0x9e3779b9)) >>> 0);
  }

  signature(shingles: Uint32Array): Uint32Array {
    const sig = new Uint32Array(this.permutations).fill(0xffffffff);
    const seeds = this.seeds;
    const p = this.permutations;
    for (let s = 0; s < shingles.length; s++) {
      const h = shingles[s] as number;
      for (let i = 0; i < p; i++) {
        let x = (h ^ (seeds[i] as number)) >>> 0;
        x ^= x >>> 16;
        x = Math.imul(x, 0x85ebca6b);
        x ^= x >>> 13;
        x = Math.imul(x, 0xc2b2ae35);
        x = (x ^ (x >>> 16)) >>> 0;
        if (x < (sig[i] as number)) sig[i] = x;
      }
    }
    return sig;
  }
}

/** Fraction of equal values: the MinHash estimate of Jaccard similarity. */
export function estimatedJaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}
