import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { faultPoint } from '../../shared/runner/fault.js';

const BLOCK = 512;
const MAX_MEMBER_BYTES = 8 ** 11 - 1; // ustar's 11 octal digits
const END = Buffer.alloc(2 * BLOCK);

/** A member name WebDataset groups correctly: `<key>.<ext>`, the key without dots or slashes. */
const SAFE_NAME = /^[A-Za-z0-9_-]+\.[A-Za-z0-9.]+$/;

export interface TarMember {
  name: string;
  bytes: Uint8Array;
}

export interface ShardSampleIndex {
  key: string;
  sample_id: string;
  /** Offset of the sample's first member header in the tar. */
  offset: number;
  /** Bytes from that header to the end of its last member (padding included). */
  size: number;
  members: Array<{ name: string; offset: number; size: number }>;
}

export interface WrittenShard {
  /** File name of the tar, relative to the writer's folder. */
  file: string;
  index: string;
  samples: number;
  bytes: number;
}

/** One POSIX ustar header: deterministic (mtime 0, uid/gid 0, mode 0644), so equal input gives equal tars. */
export function ustarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100 || !SAFE_NAME.test(name)) throw new Error(`unsafe tar member name: ${JSON.stringify(name)}`);
  if (size > MAX_MEMBER_BYTES) throw new Error(`tar member ${name} is ${size} bytes, over ustar's limit`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 'ascii');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Bytes a sample adds to a tar. */
export function tarSampleBytes(members: TarMember[]): number {
  return members.reduce((n, m) => n + BLOCK + padded(m.bytes.length), 0);
}

/**
 * Writes samples into a sequence of tar shards `<stem>-NNNNN.tar` in one folder, in the order they
 * come, closing a shard before it would pass `shardBytes`. Each shard is written under a temp name and
 * renamed when complete (with its index `<stem>-NNNNN.index.json`), so a reader never sees half a
 * shard. One sample is in memory at a time.
 */
export class TarShardWriter {
  readonly written: WrittenShard[] = [];
  private handle: FileHandle | null = null;
  private tmp = '';
  private offset = 0;
  private index: ShardSampleIndex[] = [];

  constructor(
    private readonly dir: string,
    private readonly stem: string,
    private readonly shardBytes: number,
  ) {}

  async add(key: string, sampleId: string, members: TarMember[]): Promise<{ file: string; offset: number }> {
    const size = tarSampleBytes(members);
    if (this.handle && this.index.length > 0 && this.offset + size + END.length > this.shardBytes) await this.closeShard();
    if (!this.handle) await this.openShard();
    const handle = this.handle as FileHandle;
    const start = this.offset;
    const entries: ShardSampleIndex['members'] = [];
    for (const member of members) {
      entries.push({ name: member.name, offset: this.offset, size: member.bytes.length });
      const header = ustarHeader(member.name, member.bytes.length);
      const pad = padded(member.bytes.length) - member.bytes.length;
      await handle.writev(pad ? [header, member.bytes, Buffer.alloc(pad)] : [header, member.bytes]);
      this.offset += BLOCK + member.bytes.length + pad;
    }
    this.index.push({ key, sample_id: sampleId, offset: start, size: this.offset - start, members: entries });
    return { file: this.currentName(), offset: start };
  }

  async close(): Promise<WrittenShard[]> {
    if (this.handle) await this.closeShard();
    return this.written;
  }

  /** Removes a shard being written (after a failure). */
  async abort(): Promise<void> {
    if (!this.handle) return;
    await this.handle.close();
    this.handle = null;
    await rm(this.tmp, { force: true });
  }

  private currentName(): string {
    return `${this.stem}-${String(this.written.length).padStart(5, '0')}.tar`;
  }

  private async openShard(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.tmp = join(this.dir, `.${this.currentName()}.tmp`);
    this.handle = await open(this.tmp, 'w');
    this.offset = 0;
    this.index = [];
  }

  private async closeShard(): Promise<void> {
    const handle = this.handle as FileHandle;
    await handle.write(END);
    this.offset += END.length;
    await handle.sync();
    await handle.close();
    this.handle = null;
    const file = this.currentName();
    const index = file.replace(/\.tar$/, '.index.json');
    const indexTmp = join(this.dir, `.${index}.tmp`);
    await writeFile(indexTmp, JSON.stringify({ shard: file, bytes: this.offset, samples: this.index }));
    await rename(indexTmp, join(this.dir, index));
    await rename(this.tmp, join(this.dir, file));
    faultPoint('export-shard-renamed');
    this.written.push({ file, index, samples: this.index.length, bytes: this.offset });
  }
}
