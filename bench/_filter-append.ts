/**
 * Part 5 of `pnpm bench filter`: what a nightly 1% append costs the filter stage against a full
 * run, through the CLI as cron would start it. Templated QA rows (most of them near duplicates of
 * one another, as in the ops bench) in 10 JSONL files: `run ingest` + `run filter` once, then one
 * more file with 1% new rows and the same two commands. Prints the filter process's CPU (user +
 * system from /usr/bin/time, DuckDB's threads included) for both, their ratio, and the reduce's
 * CPU per step from its artifact record.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { templatedQaRows, timedCli, type Timed } from './_cli-run.js';

export async function appendBench(total: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-append-'));
  try {
    const files = 10;
    const perFile = Math.ceil(total / files);
    await mkdir(join(dir, 'qa'), { recursive: true });
    for (let f = 0; f < files; f++) await writeFile(join(dir, 'qa', `part-${String(f).padStart(3, '0')}.jsonl`), templatedQaRows(f, perFile, 'p'));
    const config = { shardsDir: 'shards', datasets: { bench: { sources: [{ name: 'qa', type: 'qa', path: 'qa/*.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } }], ingest: { unitRows: Math.ceil(perFile / 2) } } } };
    await writeFile(join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(config)};\n`);
    const reduceRecord = async () => JSON.parse(await readFile(join(dir, 'shards', 'bench', 'filter', '_reduce', 'current.json'), 'utf8')).summary as Record<string, unknown>;
    await timedCli(['run', 'ingest'], dir);
    const full = await timedCli(['run', 'filter'], dir);
    const fullReduce = await reduceRecord();
    // Files changed within 2 s of a plan are re-read once (racily clean): let the new one settle.
    await writeFile(join(dir, 'qa', 'part-new.jsonl'), templatedQaRows(999, Math.ceil(total / 100), 'n'));
    await new Promise((r) => setTimeout(r, 2500));
    await timedCli(['run', 'ingest'], dir);
    const append = await timedCli(['run', 'filter'], dir);
    const appendReduce = await reduceRecord();
    const line = (label: string, t: Timed, r: Record<string, unknown>) =>
      process.stdout.write(`   ${label}: filter ${t.cpu?.toFixed(2) ?? '?'} s CPU, ${t.wall.toFixed(1)} s wall; reduce incremental=${r.incremental}, decisions ${JSON.stringify(r.decisions)}, cluster keepers ${JSON.stringify(r.clusterKeepers)}, reduce CPU per step ${JSON.stringify(r.cpuSeconds)}\n`);
    process.stdout.write(`   ${files * perFile} templated QA rows in ${files} files, then ${Math.ceil(total / 100)} more (1%)\n`);
    line('full run', full, fullReduce);
    line('1% append', append, appendReduce);
    if (full.cpu && append.cpu !== null) process.stdout.write(`   1% append / full run, filter stage CPU: ${((append.cpu / full.cpu) * 100).toFixed(1)}%\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
