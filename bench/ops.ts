/**
 * Operations: what a nightly run costs when nothing (or 1%) changed, against a full run, all through
 * the CLI as cron would start it; then units/s on BullMQ workers (1 and 2 processes) and the queue's
 * overhead per unit against the in-process executor. Needs redis-server for the second part.
 *
 * STRATUM_BENCH_OPS_ROWS (default 200000) sets the corpus size; STRATUM_BENCH_OPS_UNITS (default 300)
 * the unit count of the queue part.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { templatedQaRows, timedCli, type Timed } from './_cli-run.js';

function config(files: string, unitRows: number): string {
  return `export default ${JSON.stringify({
    shardsDir: 'shards',
    datasets: { bench: { sources: [{ name: 'qa', type: 'qa', path: files, format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } }], ingest: { unitRows } } },
  })};\n`;
}

function ratio(a: Timed, full: Timed): string {
  const wall = `${((a.wall / full.wall) * 100).toFixed(2)}% of wall`;
  return a.cpu !== null && full.cpu ? `${wall}, ${((a.cpu / full.cpu) * 100).toFixed(2)}% of CPU` : wall;
}

function show(label: string, t: Timed): void {
  process.stdout.write(`${label}: ${t.wall.toFixed(2)} s wall${t.cpu !== null ? `, ${t.cpu.toFixed(2)} s CPU` : ''}\n`);
}

/**
 * Where a `run all`'s CPU went, from the CLI's own lines (each stage and the report print their CPU
 * seconds); the rest (Node and module start-up, config, exit) is the total minus those.
 */
function breakdown(t: Timed, full: Timed): void {
  const parts: Array<[string, number]> = [];
  for (const m of t.stdout.matchAll(/^\S+\/(\S+): .*\| [\d.]+ s, ([\d.]+) s CPU$/gm)) {
    const reduce = /reduce ran \(([\d.]+) s CPU\)/.exec(m[0]);
    if (reduce) parts.push([`${m[1]} reduce`, Number(reduce[1])], [`${m[1]} (without reduce)`, Number(m[2]) - Number(reduce[1])]);
    else parts.push([m[1] as string, Number(m[2])]);
  }
  const report = /^report .*\| ([\d.]+) s CPU$/m.exec(t.stdout);
  if (report) parts.push(['report', Number(report[1])]);
  if (t.cpu !== null) parts.push(['start-up and the rest', Math.max(0, t.cpu - parts.reduce((n, [, s]) => n + s, 0))]);
  const of = full.cpu ? (s: number) => ` (${((s / (full.cpu as number)) * 100).toFixed(2)}% of the full run)` : () => '';
  for (const [name, seconds] of parts) process.stdout.write(`    ${name.padEnd(22)} ${seconds.toFixed(2)} s CPU${of(seconds)}\n`);
}

async function nightly(dir: string): Promise<void> {
  const total = Number(process.env.STRATUM_BENCH_OPS_ROWS ?? 200_000);
  const files = 20;
  const perFile = Math.ceil(total / files);
  await mkdir(join(dir, 'qa'), { recursive: true });
  for (let f = 0; f < files; f++) await writeFile(join(dir, 'qa', `part-${String(f).padStart(3, '0')}.jsonl`), templatedQaRows(f, perFile, 'p'));
  await writeFile(join(dir, 'pipeline.config.ts'), config('qa/*.jsonl', 5000));
  // Nightly input lands well before the run; files changed within 2 s of a plan are re-read once (racily clean).
  await sleep(2500);
  process.stdout.write(`corpus: ${files} JSONL files, ${files * perFile} QA rows; run all = ingest → filter → difficulty (no endpoint) → export\n`);
  const full = await timedCli(['run', 'all'], dir);
  show('full run', full);
  breakdown(full, full);
  // Three re-runs, the median by CPU: one run's start-up cost wavers on a shared machine.
  const reruns: Timed[] = [];
  for (let i = 0; i < 3; i++) reruns.push(await timedCli(['run', 'all'], dir));
  const rerun = [...reruns].sort((a, b) => (a.cpu ?? a.wall) - (b.cpu ?? b.wall))[1] as Timed;
  show(`re-run, nothing changed (median of 3 by CPU; CPU ${reruns.map((r) => r.cpu?.toFixed(2)).join(', ')} s)`, rerun);
  breakdown(rerun, full);
  const status = await timedCli(['status'], dir);
  show('status', status);
  const help = await timedCli(['--help'], dir);
  show('CLI start-up (--help)', help);
  // 1% new data: one more file, as a nightly drop would add it.
  await writeFile(join(dir, 'qa', `part-new.jsonl`), templatedQaRows(999, Math.ceil(total / 100), 'n'));
  await sleep(2500);
  const append = await timedCli(['run', 'all'], dir);
  show('run after appending 1% new rows', append);
  breakdown(append, full);
  process.stdout.write(`re-run / full: ${ratio(rerun, full)} (goal ≤ 2%)\n1% append / full: ${ratio(append, full)} (goal ≤ 5%)\n`);
}

async function queue(dir: string): Promise<void> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    process.stdout.write('queue part skipped: redis-server is not installed\n');
    return;
  }
  const units = Number(process.env.STRATUM_BENCH_OPS_UNITS ?? 300);
  const unitRows = 50;
  await mkdir(join(dir, 'qa'), { recursive: true });
  for (let f = 0; f < units / 10; f++) await writeFile(join(dir, 'qa', `part-${f}.jsonl`), templatedQaRows(f, unitRows * 10, 'q'));
  const { startRedis, startWorker } = await import('../test/support/redis.js');
  const redis = await startRedis();
  try {
    const variants: Array<[string, number | null]> = [
      ['in-process', null],
      ['queue, 1 worker', 1],
      ['queue, 2 workers', 2],
    ];
    const results: Record<string, number> = {};
    for (const [label, workers] of variants) {
      const sub = join(dir, label.replace(/\W+/g, '-'));
      await mkdir(sub, { recursive: true });
      await writeFile(join(sub, 'pipeline.config.ts'), config(join(dir, 'qa', '*.jsonl'), unitRows));
      const procs = workers ? Array.from({ length: workers }, () => startWorker(redis.url)) : [];
      await Promise.all(procs.map((p) => p.ready));
      const t = await timedCli(['run', 'ingest', ...(workers ? ['--queue', redis.url] : [])], sub);
      const m = /\| ([\d.]+) s, [\d.]+ s CPU\n/.exec(t.stdout);
      const seconds = m ? Number(m[1]) : t.wall;
      results[label] = seconds;
      process.stdout.write(`${label}: ${units} ingest units (${unitRows} rows each) in ${seconds.toFixed(2)} s = ${(units / seconds).toFixed(1)} units/s\n`);
      for (const p of procs) await p.stop();
    }
    const inProcess = results['in-process'] as number;
    const one = results['queue, 1 worker'] as number;
    process.stdout.write(`queue overhead per unit (1 worker vs in-process, same concurrency): ${(((one - inProcess) / units) * 1000).toFixed(1)} ms\n`);
    process.stdout.write(`2 workers / 1 worker speed-up: ${(one / (results['queue, 2 workers'] as number)).toFixed(2)}× (this machine has 2 cores shared with other work)\n`);
  } finally {
    await redis.stop();
  }
}

export async function benchOps(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-ops-'));
  try {
    await nightly(join(dir, 'nightly'));
    await queue(join(dir, 'queue'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchOps();
