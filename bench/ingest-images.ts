/**
 * The image hot path on ../shared/corpora photos (natural_images, image_caption/coco_val2017_sample,
 * grounding: every jpg/jpeg/png there):
 *
 * 1. images/s for decode + metadata + sha256 + perceptual hashes: in-process (sharp, `ingest.concurrency`
 *    calls in flight) vs the image process pool (one worker per core), vs Python + PIL doing the same
 *    work (open, load, size, sha256, dHash via a 9×8 greyscale resize) in one process and in one
 *    process per core — all on the same files in the same run;
 * 2. peak RSS of a caption-adapter ingest of those images at 1× and 10× (hard links in a temp
 *    folder, and the 10× also as one WebDataset tar shard), each in a fresh child process;
 * 3. the caption adapter on the real caption corpora: COCO caption files with their photos, and
 *    natural_images as a folder without captions (requireCaption true vs false).
 *
 *   pnpm bench ingest-images
 */
import { spawn } from 'node:child_process';
import { copyFileSync, createReadStream, createWriteStream, existsSync, linkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from 'tar-stream';
import { pipeline } from 'node:stream/promises';
import { glob } from 'tinyglobby';
import { closeImagePool, getImagePool } from '../pipelines/ingest/media/image-pool.js';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';
import { log } from '../pipelines/shared/log.js';
import { measureThroughput } from './_image-throughput.js';

const CORPORA = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora');
const IMAGE_GLOBS = ['natural_images/**/*.{jpg,jpeg,png}', 'image_caption/coco_val2017_sample/**/*.{jpg,jpeg,png}', 'grounding/**/*.{jpg,jpeg,png}'];
const ROUNDS = 3;
const CHILD_ENV = 'STRATUM_BENCH_IMAGES_CHILD';
const SELF = fileURLToPath(import.meta.url);

interface ChildResult {
  seconds: number;
  counts: { in: number; kept: number; dropped: number; quarantined: number };
  parentMaxRssMiB: number;
  workerMaxRssMiB: number[];
}

export async function benchIngestImages(): Promise<void> {
  if (!existsSync(CORPORA)) {
    process.stdout.write('skipped: ../shared/corpora absent\n');
    return;
  }
  if (!process.env.STRATUM_LOG_LEVEL) log.level = 'warn'; // the logger exists before this runs
  const files = (await glob(IMAGE_GLOBS, { cwd: CORPORA, absolute: true })).sort();
  let totalBytes = 0;
  for (const f of files) totalBytes += (await stat(f)).size;
  const cores = availableParallelism();
  process.stdout.write(`${files.length} images, ${(totalBytes / 1e6).toFixed(1)} MB, ${cores} cores; best of ${ROUNDS} rounds\n\n`);

  await throughput(files);
  await peakRss(files);
  await realCorpora();
}

async function throughput(files: string[]): Promise<void> {
  process.stdout.write('1. decode + metadata + sha256 + dHash (+ DCT pHash for sharp) per image\n');
  await measureThroughput(files, { rounds: ROUNDS });
  process.stdout.write('\n');
}

async function peakRss(files: string[]): Promise<void> {
  process.stdout.write('2. peak RSS of a caption ingest (folder with .txt sidecars; each run in a fresh process)\n');
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-images-'));
  try {
    for (const copies of [1, 10]) {
      const root = join(dir, `folder-x${copies}`);
      await materialise(files, root, copies);
      const result = await runChild(dir, `x${copies}`, { sources: [{ name: 'photos', type: 'caption', layout: 'folder', path: root }] });
      rssLine(`folder ${copies}×`, result);
    }
    const tar = join(dir, 'shard-x10.tar');
    await writeShard(files, tar, 10);
    const result = await runChild(dir, 'tar-x10', { sources: [{ name: 'photos', type: 'caption', layout: 'webdataset', path: tar }] });
    rssLine(`WebDataset tar 10× (${((await stat(tar)).size / 1e6).toFixed(0)} MB, one unit)`, result);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write('\n');
}

async function realCorpora(): Promise<void> {
  process.stdout.write('3. caption adapter on the caption corpora\n');
  const coco = join(CORPORA, 'image_caption', 'coco_val2017_sample');
  const mini = join(CORPORA, 'grounding', 'coco_mini');
  const natural = join(CORPORA, 'natural_images');
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-captions-'));
  try {
    await timedIngest(dir, 'coco', {
      sources: [
        { name: 'coco_val2017_sample', type: 'caption', layout: 'coco-captions', path: join(coco, 'captions_val2017_subset.json'), imageRoot: join(coco, 'images') },
        { name: 'coco_mini_val', type: 'caption', layout: 'coco-captions', path: join(mini, 'annotations', 'captions_val2017.json'), imageRoot: join(mini, 'val2017') },
        { name: 'coco_mini_train', type: 'caption', layout: 'coco-captions', path: join(mini, 'annotations', 'captions_train2017.json'), imageRoot: join(mini, 'train2017') },
      ],
    });
    await timedIngest(dir, 'coco_full_text_only', {
      sources: [{ name: 'coco_val2017_full', type: 'caption', layout: 'coco-captions', path: join(CORPORA, 'image_caption', 'captions_val2017_full_text_only.json'), imageRoot: join(coco, 'images') }],
    });
    await timedIngest(dir, 'natural_require_caption', { sources: [{ name: 'natural', type: 'caption', layout: 'folder', path: natural }] });
    await timedIngest(dir, 'natural_no_caption_needed', { sources: [{ name: 'natural', type: 'caption', layout: 'folder', path: natural, requireCaption: false }] });
  } finally {
    await closeImagePool();
    await rm(dir, { recursive: true, force: true });
  }
}

async function timedIngest(dir: string, dataset: string, config: PipelineConfigInput['datasets'][string]): Promise<void> {
  const loaded = validateConfig({ datasets: { [dataset]: config } }, join(dir, 'pipeline.config.ts'));
  const started = performance.now();
  const [summary] = await runCommand(loaded, 'ingest', {});
  const seconds = (performance.now() - started) / 1000;
  const c = summary!.counts;
  const conn = await connect();
  await createShardViews(conn, loaded.shardsDir, [dataset]);
  const images = Number((await conn.runAndReadAll(`SELECT count(DISTINCT media[1].id) FROM samples`)).getRows()[0]?.[0] ?? 0);
  process.stdout.write(`   ${dataset}: in ${c.in} = kept ${c.kept} + quarantined ${c.quarantined} + dropped ${c.dropped}; ${images} distinct images; ${seconds.toFixed(2)} s\n`);
  const reasons = await conn.runAndReadAll(`SELECT reason, count(*)::INT FROM ledger WHERE decision <> 'kept' GROUP BY 1 ORDER BY 2 DESC`);
  for (const [reason, n] of reasons.getRows()) process.stdout.write(`      ${String(reason)}: ${String(n)}\n`);
}

/** `copies` × every image as hard links (copies where linking is refused), each with a .txt caption. */
async function materialise(files: string[], root: string, copies: number): Promise<void> {
  for (let c = 0; c < copies; c++) {
    const dir = join(root, `copy-${c}`);
    await mkdir(dir, { recursive: true });
    for (const [i, file] of files.entries()) {
      const name = `${String(i).padStart(5, '0')}-${basename(file, extname(file))}`;
      const target = join(dir, `${name}${extname(file)}`);
      try {
        linkSync(file, target);
      } catch {
        copyFileSync(file, target);
      }
      await writeFile(join(dir, `${name}.txt`), `Photo ${i} (${basename(file)}), copy ${c}.`);
    }
  }
}

async function writeShard(files: string[], tar: string, copies: number): Promise<void> {
  const p = pack();
  const done = pipeline(p, createWriteStream(tar));
  for (let c = 0; c < copies; c++) {
    for (const [i, file] of files.entries()) {
      const key = `c${c}/${String(i).padStart(5, '0')}`;
      const size = (await stat(file)).size;
      await new Promise<void>((res, rej) => {
        const entry = p.entry({ name: `${key}${extname(file).toLowerCase()}`, size }, (err) => (err ? rej(err) : res()));
        createReadStream(file).pipe(entry);
      });
      const caption = Buffer.from(`Photo ${i}, copy ${c}.`);
      await new Promise<void>((res, rej) => p.entry({ name: `${key}.txt`, size: caption.length }, caption, (err) => (err ? rej(err) : res())));
    }
  }
  p.finalize();
  await done;
}

function runChild(dir: string, dataset: string, config: PipelineConfigInput['datasets'][string]): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify({ dir, dataset, config }), STRATUM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`bench child exited with ${code}: ${out.slice(-500)}`));
      else resolvePromise(JSON.parse(last) as ChildResult);
    });
  });
}

/** In the child: one ingest, then its own and its pool workers' peak RSS. */
async function childMain(spec: { dir: string; dataset: string; config: PipelineConfigInput['datasets'][string] }): Promise<void> {
  const loaded = validateConfig({ shardsDir: join(spec.dir, `shards-${spec.dataset}`), datasets: { [spec.dataset]: spec.config } }, join(spec.dir, 'pipeline.config.ts'));
  const started = performance.now();
  const [summary] = await runCommand(loaded, 'ingest', {});
  const seconds = (performance.now() - started) / 1000;
  const workers = (await getImagePool()?.workerStats()) ?? [];
  await closeImagePool();
  const result: ChildResult = {
    seconds,
    counts: summary!.counts,
    parentMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    workerMaxRssMiB: workers.map((w) => Math.round(w.maxRssBytes / 1024 / 1024)),
  };
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

function rssLine(label: string, r: ChildResult): void {
  const workers = r.workerMaxRssMiB.length ? `, pool workers ${r.workerMaxRssMiB.join(' / ')} MiB` : '';
  process.stdout.write(
    `   ${label}: ${r.counts.in} pairs (kept ${r.counts.kept}) in ${r.seconds.toFixed(1)} s = ${(r.counts.in / r.seconds).toFixed(0)}/s; peak RSS main ${r.parentMaxRssMiB} MiB${workers}\n`,
  );
}

if (process.env[CHILD_ENV]) {
  const spec = JSON.parse(process.env[CHILD_ENV] as string) as Parameters<typeof childMain>[0];
  delete process.env[CHILD_ENV];
  await childMain(spec);
}

