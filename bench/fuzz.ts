/**
 * Ingest under a larger seeded set of hostile inputs (every source type; truncated, empty, garbage,
 * wrong-extension, non-regular, nested, ragged, badly encoded): runs the CLI as a user does and
 * prints the inputs planted vs `in`, the counts by reason, the peak RSS of the ingest process and
 * the slowest work units. `FUZZ_SEED` (default 1) and `FUZZ_PER_KIND` (members of each class, default 10).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';
import { countByReason, ledgerMismatches, plantHostileInputs, type LedgerRowLite } from '../test/ingest/support/hostile-inputs.js';

const REPO = resolve(import.meta.dirname, '..');
const BUDGET_MS = 20 * 60_000;

export async function benchFuzz(): Promise<void> {
  const seed = Number(process.env.FUZZ_SEED ?? 1);
  const perKind = Number(process.env.FUZZ_PER_KIND ?? 10);
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-fuzz-'));
  try {
    const { planted, config } = await plantHostileInputs(dir, seed, perKind);
    await writeFile(join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(config, null, 2)};\n`);
    const plantedItems = planted.reduce((n, p) => n + p.items, 0);
    process.stdout.write(`seed ${seed}, ${perKind} per class: ${planted.length} files planted, naming ${plantedItems} input items (garbage CSV/COCO: at least)\n`);

    const started = performance.now();
    const run = await runWithPeakRss(['--import', 'tsx', join(REPO, 'pipelines/cli/main.ts'), 'run', 'ingest', '-c', join(dir, 'pipeline.config.ts')]);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`ingest: exit ${run.code}${run.signal ? ` (${run.signal})` : ''}${run.timedOut ? ' TIMED OUT' : ''} in ${seconds.toFixed(1)} s; peak RSS of the ingest process ${(run.maxRssKb / 1024).toFixed(0)} MiB\n`);
    if (run.code !== 0) process.stdout.write(`stderr tail:\n${run.stderr.slice(-3000)}\n`);

    const conn = await connect();
    await createShardViews(conn, join(dir, 'shards'), ['fuzz']);
    const rows = (await conn.runAndReadAll('SELECT source_uri AS uri, decision, reason FROM ledger')).getRowObjectsJson() as unknown as LedgerRowLite[];
    const problems = ledgerMismatches(planted, rows);
    process.stdout.write(`ledger: in ${rows.length}; planted ${plantedItems}; ${problems.length} mismatch(es)\n`);
    for (const p of problems.slice(0, 20)) process.stdout.write(`  ! ${p}\n`);
    process.stdout.write('by reason:\n');
    for (const [reason, n] of countByReason(rows)) process.stdout.write(`  ${String(n).padStart(6)}  ${reason}\n`);

    const manifest = JSON.parse(await readFile(join(dir, 'shards/fuzz/ingest/_manifest.json'), 'utf8')) as { units: Record<string, { durationMs?: number; counts: { in: number } }> };
    const slowest = Object.entries(manifest.units)
      .map(([id, u]) => ({ id, ms: u.durationMs ?? 0, n: u.counts.in }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5);
    process.stdout.write('slowest units (input file, items):\n');
    for (const s of slowest) process.stdout.write(`  ${String(s.ms).padStart(7)} ms  ${s.id} (${s.n})\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs node under GNU time for the peak resident set of the process (its pool workers are separate processes). */
function runWithPeakRss(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; maxRssKb: number; timedOut: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'STRATUM_MAXRSS_KB=%M', process.execPath, ...args], {
      cwd: REPO,
      env: { ...process.env, STRATUM_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-50_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, BUDGET_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const kb = Number(/STRATUM_MAXRSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
      resolvePromise({ code, signal, stderr: stderr.replace(/STRATUM_MAXRSS_KB=\d+\s*$/, ''), maxRssKb: kb, timedOut });
    });
  });
}
