import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
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
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return id;
  }

  async get(id: string): Promise<Buffer> {
    return readFile(this.pathOf(id));
  }

  has(id: string): boolean {
    return existsSync(this.pathOf(id));
  }
}
