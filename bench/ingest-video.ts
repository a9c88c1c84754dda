/**
 * Video ingest throughput on ../shared/corpora/video (18 clips, mp4/mkv/mov/gif): frames/s and
 * clips/s in fps mode and keyframe mode, one ffmpeg per core vs one in all, and where each clip
 * lands; then the hostile cases (an endless recording, a huge declared duration, a truncated file,
 * a named pipe, a timeout) with the quarantine reason each one gets and the time it took.
 *
 * Each configuration runs in its own child process (`STRATUM_FFMPEG_PROCESSES` sets the number of
 * ffmpeg processes at once there), so its peak RSS is its own; ffmpeg's RSS is sampled from /proc.
 *
 *   pnpm bench ingest-video
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';
import { copy, endlessRecording, hugeDeclaredDuration, testPattern, truncatedCopy } from '../test/fixtures/video/generate.js';

const CORPUS = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora', 'video');
const REPEATS = 3;
const CHILD_ENV = 'STRATUM_BENCH_VIDEO_CHILD';

interface Setup {
  label: string;
  processes: number;
  source: Record<string, unknown>;
  /** Hostile inputs: run once, show the ledger. */
  once?: boolean;
}

interface ChildReport {
  seconds: number[];
  clips: number;
  kept: number;
  frames: number;
  decoded: number;
  /** Frame-decoding ffmpeg wall time summed over kept clips (last run); processes overlap. */
  ffmpegSeconds: number;
  ledger: Array<{ uri: string; decision: string; reason: string; frames: number | null; message: string }>;
  nodeRssMiB: number;
  ffmpegRssMiB: number;
  workerRssMiB: number;
}

export async function benchIngestVideo(): Promise<void> {
  if (!existsSync(CORPUS)) {
    process.stdout.write('skipped: ../shared/corpora absent\n');
    return;
  }
  const cores = availableParallelism();
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-video-'));
  let writer: ChildProcess | undefined;
  try {
    const corpus = { type: 'video', path: CORPUS };
    const setups: Setup[] = [
      { label: `fps 1/s, ${cores} ffmpeg`, processes: cores, source: { ...corpus, frames: { modes: ['fps'] } } },
      { label: 'fps 1/s, 1 ffmpeg', processes: 1, source: { ...corpus, frames: { modes: ['fps'] }, concurrency: 1 } },
      { label: `fps 1/s, ${cores} ffmpeg, auto threads`, processes: cores, source: { ...corpus, frames: { modes: ['fps'] }, ffmpegThreads: 0 } },
      { label: `keyframes, ${cores} ffmpeg`, processes: cores, source: { ...corpus, frames: { modes: ['keyframes'] } } },
      { label: `fps + keyframes, ${cores} ffmpeg`, processes: cores, source: { ...corpus, frames: { modes: ['fps', 'keyframes'] } } },
    ];
    process.stdout.write(`../shared/corpora/video, ${cores} cores, best of ${REPEATS} runs each (whole ingest stage: probe, decode, frames + video into the blob store, Parquet)\n`);
    process.stdout.write('setup                                 clips/s  frames/s  decoded/s   best s  ffmpeg s  node RSS  ffmpeg RSS  image-pool RSS\n');
    const reports = new Map<string, ChildReport>();
    for (const setup of setups) {
      const r = await runChild(setup, join(dir, `run-${reports.size}`));
      reports.set(setup.label, r);
      const best = Math.min(...r.seconds);
      process.stdout.write(
        `${setup.label.padEnd(36)}  ${(r.clips / best).toFixed(2).padStart(7)}  ${(r.frames / best).toFixed(1).padStart(8)}  ${(r.decoded / best).toFixed(0).padStart(9)}  ${best.toFixed(2).padStart(7)}  ${r.ffmpegSeconds.toFixed(2).padStart(8)}  ${r.nodeRssMiB.toFixed(0).padStart(5)} MiB  ${r.ffmpegRssMiB.toFixed(0).padStart(6)} MiB  ${r.workerRssMiB.toFixed(0).padStart(10)} MiB\n`,
      );
    }
    const report = (label: string) => reports.get(label) as ChildReport;
    const many = report(`fps 1/s, ${cores} ffmpeg`);
    const one = report('fps 1/s, 1 ffmpeg');
    const key = report(`keyframes, ${cores} ffmpeg`);
    const clipsPerSecond = (r: ChildReport) => r.clips / Math.min(...r.seconds);
    process.stdout.write(`ratio clips/s, ${cores} ffmpeg : 1 ffmpeg = ${(clipsPerSecond(many) / clipsPerSecond(one)).toFixed(2)}×\n`);
    process.stdout.write(`ratio clips/s, keyframes : fps = ${(clipsPerSecond(key) / clipsPerSecond(many)).toFixed(2)}× (keyframe mode decodes ${key.decoded} frames, fps mode ${many.decoded})\n`);

    process.stdout.write('\nwhere each corpus clip lands (fps mode):\n');
    printLedger(many, CORPUS);

    const hostile = join(dir, 'hostile');
    await mkdir(hostile, { recursive: true });
    const mp4 = await testPattern(join(hostile, 'ok.mp4'), { seconds: 4 });
    await truncatedCopy(mp4, join(hostile, 'moov-missing.mp4'), 0.5);
    await truncatedCopy(await testPattern(join(dir, 'full.mkv'), { seconds: 4 }), join(hostile, 'truncated.mkv'), 0.5);
    await hugeDeclaredDuration(join(hostile, 'declares-100000s.mkv'), 100_000);
    await copy(join(CORPUS, 'decord', 'corrupted.mp4'), hostile, 'corrupted.mp4');
    execFileSync('mkfifo', [join(hostile, 'pipe.mp4')]);
    writer = await endlessRecording(join(dir, 'endless.mkv'), 96 * 1024);
    const started = Date.now();
    const r = await runChild(
      {
        label: 'hostile',
        processes: cores,
        once: true,
        source: { type: 'video', path: hostile, maxDuration: 60 },
        extra: [
          { name: 'endless', type: 'video', path: join(dir, 'endless.mkv'), maxDuration: 60 },
          { name: 'pipe', type: 'video', path: join(hostile, 'pipe.mp4') },
          { name: 'timeout', type: 'video', path: mp4, timeoutMs: 20 },
        ],
      } as Setup & { extra: unknown[] },
      join(dir, 'run-hostile'),
    );
    process.stdout.write(`\nhostile inputs (maxDuration 60 s), whole run ${((Date.now() - started) / 1000).toFixed(1)} s:\n`);
    printLedger(r, dir);
  } finally {
    writer?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

function printLedger(r: ChildReport, root: string): void {
  process.stdout.write('clip                                   decision     reason                     frames  message\n');
  for (const row of [...r.ledger].sort((a, b) => a.uri.localeCompare(b.uri))) {
    const uri = row.uri.startsWith(root) ? row.uri.slice(root.length + 1) : row.uri;
    process.stdout.write(`${uri.padEnd(38)} ${row.decision.padEnd(12)} ${row.reason.padEnd(26)} ${String(row.frames ?? '').padStart(6)}  ${row.message.slice(0, 90)}\n`);
  }
}

function runChild(setup: Setup & { extra?: unknown[] }, dir: string): Promise<ChildReport> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify({ setup, dir }), STRATUM_FFMPEG_PROCESSES: String(setup.processes), STRATUM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`bench child for ${setup.label} failed (exit ${code}): ${out.slice(-2000)}`));
      else resolvePromise(JSON.parse(line) as ChildReport);
    });
  });
}

/** In the child: run the ingest stage REPEATS times (forced), report numbers as one JSON line. */
async function child(): Promise<void> {
  const { setup, dir } = JSON.parse(process.env[CHILD_ENV] as string) as { setup: Setup & { extra?: Record<string, unknown>[] }; dir: string };
  const config: PipelineConfigInput = {
    shardsDir: join(dir, 'shards'),
    datasets: { v: { sources: [{ name: 'clips', ...setup.source }, ...(setup.extra ?? [])] as never } },
  };
  const loaded = validateConfig(config, join(dir, 'pipeline.config.ts'));
  const sampler = new RssSampler();
  const seconds: number[] = [];
  const silent = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write; // runCommand's summary line
  try {
    for (let i = 0; i < (setup.once ? 1 : REPEATS); i++) {
      const started = performance.now();
      await runCommand(loaded, 'ingest', { force: true });
      seconds.push((performance.now() - started) / 1000);
    }
  } finally {
    process.stdout.write = silent;
    sampler.stop();
  }
  const conn = await connect();
  await createShardViews(conn, loaded.shardsDir, ['v']);
  const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  const [totals] = await q(
    `SELECT count(*)::INT AS kept, coalesce(sum(len(list_filter(content, p -> p.type = 'image'))), 0)::INT AS frames,
            coalesce(sum(coalesce(CAST(json_extract(signals.extra, '$.frames_decoded') AS INT), 0)
                         + coalesce(CAST(json_extract(signals.extra, '$.keyframes_decoded') AS INT), 0)), 0)::INT AS decoded,
            coalesce(sum(CAST(json_extract(meta, '$.ffmpeg_ms') AS DOUBLE)), 0) / 1000 AS ffmpeg_s FROM samples`,
  );
  const ledger = await q(
    `SELECT l.source_uri AS uri, l.decision, l.reason, len(list_filter(s.content, p -> p.type = 'image'))::INT AS frames,
            coalesce(json_extract_string(l.details, '$.message'), '') AS message
     FROM ledger l LEFT JOIN samples s ON s.id = l.sample_id`,
  );
  const report: ChildReport = {
    seconds,
    clips: ledger.length,
    kept: Number(totals?.kept ?? 0),
    frames: Number(totals?.frames ?? 0),
    decoded: Number(totals?.decoded ?? 0),
    ffmpegSeconds: Number(totals?.ffmpeg_s ?? 0),
    ledger: ledger as unknown as ChildReport['ledger'],
    nodeRssMiB: process.resourceUsage().maxRSS / 1024,
    ffmpegRssMiB: sampler.peak.ffmpeg / 1024,
    workerRssMiB: sampler.peak.node / 1024,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Peak resident memory (VmHWM, kB) of this process's children by name, read from /proc every 20 ms. */
class RssSampler {
  readonly peak = { ffmpeg: 0, node: 0 };
  private readonly timer = setInterval(() => this.sample(), 20);

  private sample(): void {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
        const name = /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '';
        const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        const kind = name.startsWith('ff') ? 'ffmpeg' : 'node';
        this.peak[kind] = Math.max(this.peak[kind], hwm);
      } catch {
        // the process ended between the listing and the read
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

if (process.env[CHILD_ENV]) await child();
