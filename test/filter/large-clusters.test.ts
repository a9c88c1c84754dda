import { DuckDBInstance } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterSchema } from '../../pipelines/filter/config.js';
import { reduceFilter } from '../../pipelines/filter/reduce.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { sqlString } from '../../pipelines/shared/store/duckdb.js';
import { SignatureMaker, flipBits, hamming, jaccard, writeImageUnit, writeTextUnit, type ImageRow, type TextRow } from './_clustered.js';

/**
 * The reduce on heavily clustered inputs. Under the earlier all-pairs band join, a cluster of k
 * texts produced k²/2 verified pairs (measured: 800 copies → 319,579 edges, 20 CPU s; 3,000 would
 * need ~4.5M pairs per band), so these inputs, run with a small `reduceMemory`, would fail or take
 * minutes; the representative join keeps work and edges linear in k.
 */
const SMALL_MEMORY = '128MB';

interface Decision {
  sample_id: string;
  action: string;
  reason: string | null;
  dup_of: string | null;
  details: string | null;
}

describe('filter reduce on large near-duplicate clusters', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-clusters-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function reduce(name: string, units: Record<string, Record<string, string[]>>, changed: string[], previous: string | null, reduceMemory = SMALL_MEMORY) {
    const outDir = join(dir, name);
    await mkdir(outDir, { recursive: true });
    const unitMap = new Map(Object.entries(units).map(([id, files]) => [id, { files, outputHash: id }]));
    const files: Record<string, string[]> = {};
    for (const f of Object.values(units)) for (const [output, list] of Object.entries(f)) (files[output] ??= []).push(...list);
    const result = await reduceFilter(filterSchema.parse({ reduceMemory }), { rank: 0, files }, [], { units: unitMap, changed: new Set(changed), previous, outDir });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const rows = (await conn.runAndReadAll(`SELECT sample_id, action, reason, dup_of, details FROM read_parquet(${sqlString(join(outDir, 'decisions.parquet'))})`)).getRowObjectsJson() as unknown as Decision[];
    conn.closeSync();
    db.closeSync();
    return { summary: result.summary as Record<string, unknown> & { textEdges: number; imageEdges: number; incremental: boolean }, decisions: new Map(rows.map((r) => [r.sample_id, r])) };
  }

  /** Text rows of every cluster shape, shuffled over `units` units. */
  function textCorpus(seed: number, scale: number) {
    const rand = mulberry32(seed);
    const mk = new SignatureMaker(rand);
    const rows: TextRow[] = [];
    const id = (group: string, i: number) => `${group}-${String(i).padStart(5, '0')}`;
    const giantBase = mk.random();
    for (let i = 0; i < 3000 * scale; i++) rows.push({ sample_id: id('giant', i), sig: mk.noisy(giantBase, 0.06), group: 'giant' });
    for (let c = 0; c < 60 * scale; c++) {
      const base = mk.random();
      for (let i = 0; i < 40; i++) rows.push({ sample_id: id(`mid${c}`, i), sig: mk.noisy(base, 0.08), group: `mid${c}` });
    }
    for (let c = 0; c < 4; c++) {
      let sig = mk.random();
      for (let i = 0; i < 300; i++) {
        rows.push({ sample_id: id(`chain${c}`, i), sig, group: `chain${c}` });
        sig = mk.replaced(sig, 6);
      }
    }
    // Near misses: half of the giant cluster's base (estimated Jaccard ≈ 0.5), below the 0.7 threshold.
    for (let i = 0; i < 500; i++) rows.push({ sample_id: id('miss', i), sig: mk.noisy(giantBase, 0.5), group: 'miss' });
    for (let i = 0; i < 1000; i++) rows.push({ sample_id: id('distinct', i), sig: mk.random(), group: 'distinct' });
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    return rows;
  }

  async function writeUnits(prefix: string, rows: TextRow[], units: number) {
    const per = Math.ceil(rows.length / units);
    const out: Record<string, Record<string, string[]>> = {};
    for (let u = 0; u < units; u++) out[`${prefix}${u}`] = await writeTextUnit(dir, `${prefix}${u}`, rows.slice(u * per, (u + 1) * per));
    return out;
  }

  /** Every drop with the text kept in its place, sorted: what an incremental run must share with a full one. */
  const dropPairs = (m: Map<string, Decision>) => [...m.values()].filter((d) => d.action === 'drop').map((d) => `${d.sample_id}>${d.dup_of}`).sort();

  /** Checks every decision against the generated signatures; returns the kept rows per group. */
  function check(rows: TextRow[], decisions: Map<string, Decision>) {
    const byId = new Map(rows.map((r) => [r.sample_id, r]));
    const kept = new Map<string, TextRow[]>();
    for (const row of rows) {
      const d = decisions.get(row.sample_id);
      if (d?.action === 'drop') {
        expect(d.reason).toBe('near_dup:text');
        const keeper = byId.get(d.dup_of!)!;
        // Precision: a dropped text is itself within the threshold of the text kept in its place, which stays.
        expect(keeper.group, row.sample_id).toBe(row.group);
        expect(decisions.get(keeper.sample_id)?.action ?? 'keep').toBe('keep');
        expect(jaccard(row, keeper)).toBeGreaterThanOrEqual(0.7);
        expect(JSON.parse(d.details!).similarity).toBeCloseTo(jaccard(row, keeper), 10);
      } else {
        kept.set(row.group, [...(kept.get(row.group) ?? []), row]);
      }
    }
    return kept;
  }

  it('keeps one text of each cluster shape and never a near miss or a distinct text, in linear edges under a small reduceMemory', async () => {
    const rows = textCorpus(7, 1);
    const units = await writeUnits('t', rows, 4);
    const run = await reduce('text', units, Object.keys(units), null);
    const kept = check(rows, run.decisions);
    expect(kept.get('giant')).toHaveLength(1);
    for (let c = 0; c < 60; c++) expect(kept.get(`mid${c}`), `mid${c}`).toHaveLength(1);
    expect(kept.get('miss')).toHaveLength(500);
    expect(kept.get('distinct')).toHaveLength(1000);
    for (const row of [...kept.get('miss')!, ...kept.get('distinct')!]) expect(run.decisions.get(row.sample_id)).toBeUndefined();
    let keptNear = 0;
    let keptPairs = 0;
    for (let c = 0; c < 4; c++) {
      const chain = kept.get(`chain${c}`)!;
      // A chain of 300 steps of ~5% each: its ends are far apart, so it is not one cluster, but
      // every text kept in it covers several neighbours.
      expect(chain.length).toBeGreaterThan(1);
      expect(chain.length).toBeLessThan(100);
      for (let i = 0; i < chain.length; i++) for (let j = i + 1; j < chain.length; j++, keptPairs++) if (jaccard(chain[i]!, chain[j]!) >= 0.7) keptNear++;
    }
    // Non-transitive chains: a pair of kept texts can still be near duplicates when the search linked
    // each of them only to other texts (measured: 148 of 2,877 kept pairs); single linkage would
    // instead have merged each chain into one cluster whose ends are not alike.
    expect(keptNear / keptPairs).toBeLessThan(0.1);
    // Edges stay linear in the clustered texts (5,800 here), where all pairs would be ~4.5M in the giant cluster alone.
    expect(run.summary.textEdges).toBeLessThan(rows.length * 4);
  }, 300_000);

  it('an appended unit joins the old clusters without changing their keepers, and matches a full run', async () => {
    const rows = textCorpus(8, 1);
    const old = await writeUnits('a', rows, 3);
    const first = await reduce('inc-1', old, Object.keys(old), null);
    check(rows, first.decisions);
    // New texts: members of the giant cluster and of mid clusters, a new cluster, near misses, distinct texts.
    const rand = mulberry32(99);
    const mk = new SignatureMaker(rand);
    const byGroup = (g: string) => rows.filter((r) => r.group === g);
    const keeperOf = (g: string) => byGroup(g).find((r) => (first.decisions.get(r.sample_id)?.action ?? 'keep') === 'keep')!;
    const fresh: TextRow[] = [];
    for (let i = 0; i < 200; i++) fresh.push({ sample_id: `new-giant-${i}`, sig: mk.noisy(keeperOf('giant').sig, 0.04), group: 'giant' });
    for (let c = 0; c < 10; c++) fresh.push({ sample_id: `new-mid${c}`, sig: mk.noisy(keeperOf(`mid${c}`).sig, 0.04), group: `mid${c}` });
    const base = mk.random();
    for (let i = 0; i < 50; i++) fresh.push({ sample_id: `new-cluster-${i}`, sig: mk.noisy(base, 0.05), group: 'new-cluster' });
    for (let i = 0; i < 100; i++) fresh.push({ sample_id: `new-distinct-${i}`, sig: mk.random(), group: 'distinct' });
    const grown = { ...old, z: await writeTextUnit(dir, 'z', fresh) };
    const second = await reduce('inc-2', grown, ['z'], join(dir, 'inc-1'));
    expect(second.summary.incremental).toBe(true);
    const all = [...rows, ...fresh];
    const kept = check(all, second.decisions);
    expect(kept.get('giant')).toEqual([keeperOf('giant')]);
    expect(kept.get('new-cluster')).toHaveLength(1);
    expect(kept.get('distinct')).toHaveLength(1100);
    // Every old text keeps its decision.
    for (const row of rows) expect(second.decisions.get(row.sample_id)?.action, row.sample_id).toBe(first.decisions.get(row.sample_id)?.action);
    for (const row of fresh.filter((r) => r.group === 'giant')) expect(second.decisions.get(row.sample_id)?.dup_of).toBe(keeperOf('giant').sample_id);
    const full = await reduce('inc-full', grown, Object.keys(grown), null);
    const drops = (m: Map<string, Decision>) => new Set([...m.values()].filter((d) => d.action === 'drop').map((d) => d.sample_id));
    expect(drops(second.decisions)).toEqual(drops(full.decisions));
  }, 300_000);

  it('a new text with a better keep claim (earlier in keep order) reopens the old cluster and becomes its keeper', async () => {
    const rand = mulberry32(5);
    const mk = new SignatureMaker(rand);
    const rows: TextRow[] = [];
    const bases = Array.from({ length: 20 }, () => mk.random());
    for (let i = 0; i < 2000; i++) rows.push({ sample_id: `c${i % 20}-${i}`, sig: mk.noisy(bases[i % 20]!, 0.05), group: `c${i % 20}` });
    for (let i = 0; i < 500; i++) rows.push({ sample_id: `d-${i}`, sig: mk.random(), group: 'distinct' });
    const old = await writeUnits('u', rows, 2);
    const first = await reduce('claim-1', old, Object.keys(old), null);
    check(rows, first.decisions);
    // Unit 'a' sorts before 'u0', so under keep 'first' its texts precede every old one: clusters 0..4 get a new keeper.
    const fresh: TextRow[] = [];
    for (let c = 0; c < 5; c++) fresh.push({ sample_id: `new-c${c}`, sig: mk.noisy(bases[c]!, 0.02), group: `c${c}` });
    const grown = { ...old, a: await writeTextUnit(dir, 'a', fresh) };
    const second = await reduce('claim-2', grown, ['a'], join(dir, 'claim-1'));
    expect(second.summary.incremental).toBe(true);
    expect((second.summary as unknown as { text: { reopened: number } }).text.reopened).toBe(5);
    const kept = check([...rows, ...fresh], second.decisions);
    for (let c = 0; c < 5; c++) expect(kept.get(`c${c}`)!.map((r) => r.sample_id), `c${c}`).toEqual([`new-c${c}`]);
    // Clusters the new texts did not join keep their keeper and members.
    for (const row of rows.filter((r) => !['c0', 'c1', 'c2', 'c3', 'c4'].includes(r.group))) expect(second.decisions.get(row.sample_id)).toEqual(first.decisions.get(row.sample_id));
    const full = await reduce('claim-full', grown, Object.keys(grown), null);
    expect(dropPairs(second.decisions)).toEqual(dropPairs(full.decisions));
  }, 300_000);

  it('a changed unit that held keepers: the drops left without their keeper are searched again, and the result matches a full run', async () => {
    const rand = mulberry32(11);
    const mk = new SignatureMaker(rand);
    const rows: TextRow[] = [];
    const bases = Array.from({ length: 30 }, () => mk.random());
    // Unit 'a' holds the first member of every cluster (the keeper under keep 'first'), unit 'b' the rest.
    const first = bases.map((b, c) => ({ sample_id: `c${c}-first`, sig: mk.noisy(b, 0.03), group: `c${c}` }));
    for (let i = 0; i < 600; i++) rows.push({ sample_id: `c${i % 30}-${i}`, sig: mk.noisy(bases[i % 30]!, 0.05), group: `c${i % 30}` });
    for (let i = 0; i < 300; i++) rows.push({ sample_id: `d-${i}`, sig: mk.random(), group: 'distinct' });
    const units = { a: await writeTextUnit(dir, 'a', first), b: await writeTextUnit(dir, 'b', rows) };
    const before = await reduce('gone-1', units, ['a', 'b'], null);
    check([...first, ...rows], before.decisions);
    for (const f of first) expect(before.decisions.get(f.sample_id)).toBeUndefined();
    // Unit 'a' now holds other texts: half the clusters lose their keeper, the other half get a new first member.
    const replaced = bases.map((b, c) => (c % 2 ? { sample_id: `c${c}-replaced`, sig: mk.noisy(b, 0.03), group: `c${c}` } : { sample_id: `e-${c}`, sig: mk.random(), group: 'distinct' }));
    await mkdir(join(dir, 'gone-v2'), { recursive: true });
    const changed = { a: await writeTextUnit(join(dir, 'gone-v2'), 'a', replaced), b: units.b };
    const after = await reduce('gone-2', changed, ['a'], join(dir, 'gone-1'));
    expect(after.summary.incremental).toBe(true);
    const kept = check([...replaced, ...rows], after.decisions);
    for (let c = 0; c < 30; c++) expect(kept.get(`c${c}`), `c${c}`).toHaveLength(1);
    const full = await reduce('gone-full', changed, ['a', 'b'], null);
    expect(dropPairs(after.decisions)).toEqual(dropPairs(full.decisions));
  }, 300_000);

  it('keeps one image of a giant cluster of near-identical images and every distinct image', async () => {
    const rand = mulberry32(21);
    const random = () => Array.from({ length: 8 }, () => Math.floor(rand() * 2 ** 32) >>> 0);
    const base = random();
    const images: ImageRow[] = [];
    for (let i = 0; i < 3000; i++) images.push({ media: `g${String(i).padStart(5, '0')}`, hash: flipBits(rand, base, Math.floor(rand() * 12)), mirrored: random(), width: i === 1234 ? 50 : 10 });
    // Mid-size clusters of 30, and distinct images.
    for (let c = 0; c < 30; c++) {
      const b = random();
      for (let i = 0; i < 30; i++) images.push({ media: `c${c}-${i}`, hash: flipBits(rand, b, Math.floor(rand() * 10)), mirrored: random(), width: 10 });
    }
    for (let i = 0; i < 2000; i++) images.push({ media: `d${String(i).padStart(5, '0')}`, hash: random(), mirrored: random(), width: 10 });
    const units = { i0: await writeImageUnit(dir, 'i0', images.slice(0, 3000)), i1: await writeImageUnit(dir, 'i1', images.slice(3000)) };
    const run = await reduce('images', units, ['i0', 'i1'], null);
    const byMedia = new Map(images.map((im) => [`s-${im.media}`, im]));
    let giantDropped = 0;
    for (const im of images) {
      const d = run.decisions.get(`s-${im.media}`);
      if (im.media.startsWith('d')) expect(d, im.media).toBeUndefined();
      if (d?.action !== 'drop') continue;
      const keeper = byMedia.get(d.dup_of!)!;
      expect(keeper.media[0]).toBe(im.media[0]);
      if (im.media.startsWith('g')) {
        giantDropped++;
        // The largest image of the cluster is kept (nearImage.keep: largest).
        expect(keeper.media).toBe('g01234');
        expect(hamming(im.hash, keeper.hash)).toBeLessThanOrEqual(24);
      }
    }
    expect(giantDropped).toBe(2999);
    for (let c = 0; c < 30; c++) expect([...Array(30).keys()].filter((i) => run.decisions.get(`s-c${c}-${i}`)?.action === 'drop')).toHaveLength(29);
    // Linear: at most a few edges per image (all pairs would be ~4.5M in the giant cluster alone).
    expect(run.summary.imageEdges).toBeLessThan(images.length * 10);
  }, 300_000);

  it('turns a DuckDB out-of-memory error into one that names filter.reduceMemory and the step', async () => {
    const rows = textCorpus(9, 1);
    const units = await writeUnits('oom', rows, 2);
    await expect(reduce('oom', units, Object.keys(units), null, '1MB')).rejects.toThrow(/filter reduce ran out of memory while .+ filter\.reduceMemory = '1MB'.*Raise filter\.reduceMemory/s);
  }, 300_000);
});
