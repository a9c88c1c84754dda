import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from '../../shared/log.js';
import { ProcessPool } from '../../shared/pool/process-pool.js';
import { currentIngestResources } from '../resources.js';
import type { ImageTask, ImageTaskResult } from './load-image.js';

export type ImagePool = ProcessPool<ImageTask, ImageTaskResult>;

let pool: ImagePool | null | undefined;

const KEY = 'image-pool';

/**
 * The image decode pool: inside an ingest unit, the one its worker holds (started on first use,
 * closed at the worker's teardown, pipelines/ingest/resources.ts); elsewhere a process-wide one
 * killed at process exit. Null when decoding should stay in-process. `STRATUM_IMAGE_WORKERS`:
 * worker count (default: cores), `0` turns the pool off. Pool workers never get a pool of their own.
 */
export function getImagePool(): ImagePool | null {
  const worker = currentIngestResources();
  if (worker) return worker.get<ImagePool | null>(KEY, newImagePool, (p) => p?.close());
  if (pool !== undefined) return pool;
  const created = newImagePool();
  if (created) process.once('exit', () => created.destroy());
  return (pool = created);
}

function newImagePool(): ImagePool | null {
  const size = imageWorkerCount();
  if (size === 0 || process.env.STRATUM_POOL_WORKER) return null;
  return createImagePool(size);
}

/** A new image pool (most callers want the shared one from getImagePool). */
export function createImagePool(size: number, tasksPerWorker = 4): ImagePool {
  return new ProcessPool<ImageTask, ImageTaskResult>({
    name: 'image',
    // The worker module sits beside this one, as .ts under tsx/vitest and .js when compiled.
    workerModule: fileURLToPath(new URL(`./image-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)),
    size,
    // Several tasks per worker hide file reads and IPC latency: on 16 cores, 16 workers reached
    // 1010 img/s with 1 task each, 1180 with 2 and 1320 with 4 (see docs/ingest-caption.md).
    tasksPerWorker,
    taskTimeoutMs: 120_000,
  });
}

export function imageWorkerCount(): number {
  const raw = process.env.STRATUM_IMAGE_WORKERS;
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`STRATUM_IMAGE_WORKERS must be a whole number ≥ 0, got ${raw}`);
  return n;
}

/** Lets running tasks finish and the workers exit; a later getImagePool() starts a new pool. */
export async function closeImagePool(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.close();
}

/** After a pool failure that is not the input's fault, decode in-process for the rest of this run. */
export function disableImagePool(reason: Error): void {
  const worker = currentIngestResources();
  if (worker) {
    const current = worker.get<ImagePool | null>(KEY, () => null, () => undefined);
    if (!current) return;
    log.warn({ err: reason.message }, 'image process pool unavailable; decoding images in-process');
    current.destroy();
    void worker.replace<ImagePool | null>(KEY, null, () => undefined);
    return;
  }
  if (!pool) return;
  log.warn({ err: reason.message }, 'image process pool unavailable; decoding images in-process');
  pool.destroy();
  pool = null;
}
