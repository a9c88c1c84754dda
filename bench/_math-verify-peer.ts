/**
 * Runs Math-Verify (Python, built from fetched source by bench/peers/setup-math-verify.sh) on suite
 * cases in a child process, for the accuracy and CPU-time comparison in `pnpm bench verify`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { SuiteCase } from './_verify-suites.js';

export interface PeerRun {
  got: Map<string, boolean | null>;
  cpuSeconds: number;
  n: number;
}

/** PYTHONPATH holding math_verify and latex2sympy2_extended, or null when the peer is absent. */
export function mathVerifyPath(): string | null {
  if (process.env.STRATUM_BENCH_NO_PEER === '1') return null;
  const env = process.env.STRATUM_MATH_VERIFY_PYTHONPATH;
  if (env) return env;
  const root = join(homedir(), '.cache', 'stratum', 'math-verify');
  const paths = [join(root, 'mv', 'src'), join(root, 'l2s', 'src')];
  return paths.every((p) => existsSync(p)) ? paths.join(delimiter) : null;
}

export function runMathVerify(cases: SuiteCase[], pythonPath: string): PeerRun | string {
  const script = join(import.meta.dirname, 'peers', 'math_verify_peer.py');
  const r = spawnSync(process.env.PYTHON ?? 'python3', [script], {
    input: cases.map((c) => JSON.stringify(c)).join('\n'),
    env: { ...process.env, PYTHONPATH: pythonPath },
    maxBuffer: 64 << 20,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) return `Math-Verify peer failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').slice(-300)}`;
  const got = new Map<string, boolean | null>();
  let cpuSeconds = Number.NaN;
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { id?: string; got?: boolean | null; summary?: { n: number; cpu_s: number } };
    if (o.summary) {
      cpuSeconds = o.summary.cpu_s;
      n = o.summary.n;
    } else if (o.id) got.set(o.id, o.got ?? null);
  }
  return { got, cpuSeconds, n };
}
