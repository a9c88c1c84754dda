import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const CORPORA = join(REPO_ROOT, '..', 'shared', 'corpora');

/** Real inputs this export was not built on: every kind ingest makes from ../shared/corpora, through every pre-training format. */
describe.skipIf(!existsSync(CORPORA))('pre-training export of real corpora', () => {
  let ws: Workspace;
  let loaded: LoadedConfig;
  let exportDir: string;

  beforeAll(async () => {
    ws = await createWorkspace('stratum-export-real-');
    loaded = await ws.config({
      datasets: {
        real: {
          sources: [
            { name: 'photos', type: 'caption', layout: 'folder', path: join(CORPORA, 'natural_images', 'skimage_data'), requireCaption: false },
            { name: 'gallery', type: 'interleaved', format: 'items', path: join(CORPORA, 'interleaved', 'skimage_gallery_interleaved.derived.jsonl'), imageRoot: join(CORPORA, 'interleaved') },
            { name: 'mmc4', type: 'interleaved', format: 'mmc4', path: join(CORPORA, 'interleaved', 'mmc4_shard151_partial') },
            { name: 'coco', type: 'grounding', format: 'coco', path: join(CORPORA, 'grounding', 'coco_mini', 'annotations', 'instances_val2017.json') },
            { name: 'tesseract', type: 'ocr', mode: 'pairs', path: join(CORPORA, 'ocr', 'tesseract_testing') },
            { name: 'clips', type: 'video', path: join(CORPORA, 'video', 'imageio'), frames: { maxFrames: 6 } },
          ],
          ingest: { unitRows: 200 },
          export: {
            formats: ['webdataset', 'interleaved', 'sft'],
            pretraining: { from: 'ingest', quality: { score: 'text_chars', buckets: [{ name: 'long', min: 2000 }, { name: 'short', min: 0 }] }, webdataset: { shardBytes: 20_000_000 }, unitBytes: 40_000_000 },
          },
        },
      },
    });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'export', {});
    exportDir = ws.path('shards', 'real', 'export');
  }, 600_000);
  afterAll(() => ws?.cleanup());

  it('exports every ingested sample of a pre-training kind, each with its reason in the ledger', async () => {
    const kinds = (await queryShards(loaded, `SELECT kind, count(*)::INT AS n FROM ingest_samples GROUP BY kind ORDER BY kind`)) as Array<{ kind: string; n: number }>;
    for (const k of ['caption', 'grounding', 'interleaved', 'ocr', 'video']) expect(kinds.map((r) => r.kind)).toContain(k);
    const ledger = (await queryShards(loaded, `SELECT reason, count(*)::INT AS n FROM ledger WHERE stage = 'export' GROUP BY reason`)) as Array<{ reason: string; n: number }>;
    const total = kinds.reduce((n, r) => n + r.n, 0);
    expect(ledger.reduce((n, r) => n + r.n, 0)).toBe(total);
    // Interleaved documents whose images are only remote (MMC4 here) still export as text in WebDataset and Parquet.
    expect(ledger.find((r) => r.reason === 'exported')?.n).toBe(total);
  });

  it('WebDataset: every shard parses member by member, every image decodes to the size ingest recorded', async () => {
    const read = JSON.parse(execFileSync('python3', [join(import.meta.dirname, 'read_webdataset.py'), join(exportDir, 'webdataset'), ws.path('read')], { maxBuffer: 1 << 30 }).toString()) as {
      samples: Array<{ key: string; dir: string; meta: { id: string; kind: string; quality: { bucket: string }; images: Array<{ member: string; media_id: string; width: number; height: number }>; frame_times: number[] | null; content: Array<{ type: string; text?: string }> } }>;
    };
    const count = (await queryShards(loaded, `SELECT count(*)::INT AS n FROM ingest_samples`))[0]!.n;
    expect(read.samples).toHaveLength(count as number);
    for (const s of read.samples) {
      for (const img of s.meta.images) {
        const bytes = await readFile(join(s.dir, img.member));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(img.media_id);
        const meta = await sharp(bytes).metadata();
        expect([meta.autoOrient.width, meta.autoOrient.height], `${s.meta.kind} ${img.member}`).toEqual([img.width, img.height]);
      }
      if (s.meta.kind === 'video') {
        expect(s.meta.frame_times?.length).toBe(s.meta.images.length);
        // GLM-4.1V order: frame, its timestamp, frame, its timestamp, …
        const labels = s.meta.content.filter((c) => c.type === 'text' && /^\[t=/.test(c.text ?? '')).map((c) => Number(/\[t=([\d.]+)s\]/.exec(c.text!)![1]));
        expect(labels).toHaveLength(s.meta.frame_times!.length);
        for (const [i, t] of labels.entries()) expect(Math.abs(t - s.meta.frame_times![i]!)).toBeLessThan(0.051);
        expect(s.meta.content.slice(0, 2).map((c) => c.type)).toEqual(['image', 'text']);
      }
      if (s.meta.kind === 'interleaved') expect(['long', 'short']).toContain(s.meta.quality.bucket);
      else expect(s.meta.quality.bucket).toBe('unscored');
    }
  });

  it('interleaved Parquet: one row per document, page or clip; texts and images aligned, one of the two at each position', async () => {
    const conn = await connect();
    const glob = join(exportDir, 'interleaved', '**', '*.parquet');
    const rows = (await conn.runAndReadAll(`SELECT kind, len(texts) AS n, len(images) AS m, [x IS NULL FOR x IN images] AS null_images, [x IS NULL FOR x IN texts] AS null_texts FROM read_parquet('${glob}', hive_partitioning = false)`)).getRowObjectsJson() as Array<{ kind: string; n: number; m: number; null_images: boolean[]; null_texts: boolean[] }>;
    const expected = (await queryShards(loaded, `SELECT count(*)::INT AS n FROM ingest_samples WHERE kind IN ('interleaved', 'ocr', 'video')`))[0]!.n;
    expect(rows).toHaveLength(expected as number);
    for (const r of rows) {
      expect(r.n).toBe(r.m);
      for (let i = 0; i < r.n; i++) expect(r.null_images[i]).not.toBe(r.null_texts[i]);
    }
  });

  it('SFT: LLaVA records for grounding, OCR and captioned photos, every image file present', async () => {
    const manifest = JSON.parse(await readFile(join(exportDir, 'sft', 'manifest.json'), 'utf8')) as { files: Array<{ path: string; kind: string }> };
    const kinds = new Set(manifest.files.map((f) => f.kind));
    expect(kinds).toContain('grounding');
    expect(kinds).toContain('ocr');
    for (const f of manifest.files) {
      for (const r of JSON.parse(await readFile(join(exportDir, 'sft', f.path), 'utf8')) as Array<{ image: string | string[]; conversations: Array<{ from: string; value: string }> }>) {
        for (const p of Array.isArray(r.image) ? r.image : [r.image]) expect(existsSync(join(exportDir, 'sft', p))).toBe(true);
        expect(r.conversations[1]!.value.length).toBeGreaterThan(0);
      }
    }
  });
});
