import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { unratedDifficulty, type Sample } from '../../schemas/sample.js';
import { exportSchema } from '../../pipelines/shared/config/schema.js';
import { pretrainingSchema } from '../../pipelines/export/pretraining/config.js';
import { planGroups } from '../../pipelines/export/pretraining/mixture.js';
import { qualityOf } from '../../pipelines/export/pretraining/quality.js';
import { TarShardWriter, ustarHeader } from '../../pipelines/export/pretraining/tar-shards.js';
import { sampleKey } from '../../pipelines/export/pretraining/webdataset.js';
import { createWorkspace } from '../support/workspace.js';

function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

function withSignals(extra: string, typed: Record<string, unknown> = {}): Sample {
  return {
    id: 'x',
    schema_version: 1,
    dataset: 'd',
    source: { name: 's', uri: 'u', locator: 'l' },
    kind: 'caption',
    domain: 'general',
    license: null,
    lang: null,
    content: [],
    media: [],
    task: null,
    signals: { content_hash: 'h', extra, ...typed } as Sample['signals'],
    difficulty: unratedDifficulty(),
    meta: '{}',
    derived_from: null,
  };
}

describe('quality buckets', () => {
  it('put every score in the bucket with the highest min ≤ score, for random thresholds and scores', () => {
    const random = rng(9);
    for (let trial = 0; trial < 300; trial++) {
      const mins = Array.from({ length: 1 + Math.floor(random() * 4) }, () => Math.round(random() * 100) / 100);
      const buckets = [...new Set(mins)].map((min, i) => ({ name: `b${i}`, min }));
      const config = pretrainingSchema.parse({ quality: { score: 'q.score', buckets, belowFloor: trial % 2 ? 'drop' : 'lowest' } }).quality;
      const score = Math.round((random() * 1.2 - 0.1) * 1000) / 1000;
      const got = qualityOf(withSignals(JSON.stringify({ q: { score } })), config);
      const eligible = buckets.filter((b) => score >= b.min).sort((a, b) => b.min - a.min);
      const lowest = [...buckets].sort((a, b) => a.min - b.min)[0]!;
      if (eligible.length) expect(got).toEqual({ kind: 'bucket', bucket: eligible[0]!.name, score });
      else if (trial % 2) expect(got).toEqual({ kind: 'below_floor', score, floor: lowest.min });
      else expect(got).toEqual({ kind: 'bucket', bucket: lowest.name, score });
    }
  });

  it('read typed signals first, then signals.extra; missing goes to the missing bucket; malformed is invalid, never a bucket', () => {
    const config = pretrainingSchema.parse({}).quality;
    expect(qualityOf(withSignals('{"quality_score":0.9}', { quality_score: 0.1 }), config)).toEqual({ kind: 'bucket', bucket: 'low', score: 0.1 });
    expect(qualityOf(withSignals('{"quality_score":0.9}'), config)).toEqual({ kind: 'bucket', bucket: 'high', score: 0.9 });
    for (const extra of ['{}', '', '{"quality_score":null}', '{"other":1}']) expect(qualityOf(withSignals(extra), config)).toEqual({ kind: 'bucket', bucket: 'unscored', score: null });
    for (const extra of ['{"quality_score":"0.9"}', '{"quality_score":[0.9]}', '{"quality_score":true}', '{"quality_score":{"v":1}}', 'not json']) expect(qualityOf(withSignals(extra), config).kind).toBe('invalid');
  });

  it('config refuses bucket names that cannot be folder names, duplicates, and a missing bucket named like a scored one', () => {
    for (const quality of [{ buckets: [{ name: 'a/b', min: 0 }] }, { buckets: [{ name: 'a', min: 0 }, { name: 'a', min: 1 }] }, { buckets: [{ name: 'x', min: 0 }], missing: 'x' }, { buckets: [] }]) {
      expect(pretrainingSchema.safeParse({ quality }).success, JSON.stringify(quality)).toBe(false);
    }
    expect(exportSchema.safeParse({ formats: ['webdataset', 'verl'] }).success).toBe(true);
    expect(exportSchema.safeParse({ formats: ['tfrecord'] }).success).toBe(false);
  });
});

describe('WebDataset keys and tar members', () => {
  it('keys of any id contain no dot or slash and stay distinct', () => {
    const random = rng(4);
    const ids = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? `a.b/c ${i}` : i % 3 === 1 ? `ünï-${i}.jpg` : `${Math.floor(random() * 1e12).toString(16)}_${i}`));
    const keys = ids.map(sampleKey);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(new Set(keys).size).toBe(ids.length);
  });

  it('refuses unsafe member names rather than writing a member a loader would misgroup', () => {
    for (const name of ['../x.jpg', 'a/b.jpg', 'noext', `${'k'.repeat(97)}.jpg`, 'k.j pg', '.hidden']) expect(() => ustarHeader(name, 1), name).toThrow(/unsafe/);
  });

  it('a sample larger than the shard target gets a shard of its own; shards never exceed the target otherwise; Python reads every one', async () => {
    const ws = await createWorkspace();
    try {
      const writer = new TarShardWriter(ws.path('t'), 'stem', 10_000);
      const sizes = [100, 3000, 20_000, 10, 4000, 4000, 4000, 0, 9000];
      for (const [i, size] of sizes.entries()) await writer.add(`k${i}`, `id${i}`, [{ name: `k${i}.bin`, bytes: Buffer.alloc(size, i) }, { name: `k${i}.txt`, bytes: Buffer.from(`${i}`) }]);
      const shards = await writer.close();
      expect(shards.reduce((n, s) => n + s.samples, 0)).toBe(sizes.length);
      for (const s of shards) if (s.samples > 1) expect(s.bytes).toBeLessThanOrEqual(10_000);
      for (const s of shards) {
        const listing = execFileSync('python3', ['-c', 'import sys,tarfile; t=tarfile.open(sys.argv[1]); print("\\n".join(f"{m.name} {m.size} {m.mtime} {m.mode:o}" for m in t))', ws.path('t', s.file)]).toString().trim().split('\n');
        const index = JSON.parse(await readFile(ws.path('t', s.index), 'utf8')) as { samples: Array<{ members: Array<{ name: string; size: number }> }> };
        expect(listing).toEqual(index.samples.flatMap((x) => x.members.map((m) => `${m.name} ${m.size} 0 644`)));
      }
    } finally {
      await ws.cleanup();
    }
  });
});

describe('mixture plan', () => {
  it('targets sum to the epoch size and follow weight × size, for random groups and weights', () => {
    const random = rng(21);
    for (let trial = 0; trial < 200; trial++) {
      const counts = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => ({ kind: ['caption', 'interleaved', 'ocr'][i % 3]!, quality: `q${i}`, samples: 1 + Math.floor(random() * 500) }));
      const qualityWeights = Object.fromEntries(counts.map((c) => [c.quality, Math.floor(random() * 4) / 2]));
      const epochSamples = trial % 2 ? 1 + Math.floor(random() * 3000) : undefined;
      const config = pretrainingSchema.parse({ mixture: { seed: trial, qualityWeights, ...(epochSamples ? { epochSamples } : {}) } }).mixture;
      const groups = planGroups(counts, config, 0);
      const mass = counts.reduce((n, c) => n + c.samples * (qualityWeights[c.quality] ?? 1), 0);
      if (mass === 0) continue;
      const total = epochSamples ?? Math.round(mass);
      expect(groups.reduce((n, g) => n + g.target, 0)).toBe(total);
      for (const g of groups) {
        expect(Math.abs(g.target - (total * g.weight * g.samples) / mass)).toBeLessThan(1);
        if (g.weight === 0) expect(g.target).toBe(0);
        expect(g.phase).toBeGreaterThanOrEqual(0);
        expect(g.phase).toBeLessThan(1);
      }
    }
  });
});
