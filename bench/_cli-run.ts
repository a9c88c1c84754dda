/** What the CLI-driven benches (ops, filter's append part) share: a timed CLI process and their templated corpus. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..');
const MAIN = join(REPO, 'pipelines', 'cli', 'main.ts');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

export interface Timed {
  wall: number;
  /** user + system CPU seconds of the process (DuckDB's threads included); null without /usr/bin/time. */
  cpu: number | null;
  stdout: string;
}

/** One CLI invocation in its own process, as cron would start it, timed from spawn to exit. */
export function timedCli(args: string[], configDir: string): Promise<Timed> {
  if (args[0] !== '--help') args = [...args, '--config', join(configDir, 'pipeline.config.ts')];
  const argv = [process.execPath, '--import', 'tsx', MAIN, ...args];
  const env = { ...process.env, STRATUM_LOG_LEVEL: 'warn' };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = TIME ? spawn(TIME, ['-f', '@@time %U %S', ...argv], { cwd: REPO, env }) : spawn(argv[0]!, argv.slice(1), { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`pipeline ${args.join(' ')} exited ${code}:\n${stderr.slice(-4000)}`));
      const m = /@@time ([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({ wall, cpu: m ? Number(m[1]) + Number(m[2]) : null, stdout });
    });
  });
}

/** Templated word problems: the template and a few numbers vary, so most rows are near duplicates of many others. */
export function templatedQaRows(file: number, n: number, tag: string): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const question = `Problem ${tag}${file}.${i}: a train leaves at ${i % 24}:00 and travels ${(i * 7) % 300} km at ${(file % 9) + 40} km/h. How long does the journey take, in minutes, if it stops ${i % 5} times for ${file % 7} minutes?`;
    out += JSON.stringify({ id: `${tag}${file}-${i}`, question, answer: String(i) }) + '\n';
  }
  return out;
}
