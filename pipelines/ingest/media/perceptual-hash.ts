/**
 * 64-bit perceptual hashes computed from one 32×32 greyscale thumbnail (one decode gives both):
 * - dHash: the thumbnail area-resampled to 9×8, then 8 rows × 8 "left brighter than right" bits;
 * - pHash (imagehash style): the 8×8 lowest frequencies of the thumbnail's 2-D DCT-II, each bit
 *   "coefficient above the median".
 * Both are 16 hex digits, first bit most significant, compared by Hamming distance.
 */

export const HASH_THUMB_SIZE = 32;

/** Difference hash of a 32×32 single-channel thumbnail. */
export function dHash(thumb: Uint8Array): string {
  const small = resampleArea(thumb, HASH_THUMB_SIZE, HASH_THUMB_SIZE, 9, 8);
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) hash = (hash << 1n) | ((small[y * 9 + x] as number) > (small[y * 9 + x + 1] as number) ? 1n : 0n);
  }
  return hex64(hash);
}

/** DCT hash of a 32×32 single-channel thumbnail. */
export function pHash(thumb: Uint8Array): string {
  const n = HASH_THUMB_SIZE;
  const rows = new Float64Array(n * 8); // DCT along x, first 8 frequencies
  for (let y = 0; y < n; y++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let x = 0; x < n; x++) sum += (thumb[y * n + x] as number) * COS[u * n + x]!;
      rows[y * 8 + u] = sum;
    }
  }
  const low = new Float64Array(64); // then along y
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let y = 0; y < n; y++) sum += rows[y * 8 + u]! * COS[v * n + y]!;
      low[v * 8 + u] = sum;
    }
  }
  const sorted = Float64Array.from(low).sort();
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hash = 0n;
  for (let i = 0; i < 64; i++) hash = (hash << 1n) | (low[i]! > median ? 1n : 0n);
  return hex64(hash);
}

export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let bits = 0;
  while (x) {
    bits += Number(x & 1n);
    x >>= 1n;
  }
  return bits;
}

const COS = (() => {
  const n = HASH_THUMB_SIZE;
  const table = new Float64Array(8 * n);
  for (let u = 0; u < 8; u++) for (let x = 0; x < n; x++) table[u * n + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
  return table;
})();

function hex64(hash: bigint): string {
  return hash.toString(16).padStart(16, '0');
}

/** Box (area-average) downsampling with fractional pixel overlaps. */
function resampleArea(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Float64Array {
  const wx = overlapWeights(sw, dw);
  const wy = overlapWeights(sh, dh);
  const out = new Float64Array(dw * dh);
  for (const [dy, sy, fy] of wy) {
    for (const [dx, sx, fx] of wx) {
      const i = dy * dw + dx;
      out[i] = (out[i] as number) + (src[sy * sw + sx] as number) * fx * fy;
    }
  }
  return out;
}

/** [target index, source index, weight] triples; each target's weights sum to 1. */
function overlapWeights(from: number, to: number): Array<[number, number, number]> {
  const scale = from / to;
  const weights: Array<[number, number, number]> = [];
  for (let d = 0; d < to; d++) {
    const start = d * scale;
    const end = start + scale;
    for (let s = Math.floor(start); s < Math.ceil(end); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s);
      if (overlap > 0) weights.push([d, s, overlap / scale]);
    }
  }
  return weights;
}
