import { AsyncLocalStorage } from 'node:async_hooks';

/** One resource a worker holds: a pool, a session, a browser, created on first use. */
interface Held {
  value: unknown;
  release: () => Promise<void> | void;
}

/**
 * What one ingest worker holds across its units: the image decode pool, tesseract and HTML pools,
 * PP-OCR sessions. The ingest stage creates one per executor worker (`setup`), runs every unit inside
 * it (`run`), and releases all of it in `teardown`, so two runs in one process never share a pool and
 * a finished run leaves no worker processes behind. Adapters reach it with `currentIngestResources()`
 * wherever they are in the call stack (it travels with the unit's async context), so they keep their
 * signatures; code outside a run (benches, tests calling a helper directly) gets undefined and falls
 * back to the helper's own process-wide instance.
 */
export class IngestResources {
  private readonly held = new Map<string, Held>();
  private closed = false;

  /** The resource under `key`, created by `create` on first use and released by `release` at teardown. */
  get<T>(key: string, create: () => T, release: (value: T) => Promise<void> | void): T {
    if (this.closed) throw new Error(`ingest worker resources are released; ${key} cannot be created after teardown`);
    const held = this.held.get(key);
    if (held) return held.value as T;
    const value = create();
    this.held.set(key, { value, release: () => release(value) });
    return value;
  }

  /** Replaces what `key` holds (e.g. a pool that failed, switched off for the rest of the run), releasing the old one. */
  async replace<T>(key: string, value: T, release: (value: T) => Promise<void> | void): Promise<void> {
    const old = this.held.get(key);
    this.held.set(key, { value, release: () => release(value) });
    await old?.release();
  }

  /** Keys of what is held now (tests and diagnostics). */
  keys(): string[] {
    return [...this.held.keys()];
  }

  /** Runs `fn` with this worker's resources as the current ones. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return scope.run(this, fn);
  }

  /** Releases everything; later `get` calls throw. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.held.values()];
    this.held.clear();
    const results = await Promise.allSettled(all.map((h) => h.release()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

const scope = new AsyncLocalStorage<IngestResources>();

/** The resources of the ingest worker running the current unit, if any. */
export function currentIngestResources(): IngestResources | undefined {
  return scope.getStore();
}
