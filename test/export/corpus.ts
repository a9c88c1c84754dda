/**
 * Generates an upstream stage (as ingest would leave it) of pre-training samples of every kind:
 * real images in the blob store (PNG, JPEG, WebP of varied sizes), interleaved documents, grounding
 * and GUI tasks with 0–999 boxes, OCR, video frames with timestamps, QA rows, scores present,
 * absent and malformed; optionally planted faults. Used by the export tests and `pnpm bench export`.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import type { DuckDBConnection } from '@duckdb/node-api';
import { SAMPLE_COLUMNS, toSampleRow, unratedDifficulty, type ContentPart, type MediaDescriptor, type Sample, type SampleKind, type Task } from '../../schemas/sample.js';
import { sha256File, sha256Hex } from '../../pipelines/shared/hash.js';
import { ManifestLog, type StageManifest } from '../../pipelines/shared/runner/manifest.js';
import { unitKey } from '../../pipelines/shared/runner/run-stage.js';
import { BlobStore } from '../../pipelines/shared/store/blob-store.js';
import type { DatasetLayout } from '../../pipelines/shared/store/layout.js';
import { writeParquet } from '../../pipelines/shared/store/parquet-writer.js';

export interface CorpusOptions {
  seed: number;
  samples: number;
  unitSize: number;
  /** Planted faults: missing blob, malformed score, duplicate id, unsupported mime. */
  faults?: boolean;
  /** Reuse this many distinct images (bench: large corpora without generating every image). */
  distinctImages?: number;
  imageSide?: [number, number];
  kinds?: SampleKind[];
}

export interface GeneratedSample {
  sample: Sample;
  /** The score written into signals.extra.quality_score (undefined: none written). */
  score: unknown;
  fault: string | null;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const WORDS = 'the a red small large cat dog street sign window page chart table river house person bicycle car tree ünïcödé 漢字 "quoted" line\nbreak tab\tstop'.split(' ');

export async function makeImage(seed: number, width: number, height: number, format: 'png' | 'jpeg' | 'webp'): Promise<Buffer> {
  const random = rng(seed * 7919 + 17);
  // A smooth gradient with a seeded tint compresses like a photo would, unlike pure noise.
  const pixels = Buffer.alloc(width * height * 3);
  const [r, g, b] = [random() * 255, random() * 255, random() * 255];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (r + x * 0.7 + random() * 24) & 0xff;
      pixels[i + 1] = (g + y * 0.9 + random() * 24) & 0xff;
      pixels[i + 2] = (b + (x + y) * 0.3) & 0xff;
    }
  }
  const img = sharp(pixels, { raw: { width, height, channels: 3 } });
  return (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg({ quality: 85 }) : img.webp({ quality: 80 })).toBuffer();
}

export async function writeUpstreamCorpus(layout: DatasetLayout, conn: DuckDBConnection, options: CorpusOptions, stage: 'ingest' | 'difficulty' = 'ingest'): Promise<GeneratedSample[]> {
  const random = rng(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const blobs = new BlobStore(layout.blobs);
  const pool: MediaDescriptor[] = [];
  let imageSeed = options.seed * 100_000;

  const image = async (): Promise<MediaDescriptor> => {
    if (options.distinctImages && pool.length >= options.distinctImages) return pick(pool);
    const format = pick(['png', 'jpeg', 'webp'] as const);
    const [w, h] = options.imageSide ?? [16 + Math.floor(random() * 80), 16 + Math.floor(random() * 60)];
    const bytes = await makeImage(imageSeed++, w, h, format);
    const id = await blobs.put(bytes);
    const media: MediaDescriptor = { id, mime: `image/${format}`, width: w, height: h, bytes: bytes.length, duration: null, frames: null, phash: null, dhash: null };
    pool.push(media);
    return media;
  };
  const box = (): Task['boxes'][number] => {
    const x1 = Math.floor(random() * 900);
    const y1 = Math.floor(random() * 900);
    return { label: pick(['cat', 'dog', 'sign']), x1, y1, x2: Math.min(999, x1 + 1 + Math.floor(random() * 99)), y2: Math.min(999, y1 + 1 + Math.floor(random() * 99)) };
  };
  const task = (question: string, answer: string, verifier: string, boxes: Task['boxes'] = []): Task => ({
    question,
    answer: `<|begin_of_box|>${answer}<|end_of_box|>`,
    answer_raw: answer,
    answer_type: boxes.length ? 'boxes' : 'text',
    choices: [],
    boxes,
    verifier,
    solution: null,
  });
  const text = (t: string): ContentPart => ({ type: 'text', text: t, media_id: null });
  const img = (m: MediaDescriptor): ContentPart => ({ type: 'image', text: null, media_id: m.id });

  const kinds = options.kinds ?? (['caption', 'interleaved', 'ocr', 'grounding', 'gui', 'video', 'qa'] as SampleKind[]);
  const generated: GeneratedSample[] = [];
  for (let i = 0; i < options.samples; i++) {
    const kind = pick(kinds);
    const media: MediaDescriptor[] = [];
    const content: ContentPart[] = [];
    let t: Task | null = null;
    const extra: Record<string, unknown> = {};
    const add = async (): Promise<MediaDescriptor> => {
      const m = await image();
      if (!media.some((x) => x.id === m.id)) media.push(m);
      content.push(img(m));
      return m;
    };
    if (kind === 'caption') {
      if (random() < 0.9) await add();
      content.push(text(words(3 + Math.floor(random() * 12))));
    } else if (kind === 'interleaved') {
      const parts = 1 + Math.floor(random() * 6);
      for (let p = 0; p < parts; p++) {
        if (random() < 0.5) await add();
        else content.push(text(words(5 + Math.floor(random() * 30))));
      }
      extra.text_chars = content.reduce((n, c) => n + (c.text?.length ?? 0), 0);
    } else if (kind === 'ocr') {
      await add();
      const truth = words(4);
      content.push(text('What text is in the image?'));
      t = task('What text is in the image?', truth, 'ocr');
    } else if (kind === 'grounding' || kind === 'gui') {
      await add();
      const boxes = Array.from({ length: 1 + Math.floor(random() * 3) }, box);
      const q = kind === 'gui' ? `Click the ${words(1)} button.` : `Locate every ${boxes[0]!.label} in the image.`;
      content.push(text(q));
      const answer = kind === 'gui' ? `click(${boxes[0]!.x1},${boxes[0]!.y1})` : JSON.stringify(boxes.map((b) => [b.x1, b.y1, b.x2, b.y2]));
      t = task(q, answer, kind === 'gui' ? 'gui' : 'grounding', boxes);
    } else if (kind === 'video') {
      const frames = 2 + Math.floor(random() * 4);
      const times: number[] = [];
      for (let f = 0; f < frames; f++) {
        await add();
        const at = Math.round(f * (0.5 + random()) * 10) / 10;
        times.push(at);
        content.push(text(`[t=${at.toFixed(1)}s]`));
      }
      extra.frame_times = times;
      content.push(text(words(6)));
    } else {
      content.push(text(`What is ${i} + 1?`));
      t = task(`What is ${i} + 1?`, String(i + 1), 'math');
    }
    const roll = random();
    const score = roll < 0.3 ? undefined : roll < 0.95 ? Math.round(random() * 1000) / 1000 : -0.25;
    if (score !== undefined) extra.quality_score = score;
    const id = sha256Hex(`${options.seed}:${i}`);
    const sample: Sample = {
      id,
      schema_version: 1,
      dataset: layout.dataset,
      source: { name: 'generated', uri: 'generated.jsonl', locator: `line:${i + 1}` },
      kind,
      domain: 'general',
      license: 'CC0-1.0',
      lang: 'en',
      content,
      media,
      task: t,
      signals: { content_hash: sha256Hex(JSON.stringify(content)), extra: JSON.stringify(extra), quality: null, dedup: null, embedding: null },
      difficulty: unratedDifficulty(),
      meta: JSON.stringify({ i }),
      derived_from: null,
    };
    generated.push({ sample, score, fault: null });
  }

  if (options.faults) {
    const withImage = generated.filter((g) => g.sample.content.some((c) => c.type === 'image') && g.sample.kind !== 'qa');
    const plant = (g: GeneratedSample | undefined, fault: string, edit: (s: Sample) => void): void => {
      if (!g) return;
      edit(g.sample);
      g.fault = fault;
    };
    plant(withImage[0], 'missing_blob', (s) => {
      const ghost = sha256Hex(`ghost:${s.id}`);
      s.media = s.media.map((m, k) => (k === 0 ? { ...m, id: ghost } : m));
      const first = s.content.findIndex((c) => c.type === 'image');
      s.content[first] = { type: 'image', text: null, media_id: ghost };
    });
    plant(withImage[1], 'unsupported_image_type', (s) => {
      s.media = s.media.map((m) => ({ ...m, mime: 'image/x-portable-anymap' }));
    });
    const nonQa = generated.filter((g) => g.sample.kind !== 'qa' && g.fault === null);
    for (const [n, value] of [['string', '0.9'], ['object', { v: 1 }], ['bool', true]] as const) {
      plant(nonQa[2 + ['string', 'object', 'bool'].indexOf(n)], 'invalid_quality_score', (s) => {
        s.signals.extra = JSON.stringify({ ...JSON.parse(s.signals.extra), quality_score: value });
      });
    }
    const original = nonQa[6];
    if (original) generated.splice(generated.indexOf(original) + 1, 0, { sample: structuredClone(original.sample), score: original.score, fault: 'duplicate_sample_id' });
  }

  const manifest: StageManifest = { version: 2, stage, units: {} };
  for (let start = 0, u = 0; start < generated.length; start += options.unitSize, u++) {
    const slice = generated.slice(start, start + options.unitSize);
    const id = `generated:${u}`;
    const key = unitKey(id);
    const dir = join(layout.stageDir(stage), 'data');
    const files = await writeParquet(conn, slice.map((g) => toSampleRow(g.sample)), { columns: SAMPLE_COLUMNS, dir, stem: `part-${key}` });
    const outputHash = await sha256File(join(dir, files[0]!));
    manifest.units[id] = {
      key,
      label: id,
      fingerprint: outputHash,
      configHash: 'generated',
      counts: { in: slice.length, kept: slice.length, dropped: 0, quarantined: 0 },
      files: { data: files.map((f) => join('data', f)) },
      outputHash,
      committedAt: new Date(0).toISOString(),
      durationMs: 0,
    };
  }
  const log = await ManifestLog.open(layout.manifest(stage), stage);
  for (const [id, record] of Object.entries(manifest.units)) await log.commit(id, record);
  return generated;
}
