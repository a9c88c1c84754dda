import { mulberry32 } from '../shared/random.js';

/**
 * Spherical k-means (cosine) on L2-normalised vectors: seeded k-means++ initialisation, then Lloyd
 * iterations where a centroid is the normalised mean of its members. Deterministic for a seed.
 */
export interface KMeansResult {
  centroids: Float32Array[];
  iterations: number;
}


function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function nearest(v: Float32Array, centroids: Float32Array[]): number {
  let best = 0;
  let bestSim = -Infinity;
  for (const [c, centroid] of centroids.entries()) {
    const s = dot(v, centroid);
    if (s > bestSim) {
      bestSim = s;
      best = c;
    }
  }
  return best;
}

export function kmeans(vectors: Float32Array[], k: number, opts: { iterations: number; seed: number }): KMeansResult {
  if (!vectors.length) return { centroids: [], iterations: 0 };
  const n = vectors.length;
  k = Math.min(k, n);
  const dim = (vectors[0] as Float32Array).length;
  const random = mulberry32(opts.seed);
  // k-means++: the next centroid is drawn with probability ∝ squared distance (2 − 2·cos) to the nearest chosen one
  const centroids: Float32Array[] = [Float32Array.from(vectors[Math.floor(random() * n)] as Float32Array)];
  const dist = new Float64Array(n).fill(Infinity);
  while (centroids.length < k) {
    const last = centroids[centroids.length - 1] as Float32Array;
    let total = 0;
    for (let i = 0; i < n; i++) {
      dist[i] = Math.min(dist[i] as number, Math.max(0, 2 - 2 * dot(vectors[i] as Float32Array, last)));
      total += dist[i] as number;
    }
    if (total === 0) break; // fewer distinct points than k
    let r = random() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= dist[i] as number;
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    centroids.push(Float32Array.from(vectors[pick] as Float32Array));
  }
  const assign = new Int32Array(n).fill(-1);
  let iterations = 0;
  for (; iterations < opts.iterations; iterations++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const c = nearest(vectors[i] as Float32Array, centroids);
      if (c !== assign[i]) changed++;
      assign[i] = c;
    }
    if (changed === 0 && iterations > 0) break;
    const sums = centroids.map(() => new Float64Array(dim));
    for (let i = 0; i < n; i++) {
      const s = sums[assign[i] as number] as Float64Array;
      const v = vectors[i] as Float32Array;
      for (let j = 0; j < dim; j++) s[j] = (s[j] as number) + (v[j] as number);
    }
    for (const [c, s] of sums.entries()) {
      let norm = 0;
      for (const x of s) norm += x * x;
      norm = Math.sqrt(norm);
      if (norm === 0) continue; // an empty cluster keeps its centroid
      const centroid = centroids[c] as Float32Array;
      for (let j = 0; j < dim; j++) centroid[j] = (s[j] as number) / norm;
    }
  }
  return { centroids, iterations };
}
