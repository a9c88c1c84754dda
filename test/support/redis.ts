import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { REPO_ROOT } from './workspace.js';

/** Whether a real `redis-server` binary is installed (scripts/setup.sh installs it); tests skip without one. */
export const REDIS_BINARY = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
export const NO_REDIS_MESSAGE = 'redis-server is not installed (apt-get install redis-server, or scripts/setup.sh): distributed tests skipped';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops and starts the server on the same port and data folder (append-only file on, so jobs survive). */
  restart(downMs?: number): Promise<void>;
}

/** A private redis-server on 127.0.0.1 at a free port, with persistence in a temp folder. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'stratum-redis-'));
  let child: ChildProcess | null = null;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    for (let i = 0; i < 300; i++) {
      const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') {
          client.disconnect();
          return;
        }
      } catch {
        // not up yet
      }
      client.disconnect();
      await sleep(100);
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const halt = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
    async restart(downMs = 1000) {
      await halt();
      await sleep(downMs);
      await launch();
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once the worker printed that it serves its queues. */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** `pipeline worker` in its own process, as on another machine. */
export function startWorker(url: string, args: string[] = [], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'pipelines', 'cli', 'main.ts'), 'worker', '--queue', url, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, STRATUM_LOG_LEVEL: 'warn', VITEST: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const onData = (d: Buffer): void => {
    out += d.toString();
    if (out.includes(' serving ')) markReady();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`worker exited before serving:\n${out}`)))]),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
