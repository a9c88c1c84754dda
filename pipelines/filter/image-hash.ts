/**
 * A 256-bit DCT perceptual hash (PDQ-style: 64×64 greyscale thumbnail, 16×16 lowest frequencies,
 * each bit "coefficient above the median") and the hash of the horizontally mirrored image, from
 * the same coefficients: mirroring x negates every odd horizontal frequency, so no second decode is
 * needed. The 64-bit hashes computed at ingest separate 5% crops from distinct photos by two bits at
 * best; 256 bits give the margin measured in docs/filter.md.
 */

export const THUMB = 64;
const LOW = 16;

const COS = (() => {
  const table = new Float64Array(LOW * THUMB);
  for (let u = 0; u < LOW; u++) for (let x = 0; x < THUMB; x++) table[u * THUMB + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * THUMB));
  return table;
})();

/** Eight unsigned 32-bit words, most significant first (JSON-safe; DuckDB UINTEGER columns h0..h7). */
export type Hash256 = number[];

export interface ImageHashes {
  hash: Hash256;
  mirrored: Hash256;
}

/** Hashes of a 64×64 single-channel thumbnail (row-major). */
export function dctHash256(thumb: Uint8Array): ImageHashes {
  const rows = new Float64Array(THUMB * LOW);
  for (let y = 0; y < THUMB; y++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      const c = u * THUMB;
      for (let x = 0; x < THUMB; x++) sum += (thumb[y * THUMB + x] as number) * (COS[c + x] as number);
      rows[y * LOW + u] = sum;
    }
  }
  const low = new Float64Array(LOW * LOW);
  for (let v = 0; v < LOW; v++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      const c = v * THUMB;
      for (let y = 0; y < THUMB; y++) sum += (rows[y * LOW + u] as number) * (COS[c + y] as number);
      low[v * LOW + u] = sum;
    }
  }
  const mirroredLow = low.map((value, i) => ((i % LOW) % 2 === 1 ? -value : value));
  return { hash: bitsAboveMedian(low), mirrored: bitsAboveMedian(mirroredLow) };
}

function bitsAboveMedian(values: Float64Array): Hash256 {
  // The DC term (index 0) only carries brightness; it is left out of the median as PDQ does.
  const sorted = Float64Array.from(values.subarray(1)).sort();
  const median = ((sorted[127] as number) + (sorted[126] as number)) / 2;
  const words: Hash256 = [];
  for (let w = 0; w < 8; w++) {
    let word = 0;
    for (let b = 0; b < 32; b++) word = ((word << 1) | ((values[w * 32 + b] as number) > median ? 1 : 0)) >>> 0;
    words.push(word);
  }
  return words;
}

export function hamming256(a: Hash256, b: Hash256): number {
  let bits = 0;
  for (let i = 0; i < 8; i++) bits += popcount32(((a[i] as number) ^ (b[i] as number)) >>> 0);
  return bits;
}

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

/**
 * The near-duplicate index over 256-bit hashes: bit-sampling LSH whose shape is chosen from the
 * number of hashes `n`, not fixed. Band b keeps `bits` distinct, seeded bit positions (as 8 word
 * masks); two hashes are candidates when they agree on every kept bit of some band, and every
 * candidate is verified on the full 256 bits. For a pair at Hamming distance d, one band keeps none
 * of its d differing bits with probability C(256 − d, bits) / C(256, bits) whichever bits they are,
 * so over `bands` independent bands the recall at d is 1 − (1 − that)^bands (for every pair, in
 * expectation over the seeded plan; mirrored hashes only add chances). Random pairs agree on a band
 * with probability 2^−bits, so a band yields ~n²/2^bits unrelated candidates: `bits` grows with
 * log2 n (the candidates per band stay proportional to n) and `bands` grows to hold the recall at
 * the radius. The work is then ~n^(1+ρ) with ρ = ln(1 − r/256) / ln(1/2) (0.30 at r = 48), instead
 * of the n² of a fixed band width.
 */
export interface ImageBandPlan {
  bits: number;
  bands: number;
  /** Per band, 8 masks over the hash words h0..h7 (most significant bit first, as `Hash256`). */
  masks: number[][];
  /** Expected recall of a pair at Hamming distance d (before verification against the radius). */
  recallAt(d: number): number;
  /** Expected unrelated candidates per band for uniformly random hashes (direct and mirrored). */
  randomCandidatesPerBand: number;
}

/** Probability that one band of `bits` distinct sampled positions avoids all d differing bits. */
export function bandAgreement(d: number, bits: number): number {
  let p = 1;
  for (let j = 0; j < bits; j++) p *= Math.max(0, 256 - d - j) / (256 - j);
  return p;
}

export function bandsForRecall(radius: number, bits: number, recall: number): number {
  const p = bandAgreement(radius, bits);
  if (p >= 1) return 1;
  if (p <= 0) throw new Error(`no band of ${bits} bits can find pairs at distance ${radius}`);
  return Math.max(1, Math.ceil(Math.log(1 - recall) / Math.log(1 - p)));
}

/**
 * Work per band in units of one hash (its keys computed, built into and probed against the join),
 * measured on the reduce's band query (DuckDB, 100k, 1M and 10M random hashes: ~0.26 µs CPU per hash):
 * a candidate pair (a join match verified on 256 bits) costs about as much as a hash, and a query has
 * a fixed cost of ~0.35M hashes.
 */
const CANDIDATE_COST = 1;
const BAND_OVERHEAD = 3.5e5;

/**
 * The cheapest plan that reaches `recall` at distance `radius` among `n` hashes: `bits` is the argmin
 * over 12..40 of bands × (n + CANDIDATE_COST × random candidates + BAND_OVERHEAD), where a band sees
 * ~n²/2 · 2^−bits colliding pairs (three times that with mirrored hashes). Real photos collide more
 * often than random hashes (their distinct pairs sit nearer 122 bits than 128), so this is a floor.
 */
export function imageBandPlan(n: number, radius: number, recall: number, flips = true): ImageBandPlan {
  const pairsPerCollision = flips ? 1.5 : 0.5;
  let best: { bits: number; bands: number; cost: number } | null = null;
  for (let bits = 12; bits <= 40; bits++) {
    const bands = bandsForRecall(radius, bits, recall);
    const cost = bands * (n + CANDIDATE_COST * pairsPerCollision * n * n * 2 ** -bits + BAND_OVERHEAD);
    if (!best || cost < best.cost) best = { bits, bands, cost };
  }
  const { bits, bands } = best as { bits: number; bands: number };
  const positions = bandPositions(bands, bits);
  const masks: number[][] = [];
  for (let b = 0; b < bands; b++) {
    const words = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < bits; j++) {
      const pos = positions[b * bits + j] as number;
      words[pos >>> 5] = ((words[pos >>> 5] as number) | (1 << (31 - (pos & 31)))) >>> 0;
    }
    masks.push(words);
  }
  const p = (d: number): number => 1 - (1 - bandAgreement(d, bits)) ** bands;
  return { bits, bands, masks, recallAt: p, randomCandidatesPerBand: pairsPerCollision * n * n * 2 ** -bits };
}

/**
 * Seeded positions: each band samples `bits` distinct positions (a partial Fisher–Yates shuffle of
 * 0..255, one xorshift stream), so the plan for `bands` is a prefix of the plan for more bands.
 */
function bandPositions(bands: number, bits: number): Uint16Array {
  const plan = new Uint16Array(bands * bits);
  let seed = 0x9e3779b9;
  const next = (): number => {
    seed = (seed ^ (seed << 13)) >>> 0;
    seed = (seed ^ (seed >>> 17)) >>> 0;
    seed = (seed ^ (seed << 5)) >>> 0;
    return seed;
  };
  const positions = Array.from({ length: 256 }, (_, i) => i);
  for (let b = 0; b < bands; b++) {
    for (let j = 0; j < bits; j++) {
      const k = j + (next() % (256 - j));
      [positions[j], positions[k]] = [positions[k] as number, positions[j] as number];
      plan[b * bits + j] = positions[j] as number;
    }
  }
  return plan;
}
