import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface ProcessLimits {
  /** Wall-clock limit; past it the process group is killed. */
  timeoutMs: number;
  /** stdout bytes allowed; past it the process group is killed. */
  maxStdoutBytes: number;
}

export interface ProcessResult {
  code: number | null;
  /** Why we killed it, if we did. */
  killed: 'timeout' | 'output_limit' | null;
  stdoutBytes: number;
  wallMs: number;
}

export interface ProcessHandlers {
  onStdout?(chunk: Buffer): void;
  onStderrLine?(line: string): void;
}

/**
 * Runs a tool with bounded time and output. The child leads its own process group, so a kill
 * reaches anything it started too; groups still running when this process exits are killed with
 * it. A stop request (Ctrl-C) lets running processes finish, as the runner commits units in flight.
 * stdin is closed; stderr arrives line by line.
 */
export async function runBounded(command: string, args: string[], limits: ProcessLimits, handlers: ProcessHandlers = {}): Promise<ProcessResult> {
  const release = await processSlots.acquire();
  try {
    return await run(command, args, limits, handlers);
  } finally {
    release();
  }
}

function run(command: string, args: string[], limits: ProcessLimits, handlers: ProcessHandlers): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const group = child.pid;
    if (group !== undefined) liveGroups.add(group);
    let killed: ProcessResult['killed'] = null;
    let stdoutBytes = 0;
    const kill = (why: NonNullable<ProcessResult['killed']>): void => {
      if (killed) return;
      killed = why;
      if (group === undefined || !killGroup(group)) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), limits.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      if (killed) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.maxStdoutBytes) return kill('output_limit');
      handlers.onStdout?.(chunk);
    });
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      pending += text;
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) handlers.onStderrLine?.(line);
      if (pending.length > 64 * 1024) pending = pending.slice(-4096); // a line that never ends
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      if (group !== undefined) liveGroups.delete(group);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (group !== undefined) liveGroups.delete(group);
      if (pending) handlers.onStderrLine?.(pending);
      resolve({ code, killed, stdoutBytes, wallMs: Date.now() - started });
    });
  });
}

const liveGroups = new Set<number>();
process.on('exit', () => liveGroups.forEach(killGroup));

function killGroup(group: number): boolean {
  try {
    process.kill(-group, 'SIGKILL');
    return true;
  } catch {
    return false; // gone already, or the group never formed
  }
}

/** At most one ffmpeg/ffprobe per core in this process, however many units run at once. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

export const processSlots = new Slots(Math.max(1, Number(process.env.STRATUM_FFMPEG_PROCESSES) || availableParallelism()));
