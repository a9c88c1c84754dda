import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What identifies a file's state without reading it: what `git status` compares before hashing. */
interface Stamp {
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  dev: string;
}

interface Entry extends Stamp {
  /** When the values were computed (ms since epoch): a file modified within the same clock tick is not trusted. */
  recordedAt: number;
  values: Record<string, unknown>;
}

/**
 * A file changed this close to (or after) the moment its values were recorded could have changed
 * again within the same mtime tick, with the same size: such an entry is recomputed ("racily clean",
 * as git calls it). Filesystems with a coarse clock (FAT: 2 s) are covered.
 */
const RACY_WINDOW_MS = 2000;

export interface FileMemoOptions {
  /** How close to its last change a file's entry is not trusted (default 2000 ms; 0 turns the check off, for tests). */
  racyWindowMs?: number;
}

/**
 * Values derived from whole input files (content hash, record count, page count), remembered per
 * file with its size, mtime, ctime, inode and device: on a re-run an unchanged file is recognised
 * from one `stat` instead of being read again. Any change to any of the five recomputes the values;
 * so does an entry recorded within 2 s of the file's last change. Persisted as one JSON file per
 * dataset, replaced atomically by `save`.
 */
export class FileMemo {
  private dirty = false;
  hits = 0;
  misses = 0;

  private constructor(
    private readonly path: string | null,
    private readonly entries: Map<string, Entry>,
    private readonly racyWindowNs: bigint,
  ) {}

  /** A memo persisted at `path` (read now, written by `save`); a missing or unreadable file starts empty. */
  static async open(path: string, options: FileMemoOptions = {}): Promise<FileMemo> {
    const entries = new Map<string, Entry>();
    if (existsSync(path)) {
      try {
        const parsed = JSON.parse(await readFile(path, 'utf8')) as { version: number; files: Record<string, Entry> };
        if (parsed.version === 1) for (const [file, entry] of Object.entries(parsed.files)) entries.set(file, entry);
      } catch {
        // A torn or foreign file only costs one re-read of every input.
      }
    }
    return new FileMemo(path, entries, windowNs(options));
  }

  /** A memo that remembers nothing across runs. */
  static inMemory(options: FileMemoOptions = {}): FileMemo {
    return new FileMemo(null, new Map(), windowNs(options));
  }

  /** The value `kind` of `file`: remembered when the file is unchanged since it was computed, else `compute()`. */
  async get<T>(file: string, kind: string, compute: () => Promise<T>): Promise<T> {
    const before = await stampOf(file);
    const entry = this.entries.get(file);
    if (entry && sameStamp(entry, before) && kind in entry.values && !isRacy(entry, before, this.racyWindowNs)) {
      this.hits++;
      return entry.values[kind] as T;
    }
    this.misses++;
    const recordedAt = Date.now();
    const value = await compute();
    const after = await stampOf(file);
    // Changed while being read: use the value this once, remember nothing.
    if (!sameStamp(after, before)) return value;
    const values = entry && sameStamp(entry, before) ? entry.values : {};
    values[kind] = value;
    this.entries.set(file, { ...before, recordedAt, values });
    this.dirty = true;
    return value;
  }

  async save(): Promise<void> {
    if (!this.path || !this.dirty) return;
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: 1, files: Object.fromEntries(this.entries) }));
    await rename(tmp, this.path);
    this.dirty = false;
  }
}

async function stampOf(file: string): Promise<Stamp> {
  const s = await stat(file, { bigint: true });
  return { size: String(s.size), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), ino: String(s.ino), dev: String(s.dev) };
}

function sameStamp(a: Stamp, b: Stamp): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

function windowNs(options: FileMemoOptions): bigint {
  return BigInt(Math.round((options.racyWindowMs ?? RACY_WINDOW_MS) * 1e6));
}

function isRacy(entry: Entry, stamp: Stamp, racyWindowNs: bigint): boolean {
  if (racyWindowNs === 0n) return false;
  const recordedNs = BigInt(entry.recordedAt) * 1_000_000n;
  const changedNs = BigInt(stamp.mtimeNs) > BigInt(stamp.ctimeNs) ? BigInt(stamp.mtimeNs) : BigInt(stamp.ctimeNs);
  return changedNs + racyWindowNs > recordedNs;
}
