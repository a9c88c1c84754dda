import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { BlobStore } from '../../pipelines/shared/store/blob-store.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { DatasetLayout } from '../../pipelines/shared/store/layout.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';
import { writeUpstreamCorpus, type GeneratedSample } from './corpus.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const BUCKETS = [
  { name: 'high', min: 0.8 },
  { name: 'medium', min: 0.5 },
  { name: 'low', min: 0 },
];
const SHARD_BYTES = 60_000;

function config(extra: Record<string, unknown> = {}): PipelineConfigInput {
  return {
    datasets: {
      d: {
        sources: [{ name: 'unused', type: 'qa', path: 'unused.jsonl', format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
        export: {
          formats: ['webdataset', 'interleaved', 'sft'],
          pretraining: {
            from: 'ingest',
            quality: { score: 'quality_score', buckets: BUCKETS, missing: 'unscored' },
            webdataset: { shardBytes: SHARD_BYTES },
            sft: { prompts: { grounding: 'Ground this: {question}' } },
            mixture: { seed: 7, kindWeights: { caption: 2 }, qualityWeights: { low: 0 }, epochs: 2 },
            ...extra,
          },
        },
      },
    },
  } as PipelineConfigInput;
}

/** The documented rules, written again independently: what the ledger must say for each sample. */
function expectedReason(g: GeneratedSample, seen: Set<string>): string {
  const s = g.sample;
  if (s.kind === 'qa') return 'kind_not_exported:qa';
  const score = (JSON.parse(s.signals.extra) as { quality_score?: unknown }).quality_score;
  if (score !== undefined && (typeof score !== 'number' || !Number.isFinite(score))) return 'invalid_quality_score';
  if (typeof score === 'number' && score < 0) return 'below_quality_floor';
  if (seen.has(s.id)) return 'duplicate_sample_id';
  if (g.fault === 'missing_blob' || g.fault === 'unsupported_image_type') return g.fault;
  seen.add(s.id);
  return 'exported';
}

function bucketOf(score: unknown): string {
  if (typeof score !== 'number') return 'unscored';
  return BUCKETS.find((b) => score >= b.min)!.name;
}

describe('pre-training export read back with the formats’ own conventions', () => {
  let ws: Workspace;
  let loaded: LoadedConfig;
  let generated: GeneratedSample[];
  let exportDir: string;
  let blobs: BlobStore;

  beforeAll(async () => {
    ws = await createWorkspace();
    loaded = await ws.config(config());
    const layout = new DatasetLayout(loaded.shardsDir, 'd');
    blobs = new BlobStore(layout.blobs);
    generated = await writeUpstreamCorpus(layout, await connect(), { seed: 3, samples: 150, unitSize: 40, faults: true });
    exportDir = layout.stageDir('export');
    await runCommand(loaded, 'export', {});
  }, 120_000);
  afterAll(() => ws?.cleanup());

  const kept = (): GeneratedSample[] => {
    const seen = new Set<string>();
    return generated.filter((g) => expectedReason(g, seen) === 'exported');
  };

  it('accounts for every input with the reason the rules give', async () => {
    const rows = (await queryShards(loaded, `SELECT sample_id, decision, reason FROM ledger WHERE stage = 'export' ORDER BY unit, sample_id`)) as Array<{ sample_id: string; decision: string; reason: string }>;
    expect(rows).toHaveLength(generated.length);
    const seen = new Set<string>();
    const want = generated.map((g) => `${g.sample.id}:${expectedReason(g, seen)}`).sort();
    expect(rows.map((r) => `${r.sample_id}:${r.reason}`).sort()).toEqual(want);
    const reasons = new Set(rows.map((r) => r.reason));
    for (const r of ['exported', 'kind_not_exported:qa', 'invalid_quality_score', 'below_quality_floor', 'duplicate_sample_id', 'missing_blob', 'unsupported_image_type']) expect(reasons).toContain(r);
    for (const row of rows) if (['invalid_quality_score', 'missing_blob', 'unsupported_image_type'].includes(row.reason)) expect(row.decision).toBe('quarantined');
  });

  it('writes WebDataset shards a tar reader groups into complete samples, in kind/quality folders, under the size target', async () => {
    const out = ws.path('wds-read');
    const read = JSON.parse(execFileSync('python3', [join(import.meta.dirname, 'read_webdataset.py'), join(exportDir, 'webdataset'), out], { maxBuffer: 256 << 20 }).toString()) as {
      shards: Array<{ url: string; nsamples: number; bytes: number; indexed: number }>;
      samples: Array<{ key: string; shard: string; dir: string; exts: string[]; images: string[]; text: string; meta: { id: string; kind: string; quality: { bucket: string; score: number | null }; images: Array<{ member: string; media_id: string }>; frame_times: number[] | null; task: { boxes: unknown[] } | null; content: Array<{ type: string; member?: string; text?: string }> } }>;
    };
    const wanted = kept();
    expect(read.samples.map((s) => s.meta.id).sort()).toEqual(wanted.map((g) => g.sample.id).sort());
    expect(read.shards.length).toBeGreaterThan(6);
    for (const shard of read.shards) {
      expect(shard.indexed).toBe(shard.nsamples);
      // A shard passes the target only when one sample alone is larger.
      if (shard.nsamples > 1) expect(shard.bytes).toBeLessThanOrEqual(SHARD_BYTES);
    }
    const byId = new Map(wanted.map((g) => [g.sample.id, g]));
    for (const s of read.samples) {
      const g = byId.get(s.meta.id)!;
      expect(s.key).toBe(g.sample.id);
      expect(s.shard).toMatch(new RegExp(`^kind=${g.sample.kind}/quality=${bucketOf(g.score)}/u[0-9a-f]{16}-[0-9a-f]{8}-\\d{5}\\.tar$`));
      expect(s.meta.quality).toEqual({ bucket: bucketOf(g.score), score: typeof g.score === 'number' ? g.score : null });
      expect(s.exts).toContain('json');
      expect(s.exts).toContain('txt');
      const imageParts = g.sample.content.filter((c) => c.type === 'image');
      expect(s.images).toHaveLength(imageParts.length);
      expect(s.meta.images.map((i) => i.media_id)).toEqual(imageParts.map((c) => c.media_id));
      for (const [k, member] of s.meta.images.entries()) {
        const bytes = await readFile(join(s.dir, member.member));
        expect(sha256(bytes)).toBe(member.media_id);
        const decoded = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
        const media = g.sample.media.find((m) => m.id === member.media_id)!;
        expect([decoded.info.width, decoded.info.height], `image ${k} of ${s.key}`).toEqual([media.width, media.height]);
      }
      expect(s.text).toBe(g.sample.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n'));
      expect(s.meta.content.map((c) => c.type)).toEqual(g.sample.content.map((c) => c.type));
      if (g.sample.kind === 'video') expect(s.meta.frame_times).toEqual(JSON.parse(g.sample.signals.extra).frame_times);
      if (g.sample.kind === 'grounding') expect(s.meta.task?.boxes).toEqual(g.sample.task!.boxes);
    }
    const sizes = JSON.parse(await readFile(join(exportDir, 'webdataset', 'kind=caption', `quality=${bucketOf(wanted.find((g) => g.sample.kind === 'caption')!.score)}`, 'sizes.json'), 'utf8')) as Record<string, number>;
    for (const [name, n] of Object.entries(sizes)) expect(name).toMatch(/^u[0-9a-f]{16}-[0-9a-f]{8}-\d{5}\.tar$/), expect(n).toBeGreaterThan(0);
  });

  it('writes interleaved Parquet that DuckDB reads with the exact schema, texts and images aligned, bytes equal to the blob store', async () => {
    const conn = await connect();
    const glob = join(exportDir, 'interleaved', '**', '*.parquet');
    const schema = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning = false)`)).getRowObjectsJson().map((r) => `${r.column_name} ${r.column_type}`);
    expect(schema).toEqual([
      'id VARCHAR',
      'texts VARCHAR[]',
      'images STRUCT(bytes BLOB, path VARCHAR)[]',
      'frame_times DOUBLE[]',
      'source STRUCT("name" VARCHAR, uri VARCHAR, locator VARCHAR)',
      'license VARCHAR',
      'lang VARCHAR',
      'quality_score DOUBLE',
      'metadata VARCHAR',
      'kind VARCHAR',
      'quality VARCHAR',
    ]);
    const reader = await conn.runAndReadAll(`SELECT id, kind, quality, texts, [CASE WHEN x IS NULL THEN NULL ELSE to_base64(x.bytes) END FOR x IN images] AS images, [x.path FOR x IN images] AS paths, frame_times FROM read_parquet('${glob}', hive_partitioning = false)`);
    const rows = reader.getRowObjectsJson() as Array<{ id: string; kind: string; quality: string; texts: Array<string | null>; images: Array<string | null>; paths: Array<string | null>; frame_times: number[] | null }>;
    const wanted = kept().filter((g) => ['interleaved', 'ocr', 'video'].includes(g.sample.kind));
    expect(rows.map((r) => r.id).sort()).toEqual(wanted.map((g) => g.sample.id).sort());
    const byId = new Map(wanted.map((g) => [g.sample.id, g]));
    for (const row of rows) {
      const g = byId.get(row.id)!;
      expect(row.quality).toBe(bucketOf(g.score));
      expect(row.texts).toHaveLength(g.sample.content.length);
      expect(row.images).toHaveLength(g.sample.content.length);
      for (const [i, part] of g.sample.content.entries()) {
        if (part.type === 'text') {
          expect(row.texts[i]).toBe(part.text);
          expect(row.images[i]).toBeNull();
        } else {
          expect(row.texts[i]).toBeNull();
          const bytes = Buffer.from(row.images[i]!, 'base64');
          expect(bytes.equals(await blobs.get(part.media_id))).toBe(true);
          expect(row.paths[i]).toMatch(new RegExp(`^${part.media_id}\\.(png|jpg|webp)$`));
        }
      }
      if (g.sample.kind === 'video') expect(row.frame_times).toEqual(JSON.parse(g.sample.signals.extra).frame_times);
    }
    const partitions = await readdir(join(exportDir, 'interleaved'));
    expect(partitions.every((p) => /^kind=(interleaved|ocr|video)$/.test(p))).toBe(true);
  });

  it('writes LLaVA SFT JSON whose every record has the LLaVA shape and every referenced image present', async () => {
    const manifest = JSON.parse(await readFile(join(exportDir, 'sft', 'manifest.json'), 'utf8')) as { files: Array<{ path: string; kind: string; quality: string; samples: number }> };
    const records: Array<{ id: string; image: string | string[]; conversations: Array<{ from: string; value: string }>; kind: string; quality: string }> = [];
    for (const f of manifest.files) {
      const list = JSON.parse(await readFile(join(exportDir, 'sft', f.path), 'utf8')) as typeof records;
      expect(list).toHaveLength(f.samples);
      for (const r of list) expect([r.kind, r.quality]).toEqual([f.kind, f.quality]);
      records.push(...list);
    }
    const wanted = kept().filter((g) => ['grounding', 'gui', 'ocr', 'caption'].includes(g.sample.kind) && g.sample.content.some((c) => c.type === 'image'));
    expect(records.map((r) => r.id).sort()).toEqual(wanted.map((g) => g.sample.id).sort());
    const byId = new Map(wanted.map((g) => [g.sample.id, g]));
    for (const r of records) {
      const g = byId.get(r.id)!;
      const images = Array.isArray(r.image) ? r.image : [r.image];
      expect(Object.keys(r).sort()).toEqual(['conversations', 'id', 'image', 'kind', 'quality']);
      expect(r.conversations.map((t) => t.from)).toEqual(['human', 'gpt']);
      expect(r.conversations[0]!.value.split('<image>').length - 1).toBe(images.length);
      expect(r.conversations[0]!.value.startsWith('<image>\n')).toBe(true);
      for (const path of images) {
        const file = join(exportDir, 'sft', path);
        expect(existsSync(file), path).toBe(true);
        expect(path).toContain(sha256(await readFile(file)));
      }
      if (g.sample.kind === 'grounding') {
        expect(r.conversations[0]!.value).toBe(`<image>\nGround this: ${g.sample.task!.question}`);
        expect(r.conversations[1]!.value).toMatch(/^<\|begin_of_box\|>\[\[\d{1,3},\d{1,3},\d{1,3},\d{1,3}\]/);
      }
      if (g.sample.kind === 'caption') expect(r.conversations[0]!.value).toBe('<image>\nDescribe the image.');
    }
  });

  it('writes a seeded mixture: group shares follow the weights, and the same config gives the same order', async () => {
    const epoch0 = await readFile(join(exportDir, 'mixture', 'webdataset', 'epoch-0000.jsonl'), 'utf8');
    const epoch1 = await readFile(join(exportDir, 'mixture', 'webdataset', 'epoch-0001.jsonl'), 'utf8');
    const rows = epoch0.trim().split('\n').map((l) => JSON.parse(l) as { position: number; kind: string; quality: string; sample_id: string; file: string; key: string });
    expect(rows.map((r) => r.position)).toEqual(rows.map((_, i) => i));
    expect(epoch1).not.toBe(epoch0);
    const members = kept();
    const counts = new Map<string, number>();
    for (const g of members) counts.set(`${g.sample.kind}/${bucketOf(g.score)}`, (counts.get(`${g.sample.kind}/${bucketOf(g.score)}`) ?? 0) + 1);
    const mass = [...counts].reduce((n, [k, c]) => n + c * (k.endsWith('/low') ? 0 : k.startsWith('caption/') ? 2 : 1), 0);
    expect(rows.length).toBe(mass);
    const drawn = new Map<string, number>();
    for (const r of rows) drawn.set(`${r.kind}/${r.quality}`, (drawn.get(`${r.kind}/${r.quality}`) ?? 0) + 1);
    for (const [group, n] of counts) expect(drawn.get(group) ?? 0, group).toBe(group.endsWith('/low') ? 0 : group.startsWith('caption/') ? 2 * n : n);
    // Upsampled ×2: every caption sample exactly twice, never three times.
    const perSample = new Map<string, number>();
    for (const r of rows) if (r.kind === 'caption') perSample.set(r.sample_id, (perSample.get(r.sample_id) ?? 0) + 1);
    expect(new Set(perSample.values())).toEqual(new Set([2]));
    // Each row points at its sample's shard.
    for (const r of rows.slice(0, 20)) expect(r.file).toMatch(new RegExp(`^webdataset/kind=${r.kind}/quality=${r.quality}/.*\\.tar$`));

    await runCommand(loaded, 'export', { force: true });
    expect(await readFile(join(exportDir, 'mixture', 'webdataset', 'epoch-0000.jsonl'), 'utf8')).toBe(epoch0);
  });

  it('reruns skip committed units, and files no committed unit owns are removed', async () => {
    const stray = join(exportDir, 'webdataset', 'kind=caption', 'quality=high', 'u0000000000000000-deadbeef-00000.tar');
    await writeFile(stray, 'left by a killed run');
    const tmp = join(exportDir, 'webdataset', 'kind=caption', 'quality=high', '.u1-x-00000.tar.tmp');
    await writeFile(tmp, 'half');
    const before = await readFile(join(exportDir, 'webdataset', 'manifest.json'), 'utf8');
    const [summary] = await runCommand(loaded, 'export', {});
    expect(summary!.processed).toBe(0);
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(tmp)).toBe(false);
    expect(await readFile(join(exportDir, 'webdataset', 'manifest.json'), 'utf8')).toBe(before);
  });

  it('a changed threshold recomputes the units and leaves no shard of the old bucketing behind', async () => {
    const changed = await ws.config(config({ quality: { score: 'quality_score', buckets: [{ name: 'good', min: 0.3 }, { name: 'rest', min: 0 }], missing: 'unscored' } }));
    await runCommand(changed, 'export', {});
    const dirs = (await readdir(join(exportDir, 'webdataset'), { recursive: true })).filter((d) => d.endsWith('.tar'));
    expect(dirs.length).toBeGreaterThan(0);
    for (const d of dirs) expect(d).toMatch(/quality=(good|rest|unscored)\//);
    const shardindex = JSON.parse(await readFile(join(exportDir, 'webdataset', 'shardindex.json'), 'utf8')) as { shardlist: Array<{ url: string; nsamples: number }> };
    expect(shardindex.shardlist.reduce((n, s) => n + s.nsamples, 0)).toBe(kept().length);
  });
});

describe('pre-training units sliced by image bytes', () => {
  let ws: Workspace;
  afterAll(() => ws?.cleanup());

  it.each([1, 20_000, 90_000])('unitBytes %i: every sample decided once, exported once, however the upstream units are cut', async (unitBytes) => {
    ws = await createWorkspace();
    const loaded = await ws.config(config({ unitBytes, webdataset: { shardBytes: 1_000_000 } }));
    const generated = await writeUpstreamCorpus(new DatasetLayout(loaded.shardsDir, 'd'), await connect(), { seed: 40 + unitBytes, samples: 90, unitSize: 35 });
    const [summary] = await runCommand(loaded, 'export', {});
    expect(summary!.counts.in).toBe(generated.length);
    if (unitBytes === 1) expect(summary!.planned).toBe(generated.length);
    else expect(summary!.planned).toBeGreaterThan(3);
    const ledger = (await queryShards(loaded, `SELECT sample_id, reason FROM ledger WHERE stage = 'export'`)) as Array<{ sample_id: string; reason: string }>;
    expect(ledger.map((r) => r.sample_id).sort()).toEqual(generated.map((g) => g.sample.id).sort());
    const exportDir = ws.path('shards', 'd', 'export');
    const read = JSON.parse(execFileSync('python3', [join(import.meta.dirname, 'read_webdataset.py'), join(exportDir, 'webdataset'), ws.path('read')], { maxBuffer: 256 << 20 }).toString()) as { samples: Array<{ meta: { id: string } }> };
    const exported = ledger.filter((r) => r.reason === 'exported').map((r) => r.sample_id).sort();
    expect(read.samples.map((s) => s.meta.id).sort()).toEqual(exported);
    await ws.cleanup();
  }, 120_000);
});

describe('changing the formats', () => {
  it('removes the files, manifests and mixture of formats no longer configured', async () => {
    const ws = await createWorkspace();
    try {
      const loaded = await ws.config(config());
      await writeUpstreamCorpus(new DatasetLayout(loaded.shardsDir, 'd'), await connect(), { seed: 8, samples: 40, unitSize: 20 });
      await runCommand(loaded, 'export', {});
      const exportDir = ws.path('shards', 'd', 'export');
      expect(existsSync(join(exportDir, 'webdataset', 'shardindex.json'))).toBe(true);
      const only = await ws.config({ ...config(), datasets: { d: { ...config().datasets.d!, export: { ...config().datasets.d!.export, formats: ['interleaved'] } } } });
      await runCommand(only, 'export', {});
      expect(existsSync(join(exportDir, 'webdataset'))).toBe(true);
      expect((await readdir(join(exportDir, 'webdataset'), { recursive: true })).filter((f) => !f.startsWith('kind=') || f.includes('.'))).toEqual([]);
      expect(existsSync(join(exportDir, 'sft', 'manifest.json'))).toBe(false);
      expect((await readdir(join(exportDir, 'sft'), { recursive: true })).filter((f) => f.includes('.'))).toEqual([]);
      expect((await readdir(join(exportDir, 'mixture'))).sort()).toEqual(['interleaved', 'manifest.json']);
      const rl = await ws.config({ ...config(), datasets: { d: { ...config().datasets.d!, filter: { enabled: false }, export: { formats: ['verl'] } } } });
      await runCommand(rl, 'difficulty', {});
      await runCommand(rl, 'export', {});
      expect(existsSync(join(exportDir, 'mixture'))).toBe(false);
    } finally {
      await ws.cleanup();
    }
  }, 120_000);
});
