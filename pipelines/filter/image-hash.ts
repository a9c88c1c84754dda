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
 * Locality-sensitive band keys by bit sampling: band i hashes a fixed, seeded choice of `bits`
 * positions, so two hashes within a small Hamming distance share some band with high probability
 * (docs/filter.md has the numbers). Keys are 32-bit unsigned.
 */
export function hashBands(hash: Hash256, bands: number, bits: number): number[] {
  const plan = bandPlan(bands, bits);
  const keys: number[] = [];
  for (let b = 0; b < bands; b++) {
    let key = 0;
    for (let j = 0; j < bits; j++) {
      const pos = plan[b * bits + j] as number;
      const bit = ((hash[pos >>> 5] as number) >>> (31 - (pos & 31))) & 1;
      key = ((key << 1) | bit) >>> 0;
    }
    keys.push(key);
  }
  return keys;
}

const plans = new Map<string, Uint16Array>();
function bandPlan(bands: number, bits: number): Uint16Array {
  const id = `${bands}x${bits}`;
  let plan = plans.get(id);
  if (!plan) {
    plan = new Uint16Array(bands * bits);
    let seed = 0x9e3779b9;
    const next = (): number => {
      seed = (seed ^ (seed << 13)) >>> 0;
      seed = (seed ^ (seed >>> 17)) >>> 0;
      seed = (seed ^ (seed << 5)) >>> 0;
      return seed;
    };
    // Each band samples `bits` distinct positions (a partial Fisher–Yates shuffle of 0..255).
    const positions = Array.from({ length: 256 }, (_, i) => i);
    for (let b = 0; b < bands; b++) {
      for (let j = 0; j < bits; j++) {
        const k = j + (next() % (256 - j));
        [positions[j], positions[k]] = [positions[k] as number, positions[j] as number];
        plan[b * bits + j] = positions[j] as number;
      }
    }
    plans.set(id, plan);
  }
  return plan;
}
