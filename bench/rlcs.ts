/**
 * RLCS: (1) the simulation of test/rlcs/simulate.ts at a larger size — share of informative
 * (mixed-outcome) groups under the curriculum sampler vs uniform sampling, and how closely imported
 * logs track the true rates; (2) `rlcs import` of verl-shaped rollout dumps of 100k and 1M lines
 * (lines/s, peak growth of RSS and of the JS heap; the heap must not grow with the log), then a rerun after 10k appended
 * lines (bytes and lines read); the same lines parsed by a bare Python json.loads loop as a peer.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { rlcsSchema } from '../pipelines/rlcs/config.js';
import { importLogs } from '../pipelines/rlcs/import-logs.js';
import { DEFAULT_TIER_THRESHOLDS } from '../pipelines/difficulty/tiers.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createWorkspace } from '../test/support/workspace.js';
import { buildDataset, type FixtureSample } from '../test/rlcs/support.js';
import { simulate } from '../test/rlcs/simulate.js';

async function writeDump(path: string, samples: FixtureSample[], lines: number, firstStep: number, seed: number): Promise<void> {
  const out = createWriteStream(path, { flags: 'a' });
  let x = seed >>> 0;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = 0; i < lines; i++) {
    const s = samples[Math.floor(rand() * samples.length)]!;
    const ok = rand() < 0.5;
    const line = JSON.stringify({ input: 'What is the area of the shaded region? Give the answer in lowest terms.', output: `<think>step by step ${i}</think><answer><|begin_of_box|>${ok ? 42 : 41}<|end_of_box|></answer>`, gts: '42', score: ok ? 1 : 0, step: firstStep + Math.floor(i / 8192), acc: ok ? 1 : 0, format_ok: 1, sample_index: s.index });
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Peak growth of RSS (includes DuckDB's buffer pool, which grows up to its memory limit and spills past it) and of the JS heap. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakRssGrowthMb: number; peakHeapGrowthMb: number }> {
  const base = process.memoryUsage().rss;
  const baseHeap = process.memoryUsage().heapUsed;
  let peak = base;
  let peakHeap = baseHeap;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, seconds: (performance.now() - started) / 1000, peakRssGrowthMb: (peak - base) / 2 ** 20, peakHeapGrowthMb: (peakHeap - baseHeap) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export async function benchRlcs(): Promise<void> {
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const ws = await createWorkspace('stratum-bench-rlcs-');
  try {
    const sim = await simulate(ws, { items: 400, steps: 12, batchSize: 48, n: 8, seed: 3 });
    const cur = sim.informative.curriculum / sim.groups.curriculum;
    const uni = sim.informative.uniform / sim.groups.uniform;
    process.stdout.write(
      `simulation (400 items, 12 steps, batch 48, n 8): informative groups curriculum ${(cur * 100).toFixed(1)}% (${sim.groups.curriculum} groups) ` +
        `vs uniform ${(uni * 100).toFixed(1)}% (${sim.groups.uniform}) = ${(cur / uni).toFixed(2)}×; expansion_ratio by step ${sim.expansionRatios.map((r) => r.toFixed(2)).join(' ')}\n` +
        `  imported history mismatches ${sim.historyMismatches}, lines reread ${sim.rereadLines}, max |z| of pooled rate vs true rate ${Math.max(...sim.zScores).toFixed(2)} over ${sim.zScores.length} samples\n`,
    );

    const ws2 = await createWorkspace('stratum-bench-rlcs-import-');
    try {
      const { samples, paths } = await buildDataset(ws2, 20_000);
      const conn = await connect();
      const config = rlcsSchema.parse({});
      for (const lines of [100_000, 1_000_000]) {
        const file = ws2.path(`dump-${lines}.jsonl`);
        await writeDump(file, samples, lines, 1, lines);
        const first = await measured(() => importLogs(conn, paths, [file], config, DEFAULT_TIER_THRESHOLDS));
        const mb = first.value.files[0]!.end_offset / 2 ** 20;
        process.stdout.write(
          `import ${lines.toLocaleString('en')} lines (${mb.toFixed(0)} MiB, ${first.value.totals.observations} groups): ${first.seconds.toFixed(1)} s, ` +
            `${Math.round(lines / first.seconds).toLocaleString('en')} lines/s, peak growth: RSS ${first.peakRssGrowthMb.toFixed(0)} MiB, JS heap ${first.peakHeapGrowthMb.toFixed(0)} MiB\n`,
        );
        await writeDump(file, samples, 10_000, 10_000, 7);
        const rerun = await measured(() => importLogs(conn, paths, [file], config, DEFAULT_TIER_THRESHOLDS));
        const f = rerun.value.files[0]!;
        process.stdout.write(`  rerun after appending 10,000 lines: read ${f.lines.toLocaleString('en')} lines, bytes ${f.start_offset.toLocaleString('en')}–${f.end_offset.toLocaleString('en')}, ${rerun.seconds.toFixed(2)} s\n`);
        if (lines === 1_000_000) {
          const py = spawnSync('python3', ['-c', 'import json,sys,time\nt=time.time()\nn=0\nfor line in open(sys.argv[1],"rb"):\n  o=json.loads(line); n+=1\nprint(n, time.time()-t)', file], { encoding: 'utf8' });
          if (py.status === 0) {
            const [n, secs] = py.stdout.trim().split(' ').map(Number);
            process.stdout.write(`  peer: Python json.loads loop (parse only, 1 core) ${Math.round(n! / secs!).toLocaleString('en')} lines/s; rlcs import (parse + match + aggregate + state) / peer = ${((lines / first.seconds) / (n! / secs!)).toFixed(2)}×\n`);
          }
        }
        await rm(file, { force: true });
      }
    } finally {
      await ws2.cleanup();
    }
  } finally {
    await ws.cleanup();
  }
}
