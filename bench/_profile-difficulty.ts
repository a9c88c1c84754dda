/**
 * Dev aid, not part of `pnpm bench`: profiles one warm difficulty stage run (main thread) against the
 * bench policy server, the way docs/difficulty.md describes. Two datasets of SAMPLES each: the first
 * run warms the process up, the second is measured.
 *
 *   node --import tsx bench/_profile-difficulty.ts <cpu.cpuprofile | -> [verifierThreads]
 *     CPU=file.cpuprofile   sampling CPU profile of the measured run (`-` as the first argument: none)
 *     HEAP=file.heapprofile sampling heap profile (every allocation, collected or not) of the measured run
 *     RESCORE=1             then rescore the same samples from the journal (force) and print its CPU
 *     SAMPLES=2000
 *
 * Each run also prints its CPU per sample by thread (Linux, from /proc): the main thread, and the
 * others together (V8's helpers: GC and compilers; libuv's pool, where DuckDB's queries run; DuckDB's
 * own threads). Threads that end within the run are missing from it: the pool's workers close at the
 * end of the stage, so with [verifierThreads] the two parts add up to less than the process total.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import { benchDifficultyDataset, benchItems, startPolicyServerProcess } from './_policy-server.js';

process.env.STRATUM_LOG_LEVEL ??= 'warn';
const SAMPLES = Number(process.env.SAMPLES ?? 2000);
const cpuOut = process.argv[2] && process.argv[2] !== '-' ? process.argv[2] : null;
const threads = Number(process.argv[3] ?? 0);
const dir = await mkdtemp(join(tmpdir(), 'stratum-prof-difficulty-'));
const items = benchItems(SAMPLES * 2);
const server = await startPolicyServerProcess(items.length);
const session = new Session();
session.connect();
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
/** CPU ms of each thread of this process (utime + stime from /proc; empty where there is none). */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10); // clock ticks of 10 ms
    }
  } catch {
    // not Linux, or a thread ended while read
  }
  return out;
}
try {
  for (const i of [0, 1]) {
    const mine = items.slice(i * SAMPLES, (i + 1) * SAMPLES);
    const loaded = await benchDifficultyDataset(dir, i, mine, server.baseUrl, { n: 8, concurrency: 64, verifierThreads: threads });
    const measured = i === 1;
    if (measured && process.env.HEAP) {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
    }
    if (measured && cpuOut) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    const cpu = process.cpuUsage();
    const threadsBefore = threadCpuMs();
    const started = performance.now();
    await runCommand(loaded, 'difficulty', {});
    let main = 0;
    let others = 0;
    for (const [tid, ms] of threadCpuMs()) {
      const used = ms - (threadsBefore.get(tid) ?? 0);
      if (tid === String(process.pid)) main += used;
      else others += used;
    }
    process.stderr.write(
      `run ${i}: ${((performance.now() - started) / 1000).toFixed(2)} s wall, ${(cpuMs(cpu) / SAMPLES).toFixed(3)} ms CPU per sample ` +
        `(main thread ${(main / SAMPLES).toFixed(3)} ms, other threads still alive ${(others / SAMPLES).toFixed(3)} ms, counted in 10 ms ticks)\n`,
    );
    if (measured && cpuOut) await writeFile(cpuOut, JSON.stringify((await session.post('Profiler.stop')).profile));
    if (measured && process.env.HEAP) await writeFile(process.env.HEAP, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile));
    if (measured && process.env.RESCORE) {
      const again = process.cpuUsage();
      await runCommand(loaded, 'difficulty', { force: true });
      process.stderr.write(`rescoring from the journal: ${(cpuMs(again) / SAMPLES).toFixed(3)} ms CPU per sample\n`);
    }
  }
} finally {
  server.stop();
  await rm(dir, { recursive: true, force: true });
}
