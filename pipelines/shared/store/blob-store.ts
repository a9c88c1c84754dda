import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Hex } from '../hash.js';

/** Content-addressed media store: `blobs/ab/cdef…` keyed by sha256, so the same bytes are stored once. */
export class BlobStore {
  constructor(readonly root: string) {}

  pathOf(id: string): string {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`not a sha256 blob id: ${id}`);
    return join(this.root, id.slice(0, 2), id.slice(2));
  }

  async put(bytes: Uint8Array): Promise<string> {
    const id = sha256Hex(bytes);
    const path = this.pathOf(id);
    if (existsSync(path)) return id;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}-${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return id;
  }

  /**
   * Streams a file into the store (for media too large to hold in memory, e.g. videos), hashing as
   * it copies. Reads at most `maxBytes` (the size seen when the file was listed, so a file that is
   * still growing cannot make this endless); returns the id and the bytes stored.
   */
  async putFile(path: string, maxBytes = Number.POSITIVE_INFINITY): Promise<{ id: string; bytes: number }> {
    await mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.incoming-${process.pid}-${randomUUID()}.tmp`);
    const hash = createHash('sha256');
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(createReadStream(path, maxBytes === Number.POSITIVE_INFINITY ? {} : { end: maxBytes - 1 }), tap, createWriteStream(tmp));
      const id = hash.digest('hex');
      const target = this.pathOf(id);
      if (existsSync(target)) await rm(tmp, { force: true });
      else {
        await mkdir(dirname(target), { recursive: true });
        await rename(tmp, target);
      }
      return { id, bytes };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Removes temp files (`*.tmp`) left by writers that were killed: those whose writing process is
   * gone, and unnamed ones older than an hour. Files of live writers (another run) are left alone.
   * Returns how many were removed.
   */
  async removeStaleTemps(): Promise<number> {
    let removed = 0;
    const dirs = [this.root, ...(await readdir(this.root).catch(() => [] as string[])).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => join(this.root, d))];
    for (const dir of dirs) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.tmp')) continue;
        const file = join(dir, name);
        const pid = Number(/[.-](\d+)-[0-9a-f-]{36}\.tmp$/.exec(name)?.[1]);
        const stale = Number.isInteger(pid) && pid > 0 ? !processAlive(pid) : Date.now() - ((await stat(file).catch(() => null))?.mtimeMs ?? Date.now()) > 3_600_000;
        if (stale) {
          await rm(file, { force: true });
          removed++;
        }
      }
    }
    return removed;
  }

  async get(id: string): Promise<Buffer> {
    return readFile(this.pathOf(id));
  }

  has(id: string): boolean {
    return existsSync(this.pathOf(id));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
