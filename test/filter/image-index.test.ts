import { DuckDBInstance } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterSchema } from '../../pipelines/filter/config.js';
import { bandAgreement, imageBandPlan, type Hash256 } from '../../pipelines/filter/image-hash.js';
import { reduceFilter } from '../../pipelines/filter/reduce.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { sqlString } from '../../pipelines/shared/store/duckdb.js';
import { writeImageUnit } from './_clustered.js';

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

describe('image near-duplicate reduce (DuckDB) with the derived band layout', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-image-index-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function reduce(name: string, units: Record<string, Record<string, string[]>>, changed: string[], previous: string | null) {
    const outDir = join(dir, name);
    await mkdir(outDir, { recursive: true });
    const unitMap = new Map(Object.entries(units).map(([id, files]) => [id, { files, outputHash: id }]));
    const files: Record<string, string[]> = {};
    for (const f of Object.values(units)) for (const [output, list] of Object.entries(f)) (files[output] ??= []).push(...list);
    const result = await reduceFilter(filterSchema.parse({}), { rank: 0, files }, [], { units: unitMap, changed: new Set(changed), previous, outDir });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const rows = (await conn.runAndReadAll(`SELECT sample_id, dup_of FROM read_parquet(${sqlString(join(outDir, 'decisions.parquet'))}) WHERE action = 'drop' ORDER BY 1`)).getRowObjectsJson();
    conn.closeSync();
    db.closeSync();
    return { summary: result.summary as { incremental: boolean; imageIndex: { bits: number; bands: number } }, drops: new Map(rows.map((r) => [String(r.sample_id), String(r.dup_of)])) };
  }

  it('finds planted copies within the radius, never random hashes, and matches a new unit against the earlier one incrementally', async () => {
    const rand = mulberry32(11);
    const random = (): Hash256 => Array.from({ length: 8 }, () => Math.floor(rand() * 2 ** 32) >>> 0);
    // The old unit: 1,500 random hashes, the first 40 with a copy at distance 4..36 inside the same unit.
    const old: { media: string; hash: Hash256; mirrored: Hash256; width: number }[] = [];
    for (let i = 0; i < 1500; i++) old.push({ media: `m${String(i).padStart(5, '0')}`, hash: random(), mirrored: random(), width: 10 });
    for (let i = 0; i < 40; i++) old.push({ media: `n${String(i).padStart(5, '0')}`, hash: flip(rand, old[i]!.hash, 4 + (i % 9) * 4), mirrored: random(), width: 5 });
    // The new unit: copies of old hashes (media ids that sort before every old one, so pairs are found from either side), one of them mirrored, and fresh random hashes.
    const fresh: typeof old = [];
    for (let i = 0; i < 30; i++) fresh.push({ media: `a${String(i).padStart(5, '0')}`, hash: flip(rand, old[100 + i]!.hash, 2 + (i % 8) * 4), mirrored: random(), width: 5 });
    fresh.push({ media: 'a99999', hash: random(), mirrored: flip(rand, old[200]!.hash, 6), width: 5 });
    for (let i = 0; i < 200; i++) fresh.push({ media: `b${String(i).padStart(5, '0')}`, hash: random(), mirrored: random(), width: 5 });
    const oldFiles = await writeImageUnit(dir, 'old', old);
    const newFiles = await writeImageUnit(dir, 'new', fresh);

    const first = await reduce('r1', { old: oldFiles }, ['old'], null);
    expect(first.drops.size).toBe(40);
    for (let i = 0; i < 40; i++) expect(first.drops.get(`s-n${String(i).padStart(5, '0')}`)).toBe(`s-m${String(i).padStart(5, '0')}`);

    const second = await reduce('r2', { old: oldFiles, new: newFiles }, ['new'], join(dir, 'r1'));
    expect(second.summary.incremental).toBe(true);
    const full = await reduce('r3', { old: oldFiles, new: newFiles }, ['old', 'new'], null);
    for (const run of [second, full]) {
      expect(run.drops.size).toBe(40 + 31);
      for (let i = 0; i < 30; i++) expect(run.drops.get(`s-a${String(i).padStart(5, '0')}`)).toBe(`s-m${String(100 + i).padStart(5, '0')}`);
      expect(run.drops.get('s-a99999')).toBe('s-m00200');
    }
    expect([...second.drops]).toEqual([...full.drops]);
  });
});

/** A copy of `hash` with exactly `d` random bits flipped. */
function flip(rand: () => number, hash: Hash256, d: number): Hash256 {
  const [a, b] = pairAt(rand, d);
  return hash.map((h, w) => (h ^ (a[w]! ^ b[w]!)) >>> 0);
}
