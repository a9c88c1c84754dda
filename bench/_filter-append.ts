/**
 * Part 5 of `pnpm bench filter`: what a nightly 1% append costs the filter stage against a full
 * run, through the CLI as cron would start it. Templated QA rows (most of them near duplicates of
 * one another, as in the ops bench) in 10 JSONL files: `run ingest` + `run filter` once, then one
 * more file with 1% new rows and the same two commands. Prints the filter process's CPU (user +
 * system from /usr/bin/time, DuckDB's threads included) for both, their ratio, and the reduce's
 * CPU per step from its artifact record.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..');
const MAIN = join(REPO, 'pipelines', 'cli', 'main.ts');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Timed {
  wall: number;
  cpu: number | null;
}

function cli(args: string[], dir: string): Promise<Timed> {
  const argv = [process.execPath, '--import', 'tsx', MAIN, ...args, '--config', join(dir, 'pipeline.config.ts')];
  const env = { ...process.env, STRATUM_LOG_LEVEL: 'warn' };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = TIME ? spawn(TIME, ['-f', '@@time %U %S', ...argv], { cwd: REPO, env }) : spawn(argv[0]!, argv.slice(1), { cwd: REPO, env });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pipeline ${args.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      const m = /@@time ([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({ wall: (performance.now() - started) / 1000, cpu: m ? Number(m[1]) + Number(m[2]) : null });
    });
  });
}

/** Templated word problems: the template and a few numbers vary, so most rows are near duplicates of many others. */
function rows(file: number, n: number, tag: string): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const question = `Problem ${tag}${file}.${i}: a train leaves at ${i % 24}:00 and travels ${(i * 7) % 300} km at ${(file % 9) + 40} km/h. How long does the journey take, in minutes, if it stops ${i % 5} times for ${file % 7} minutes?`;
    out += JSON.stringify({ id: `${tag}${file}-${i}`, question, answer: String(i) }) + '\n';
  }
  return out;
}

export async function appendBench(total: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-append-'));
  try {
    const files = 10;
    const perFile = Math.ceil(total / files);
    await mkdir(join(dir, 'qa'), { recursive: true });
    for (let f = 0; f < files; f++) await writeFile(join(dir, 'qa', `part-${String(f).padStart(3, '0')}.jsonl`), rows(f, perFile, 'p'));
    const config = { shardsDir: 'shards', datasets: { bench: { sources: [{ name: 'qa', type: 'qa', path: 'qa/*.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer' } }], ingest: { unitRows: Math.ceil(perFile / 2) } } } };
    await writeFile(join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(config)};\n`);
    const reduceRecord = async () => JSON.parse(await readFile(join(dir, 'shards', 'bench', 'filter', '_reduce', 'current.json'), 'utf8')).summary as Record<string, unknown>;
    await cli(['run', 'ingest'], dir);
    const full = await cli(['run', 'filter'], dir);
    const fullReduce = await reduceRecord();
    // Files changed within 2 s of a plan are re-read once (racily clean): let the new one settle.
    await writeFile(join(dir, 'qa', 'part-new.jsonl'), rows(999, Math.ceil(total / 100), 'n'));
    await new Promise((r) => setTimeout(r, 2500));
    await cli(['run', 'ingest'], dir);
    const append = await cli(['run', 'filter'], dir);
    const appendReduce = await reduceRecord();
    const line = (label: string, t: Timed, r: Record<string, unknown>) =>
      process.stdout.write(`   ${label}: filter ${t.cpu?.toFixed(2) ?? '?'} s CPU, ${t.wall.toFixed(1)} s wall; reduce incremental=${r.incremental}, decisions ${JSON.stringify(r.decisions)}, reduce CPU per step ${JSON.stringify(r.cpuSeconds)}\n`);
    process.stdout.write(`   ${files * perFile} templated QA rows in ${files} files, then ${Math.ceil(total / 100)} more (1%)\n`);
    line('full run', full, fullReduce);
    line('1% append', append, appendReduce);
    if (full.cpu && append.cpu !== null) process.stdout.write(`   1% append / full run, filter stage CPU: ${((append.cpu / full.cpu) * 100).toFixed(1)}%\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
