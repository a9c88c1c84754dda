import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../pipelines/shared/hash.js';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import sharp from 'sharp';
import { EDITS, makeScene } from '../support/scenes.js';
import { createWorkspace, queryShards, runCli, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

const EPS = 0.01;
/** Test id of each image by its sha256 (the media id). */
const idByMedia = new Map<string, string>();

async function captionWorkspace(scenes: number[], filter: object, unitRows = 6): Promise<{ ws: Workspace; loaded: LoadedConfig; rows: Array<{ id: string; image: string; caption: string }> }> {
  const ws = await createWorkspace();
  workspaces.push(ws);
  const rows: Array<{ id: string; image: string; caption: string }> = [];
  for (const i of scenes) {
    const original = await makeScene(i);
    for (const [edit, apply] of Object.entries({ orig: async (b: Buffer) => b, reencoded: EDITS.reencoded, brightened: EDITS.brightened })) {
      const bytes = await apply(original);
      idByMedia.set(sha256Hex(bytes), `${i}-${edit}`);
      await ws.write(`img/${i}-${edit}.jpg`, bytes);
      rows.push({ id: `${i}-${edit}`, image: `../img/${i}-${edit}.jpg`, caption: `Scene ${i}, the ${edit} picture, with shapes.` });
    }
  }
  await ws.write('records/pairs.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const config: PipelineConfigInput = {
    datasets: {
      c: {
        sources: [{ name: 'pairs', type: 'caption', layout: 'records', path: 'records/pairs.jsonl', format: 'jsonl', fields: { id: 'id', image: 'image', captions: 'caption' } }],
        ingest: { unitRows },
        // only SemDeDup decides image duplicates here
        filter: { imageWorkers: 1, nearImage: { enabled: false }, ...filter },
      },
    },
  };
  return { ws, loaded: await ws.config(config), rows };
}

async function reduceMeta(loaded: LoadedConfig): Promise<{ summary: { semantic: Record<string, unknown>; notes: string[] } }> {
  const dir = join(loaded.shardsDir, 'c', 'filter', '_reduce');
  const current = JSON.parse(await readFile(join(dir, 'current.json'), 'utf8')) as { dir: string };
  return JSON.parse(await readFile(join(dir, current.dir, 'meta.json'), 'utf8'));
}

/** Expected groups, computed independently: union-find over every pair whose stored vectors have cosine ≥ 1 − eps. */
async function expectedDrops(loaded: LoadedConfig): Promise<Map<string, string>> {
  const rows = await queryShards(loaded, `SELECT s.media[1].id AS media FROM ingest_samples s ORDER BY s.source.locator`);
  const vectors = new Map((await queryShards(loaded, `SELECT media_id, vector FROM embeddings`)).map((r) => [String(r.media_id), r.vector as number[]]));
  const ids = rows.map((r) => idByMedia.get(String(r.media)) as string);
  const parent = ids.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i] as number)));
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) {
      const a = vectors.get(String(rows[i]!.media))!;
      const b = vectors.get(String(rows[j]!.media))!;
      if (a.reduce((s, v, k) => s + v * (b[k] as number), 0) >= 1 - EPS) parent[Math.max(find(i), find(j))] = Math.min(find(i), find(j));
    }
  const drops = new Map<string, string>();
  for (let i = 0; i < ids.length; i++) if (find(i) !== i) drops.set(ids[i]!, ids[find(i)]!);
  return drops;
}

describe('semantic dedup (SemDeDup) with the built-in image model', () => {
  it('drops exactly the samples whose images are within 1 − eps of a kept one, keeps distinct scenes', async () => {
    // one cluster: every pair is compared, so the expected groups are exact
    const { loaded } = await captionWorkspace([0, 1, 2, 3, 4, 5], { embed: { semantic: { clusters: 1, eps: EPS, keep: 'first' } } });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const expected = await expectedDrops(loaded);
    if (process.env.DEBUG_FILTER) console.log(await queryShards(loaded, `SELECT reason, details FROM ledger WHERE stage = 'filter' AND reason <> 'ok'`));
    const ledger = await queryShards(loaded, `SELECT l.reason, l.details, s.media[1].id AS media FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id WHERE l.stage = 'filter'`);
    const idOf = new Map((await queryShards(loaded, `SELECT id AS sid, media[1].id AS media FROM ingest_samples`)).map((r) => [String(r.sid), idByMedia.get(String(r.media))]));
    for (const r of ledger) r.id = idByMedia.get(String(r.media));
    const got = new Map(ledger.filter((r) => r.reason === 'semantic_dup:image').map((r) => [String(r.id), idOf.get(String(JSON.parse(String(r.details)).kept_sample_id))]));
    // the same groups (which member is kept follows keep: 'first', the committed unit/row order)
    const groups = (m: Map<string, string | undefined>) => [...m].map(([a, b]) => [a, String(b)].sort().join(' ~ ')).sort();
    expect(groups(got)).toEqual(groups(expected));
    // the measured margin: distinct synthetic scenes stay below 0.97, so only copies of one scene group together
    for (const [dropped, kept] of got) expect(dropped.split('-')[0]).toBe(String(kept).split('-')[0]);
    for (const r of ledger.filter((l) => l.reason === 'semantic_dup:image')) expect(JSON.parse(String(r.details)).cosine).toBeGreaterThanOrEqual(1 - EPS - 1e-6);
    expect(expected.size, 'some planted edits are semantic duplicates').toBeGreaterThan(0);
    const kept = await queryShards(loaded, `SELECT signals.embedding.model AS model, signals.embedding.nsfw AS nsfw, signals.embedding.semantic_cluster AS cluster FROM filter_samples`);
    expect(kept.length).toBe(18 - expected.size);
    for (const k of kept) {
      expect(String(k.model)).toMatch(/^nsfw-mobilenet-v2@[0-9a-f]{12}$/);
      expect(Number(k.nsfw)).toBeGreaterThanOrEqual(0);
      expect(k.cluster).toBe(0);
    }
    expect((await reduceMeta(loaded)).summary.semantic).toMatchObject({ clusters: 1, centroidsReused: false, embedded: 18 });
    // the built-in model has no text tower: the summary (and so `status`) says the captions went unscored
    expect((await reduceMeta(loaded)).summary.notes).toEqual([expect.stringMatching(/^CLIP scores not computed for 18 caption\/interleaved samples: no image–text model registered \(nsfw-mobilenet-v2@/)]);
  }, 240_000);

  it('assigns new data to the persisted centroids without re-clustering, and embeds only new media', async () => {
    const { ws, loaded, rows } = await captionWorkspace([10, 11, 12, 13], { embed: { semantic: { clusters: 3, eps: EPS } } });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const first = await reduceMeta(loaded);
    expect(first.summary.semantic).toMatchObject({ clusters: 3, centroidsReused: false });
    const centroids = await readFile(join(loaded.shardsDir, 'c', 'filter', '_reduce', (JSON.parse(await readFile(join(loaded.shardsDir, 'c', 'filter', '_reduce', 'current.json'), 'utf8')) as { dir: string }).dir, 'centroids.parquet'));
    const storeFiles = async () => (await readdir(join(loaded.shardsDir, '_embeddings'), { recursive: true })).filter((f) => String(f).endsWith('.parquet')).sort();
    const before = await storeFiles();
    // a new unit: two new scenes and a re-encoded copy of an old one
    const more = [];
    for (const i of [14, 15]) {
      await ws.write(`img/${i}-orig.jpg`, await makeScene(i));
      more.push({ id: `${i}-orig`, image: `../img/${i}-orig.jpg`, caption: `Scene ${i}, new today, with shapes.` });
    }
    await ws.write('img/10-again.jpg', await sharp(await makeScene(10)).jpeg({ quality: 70 }).toBuffer());
    more.push({ id: '10-again', image: '../img/10-again.jpg', caption: 'Scene 10 again, another upload.' });
    await ws.write('records/pairs.jsonl', [...rows, ...more].map((r) => JSON.stringify(r)).join('\n') + '\n');
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const second = await reduceMeta(loaded);
    expect(second.summary.semantic).toMatchObject({ clusters: 3, centroidsReused: true, embedded: 15 });
    const current = (JSON.parse(await readFile(join(loaded.shardsDir, 'c', 'filter', '_reduce', 'current.json'), 'utf8')) as { dir: string }).dir;
    expect(await readFile(join(loaded.shardsDir, 'c', 'filter', '_reduce', current, 'centroids.parquet'))).not.toBeNull();
    expect(centroids.length).toBeGreaterThan(0);
    const after = await storeFiles();
    expect(after.length).toBe(before.length + 1); // one new batch: only the 3 new images were embedded
    const counts = await queryShards(loaded, `SELECT count(*)::INTEGER AS n, count(DISTINCT media_id)::INTEGER AS d FROM embeddings`);
    expect(counts[0]).toEqual({ n: 15, d: 15 });
  }, 240_000);

  it('kill -9 between embedding batches, then resume: committed batches are kept, nothing is embedded twice, every sample is accounted for', async () => {
    const { ws } = await captionWorkspace([20, 21, 22], { embed: { batchBytes: 150_528 } }, 3);
    const cfg = ws.path('pipeline.config.ts');
    expect((await runCli(['run', 'ingest', '--config', cfg])).code).toBe(0);
    const killed = await runCli(['run', 'filter', '--config', cfg], { env: { STRATUM_FAULT: 'embed-batch-stored:4' } });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const root = ws.path('shards/_embeddings');
    // committed batches only: a batch killed between its write and its rename stays under _tmp/, never read
    const list = async () => (await readdir(root, { recursive: true })).map(String).filter((f) => /part-[0-9a-f]+\.parquet$/.test(f) && !f.includes('_tmp')).sort();
    const survived = await list();
    expect(survived.length).toBeGreaterThanOrEqual(4);
    const resumed = await runCli(['run', 'filter', '--config', cfg]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = await list();
    for (const f of survived) expect(after).toContain(f);
    expect(after.length).toBe(9); // one image per batch: 9 images, each embedded once
    const loaded = await ws.config(JSON.parse(JSON.stringify((await import(ws.path('pipeline.config.ts'))).default)));
    const counts = await queryShards(loaded, `SELECT count(*)::INTEGER AS n, count(DISTINCT media_id)::INTEGER AS d FROM read_parquet('${root}/*/part-*.parquet')`);
    expect(counts[0]).toEqual({ n: 9, d: 9 });
    const funnel = await queryShards(loaded, `SELECT count(*)::INTEGER AS n FROM ledger WHERE stage = 'filter'`);
    expect(funnel[0]!.n).toBe(9);
  }, 240_000);
});
