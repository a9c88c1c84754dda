import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { log } from '../../shared/log.js';
import { manifestFiles, readManifest } from '../../shared/runner/manifest.js';
import type { StageContext } from '../../shared/runner/stage.js';
import { sqlList } from '../../shared/store/duckdb.js';
import { writeMixture, type MixtureSummary } from './mixture.js';
import { FILE_FORMAT_DIRS, type FileRow } from './outputs.js';
import type { PretrainingFormat } from './formats.js';

/** Files finalize writes itself (rewritten on every run, never garbage). */
const GENERATED = new Set(['manifest.json', 'shardindex.json', 'sizes.json']);

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 1) + '\n');
  await rename(tmp, path);
}

/**
 * After the units: deletes files of the pre-training formats that no committed unit lists (left by
 * a killed run, or replaced by a recomputed unit), then writes what loaders look for beside the
 * shards — WebDataset `manifest.json`, a wids `shardindex.json`, OpenCLIP `sizes.json` per folder —
 * the SFT `manifest.json`, and the seeded mixture epochs.
 */
export async function finalizePretraining(ctx: StageContext, formats: readonly PretrainingFormat[]): Promise<void> {
  const stageDir = ctx.layout.stageDir('export');
  const manifest = await readManifest(ctx.layout.manifest('export'), 'export');
  const fileParts = manifestFiles(manifest, 'files').map((f) => join(stageDir, f));
  const memberParts = manifestFiles(manifest, 'members').map((f) => join(stageDir, f));
  const rows = fileParts.length
    ? ((await ctx.conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlList(fileParts)}) ORDER BY path`)).getRowObjectsJson() as unknown as FileRow[])
    : [];
  const live = new Set(rows.map((r) => r.path));
  for (const dir of Object.values(FILE_FORMAT_DIRS)) await collectGarbage(stageDir, dir, live);

  await writeWebDatasetManifests(stageDir, rows.filter((r) => r.format === 'webdataset' && r.role === 'shard'), formats.includes('webdataset'));
  if (!formats.includes('sft')) await rm(join(stageDir, FILE_FORMAT_DIRS.sft, 'manifest.json'), { force: true });
  else {
    const records = rows.filter((r) => r.format === 'sft' && r.role === 'records');
    await writeJsonAtomic(join(stageDir, FILE_FORMAT_DIRS.sft, 'manifest.json'), {
      format: 'llava',
      image_folder: '.',
      files: records.map((r) => ({ path: relative(FILE_FORMAT_DIRS.sft, r.path), kind: r.kind, quality: r.quality, samples: Number(r.samples) })),
    });
  }
  const mixtureDir = join(stageDir, 'mixture');
  if (!formats.length) {
    await rm(mixtureDir, { recursive: true, force: true });
    return;
  }
  const mixtures: MixtureSummary[] = [];
  for (const format of formats) mixtures.push(await writeMixture(ctx.conn, memberParts, format, ctx.config.export.pretraining.mixture, mixtureDir));
  for (const entry of await readdir(mixtureDir)) if (entry !== 'manifest.json' && !(formats as readonly string[]).includes(entry)) await rm(join(mixtureDir, entry), { recursive: true, force: true });
  await writeJsonAtomic(join(mixtureDir, 'manifest.json'), { mixtures });
}

async function collectGarbage(stageDir: string, dir: string, live: Set<string>): Promise<void> {
  const root = join(stageDir, dir);
  if (!existsSync(root)) return;
  const folders: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) folders.push(join(entry.parentPath, entry.name));
    if (!entry.isFile() || GENERATED.has(entry.name)) continue;
    const rel = relative(stageDir, join(entry.parentPath, entry.name));
    if (live.has(rel)) continue;
    if (!entry.name.endsWith('.tmp')) log.warn({ file: rel }, 'removing an export file no committed unit owns');
    await rm(join(stageDir, rel), { force: true });
  }
  // Deepest first; a folder that still holds a file (or a sizes.json rewritten below) stays.
  for (const folder of folders.sort((a, b) => b.length - a.length)) {
    const left = await readdir(folder);
    if (left.length === 0 || (left.length === 1 && left[0] === 'sizes.json')) await rm(folder, { recursive: true, force: true });
  }
}

async function writeWebDatasetManifests(stageDir: string, shards: FileRow[], configured: boolean): Promise<void> {
  const root = join(stageDir, FILE_FORMAT_DIRS.webdataset);
  if (!configured) {
    if (existsSync(root)) for (const name of ['shardindex.json', 'manifest.json']) await rm(join(root, name), { force: true });
  }
  const byDir = new Map<string, Record<string, number>>();
  for (const s of shards) {
    const dir = dirname(s.path);
    const sizes = byDir.get(dir) ?? {};
    sizes[basename(s.path)] = Number(s.samples);
    byDir.set(dir, sizes);
  }
  // Folders whose shards are all gone keep no stale sizes.json.
  if (existsSync(root)) {
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name === 'sizes.json' && !byDir.has(relative(stageDir, entry.parentPath))) await rm(join(entry.parentPath, entry.name), { force: true });
    }
  }
  for (const [dir, sizes] of byDir) await writeJsonAtomic(join(stageDir, dir, 'sizes.json'), sizes);
  if (!configured) return;
  const list = shards.map((s) => ({ url: relative(FILE_FORMAT_DIRS.webdataset, s.path), nsamples: Number(s.samples), bytes: Number(s.bytes), kind: s.kind, quality: s.quality }));
  await writeJsonAtomic(join(root, 'shardindex.json'), { __kind__: 'wids-shard-index-v1', wids_version: 1, name: 'stratum', shardlist: list.map(({ url, nsamples }) => ({ url, nsamples })) });
  await writeJsonAtomic(join(root, 'manifest.json'), {
    format: 'webdataset',
    samples: list.reduce((n, s) => n + s.nsamples, 0),
    bytes: list.reduce((n, s) => n + s.bytes, 0),
    shards: list.map((s) => ({ ...s, index: s.url.replace(/\.tar$/, '.index.json') })),
  });
}
