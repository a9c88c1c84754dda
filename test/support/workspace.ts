import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import sharp from 'sharp';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { type LoadedConfig } from '../../pipelines/shared/config/load.js';
import { validateConfig } from '../../pipelines/shared/config/validate.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../../pipelines/shared/store/views.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export interface Workspace {
  dir: string;
  path(...parts: string[]): string;
  write(rel: string, content: string | Uint8Array): Promise<string>;
  /** Writes `pipeline.config.ts` there and returns the validated config. */
  config(config: PipelineConfigInput): Promise<LoadedConfig>;
  cleanup(): Promise<void>;
}

export async function createWorkspace(prefix = 'stratum-test-'): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const ws: Workspace = {
    dir,
    path: (...parts) => join(dir, ...parts),
    async write(rel, content) {
      const file = join(dir, rel);
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, content);
      return file;
    },
    async config(config) {
      const file = await ws.write('pipeline.config.ts', `export default ${JSON.stringify(config, null, 2)};\n`);
      return validateConfig(config, file);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return ws;
}

/** A small real PNG whose pixels depend on `seed`, so each seed gives different bytes. */
export async function makePng(seed: number, width = 64, height = 48): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < pixels.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    pixels[i] = (x >>> 16) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function makeTruncatedJpeg(): Promise<Buffer> {
  const jpeg = await sharp(await makePng(7, 256, 256)).jpeg({ quality: 90 }).toBuffer();
  return jpeg.subarray(0, Math.floor(jpeg.length / 2));
}

/** Runs the CLI in a child process, as a user would (`pnpm pipeline ...` runs this same entry). */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'pipelines', 'cli', 'main.ts'), ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, STRATUM_LOG_LEVEL: 'warn', VITEST: '', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Rows of a query over the shards of a config's datasets, as JSON-friendly objects. */
export async function queryShards(loaded: LoadedConfig, sql: string): Promise<Record<string, unknown>[]> {
  const conn = await connect();
  await createShardViews(conn, loaded.shardsDir, Object.keys(loaded.config.datasets));
  const result = await conn.runAndReadAll(sql);
  return result.getRowObjectsJson() as Record<string, unknown>[];
}
