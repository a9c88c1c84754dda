/**
 * Part 4 of `pnpm bench filter`: the reduce on one giant near-duplicate text cluster of k members
 * (each its base signature with 5% of the MinHash values replaced) beside 1,000 distinct texts, for
 * growing k: verified edges, CPU seconds (user + system of this process, DuckDB's threads included)
 * and peak RSS. All pairs of a cluster grow as k²; the representative join keeps them linear.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filterSchema } from '../pipelines/filter/config.js';
import { reduceFilter } from '../pipelines/filter/reduce.js';
import { mulberry32 } from '../pipelines/shared/random.js';
import { SignatureMaker, writeTextUnit, type TextRow } from '../test/filter/_clustered.js';

export async function clusterBench(sizes: number[], reduceMemory: string): Promise<void> {
  for (const k of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-clusters-'));
    try {
      const mk = new SignatureMaker(mulberry32(k));
      const base = mk.random();
      const rows: TextRow[] = [];
      for (let i = 0; i < k; i++) rows.push({ sample_id: `g${String(i).padStart(8, '0')}`, sig: mk.noisy(base, 0.05), group: 'giant' });
      for (let i = 0; i < 1000; i++) rows.push({ sample_id: `d${String(i).padStart(8, '0')}`, sig: mk.random(), group: 'distinct' });
      const files = await writeTextUnit(dir, 'u0', rows);
      const outDir = join(dir, 'out');
      await mkdir(outDir);
      const cpu = process.cpuUsage();
      const started = performance.now();
      const result = await reduceFilter(filterSchema.parse({ reduceMemory }), { rank: 0, files }, [], {
        units: new Map([['u0', { files, outputHash: 'x' }]]),
        changed: new Set(['u0']),
        previous: null,
        outDir,
      });
      const used = process.cpuUsage(cpu);
      const s = result.summary as { textEdges: number; decisions: Record<string, number>; text: { verifications: number; keeperRounds: number } };
      process.stdout.write(
        `   cluster of ${k.toLocaleString('en')} + 1,000 distinct: ${s.textEdges.toLocaleString('en')} edges (${s.text.verifications.toLocaleString('en')} pairs verified, ${s.text.keeperRounds} keeper rounds), ` +
          `${((used.user + used.system) / 1e6).toFixed(2)} s CPU, ${((performance.now() - started) / 1000).toFixed(1)} s wall, peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (reduceMemory ${reduceMemory}); ` +
          `decisions ${JSON.stringify(s.decisions)}\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
