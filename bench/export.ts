/**
 * Pre-training export throughput and memory: a generated corpus (caption, interleaved and grounding
 * samples with 640×480 JPEG/PNG/WebP images from the blob store) exported to WebDataset shards and,
 * separately, to interleaved Parquet, each export in a fresh child process that reports wall time,
 * CPU time and peak RSS, at growing corpus sizes. The peer: GNU `tar` packing the very same member
 * files (extracted from our shards, in the same order) in the same run.
 *
 *   pnpm bench export            (STRATUM_BENCH_EXPORT_SIZES=1000,4000,16000 to choose sizes)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { DatasetLayout } from '../pipelines/shared/store/layout.js';
import { log } from '../pipelines/shared/log.js';
import { writeUpstreamCorpus } from '../test/export/corpus.js';

const SELF = fileURLToPath(import.meta.url);
const CHILD_ENV = 'STRATUM_BENCH_EXPORT_CHILD';

interface ChildSpec {
  dir: string;
  step: 'corpus' | 'webdataset' | 'interleaved';
  samples: number;
}

interface ChildResult {
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  samples: number;
  bytes: number;
}

function datasetConfig(format: 'webdataset' | 'interleaved'): PipelineConfigInput['datasets'][string] {
  return {
    sources: [{ name: 'unused', type: 'qa', path: 'unused.jsonl', format: 'jsonl', fields: { question: 'q', answer: 'a' } }],
    export: { formats: [format], pretraining: { webdataset: { shardBytes: 256_000_000 }, mixture: { epochs: 1 } } },
  };
}

function loadedFor(spec: ChildSpec, format: 'webdataset' | 'interleaved') {
  return validateConfig({ shardsDir: join(spec.dir, 'shards'), datasets: { d: datasetConfig(format) } }, join(spec.dir, 'pipeline.config.ts'));
}

async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

async function childMain(spec: ChildSpec): Promise<void> {
  log.level = 'error';
  const started = performance.now();
  const cpu = process.cpuUsage();
  let bytes = 0;
  if (spec.step === 'corpus') {
    const layout = new DatasetLayout(join(spec.dir, 'shards'), 'd');
    await writeUpstreamCorpus(layout, await connect(), { seed: 5, samples: spec.samples, unitSize: 1000, distinctImages: 96, imageSide: [640, 480], kinds: ['caption', 'interleaved', 'grounding'] });
  } else {
    const loaded = loadedFor(spec, spec.step);
    await runCommand(loaded, 'export', { force: true });
    const root = join(spec.dir, 'shards', 'd', 'export', spec.step);
    for (const f of await filesUnder(root, spec.step === 'webdataset' ? '.tar' : '.parquet')) bytes += (await stat(f)).size;
  }
  const used = process.cpuUsage(cpu);
  const result: ChildResult = {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    samples: spec.samples,
    bytes,
  };
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF], { env: { ...process.env, [CHILD_ENV]: JSON.stringify(spec), STRATUM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`bench child exited with ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(last) as ChildResult);
    });
  });
}

/** GNU tar packing the members of our shards, extracted to disk first, in the same order: wall and CPU seconds. */
function tarPeer(shards: string[], work: string): { seconds: number; cpuSeconds: number; bytes: number } {
  let seconds = 0;
  let cpuSeconds = 0;
  let bytes = 0;
  for (const [i, shard] of shards.entries()) {
    const dir = join(work, `x${i}`);
    execFileSync('mkdir', ['-p', dir]);
    const names = execFileSync('tar', ['-xvf', shard, '-C', dir], { maxBuffer: 1 << 30 }).toString().trim().split('\n');
    const list = join(work, `list${i}`);
    execFileSync('bash', ['-c', `printf '%s\\n' "$@" > ${list}`, '_', ...names]);
    const out = join(work, `peer${i}.tar`);
    // bash's `time` reports tar's own wall and CPU seconds.
    const [real, user, sys] = execFileSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; { time tar --format=ustar --no-recursion -cf ${out} -C ${dir} -T ${list} ; } 2>&1`], { encoding: 'utf8' }).trim().split(/\s+/).map(Number) as [number, number, number];
    seconds += real;
    cpuSeconds += user + sys;
    bytes += Number(execFileSync('stat', ['-c', '%s', out], { encoding: 'utf8' }).trim());
    execFileSync('rm', ['-rf', dir, out, list]);
  }
  return { seconds, cpuSeconds, bytes };
}

const mb = (b: number): string => (b / 1e6).toFixed(1);

export async function benchExport(): Promise<void> {
  const sizes = (process.env.STRATUM_BENCH_EXPORT_SIZES ?? '1000,4000,8000').split(',').map(Number);
  process.stdout.write(`generated corpus: caption / interleaved / grounding samples, 96 distinct 640×480 images (JPEG, PNG, WebP); ${availableParallelism()} cores; each step in a fresh process\n`);
  process.stdout.write('rate columns: samples/s and MB/s of output, wall clock; "MB/cpu-s" divides by the process CPU time (per-core rate)\n\n');
  for (const samples of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-export-'));
    try {
      await writeFile(join(dir, 'unused.jsonl'), '');
      const corpus = await runChild({ dir, step: 'corpus', samples });
      const blobBytes = (await filesUnder(join(dir, 'shards', 'd', 'blobs'), '')).length;
      process.stdout.write(`${samples} samples (corpus built in ${corpus.seconds.toFixed(1)} s, ${blobBytes} blobs)\n`);
      for (const step of ['webdataset', 'interleaved'] as const) {
        const r = await runChild({ dir, step, samples });
        process.stdout.write(
          `  ${step.padEnd(11)} ${(samples / r.seconds).toFixed(0).padStart(6)} samples/s  ${(r.bytes / 1e6 / r.seconds).toFixed(1).padStart(6)} MB/s  ` +
            `${(r.bytes / 1e6 / r.cpuSeconds).toFixed(1).padStart(6)} MB/cpu-s  ${mb(r.bytes)} MB in ${r.seconds.toFixed(2)} s  peak RSS ${r.maxRssMiB} MiB\n`,
        );
        if (step === 'webdataset') {
          const work = join(dir, 'peer');
          await mkdir(work, { recursive: true });
          const shards = (await filesUnder(join(dir, 'shards', 'd', 'export', 'webdataset'), '.tar')).sort();
          const peer = tarPeer(shards, work);
          process.stdout.write(
            `  tar (peer)  ${(samples / peer.seconds).toFixed(0).padStart(6)} samples/s  ${(peer.bytes / 1e6 / peer.seconds).toFixed(1).padStart(6)} MB/s  ` +
              `${(peer.bytes / 1e6 / Math.max(peer.cpuSeconds, 1e-3)).toFixed(1).padStart(6)} MB/cpu-s  ${mb(peer.bytes)} MB in ${peer.seconds.toFixed(2)} s  (same members, files already on disk)\n`,
          );
          process.stdout.write(`  ratio webdataset/tar: ${((r.bytes / r.seconds) / (peer.bytes / peer.seconds)).toFixed(2)} wall, ${((r.bytes / r.cpuSeconds) / (peer.bytes / Math.max(peer.cpuSeconds, 1e-3))).toFixed(2)} per CPU-second\n`);
          await rm(work, { recursive: true, force: true });
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

if (process.env[CHILD_ENV]) {
  await childMain(JSON.parse(process.env[CHILD_ENV]) as ChildSpec);
  process.exit(0);
}
