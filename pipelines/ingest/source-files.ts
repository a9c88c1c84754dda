import { AsyncLocalStorage } from 'node:async_hooks';
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { stableHash } from '../shared/hash.js';
import { UserError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { fileKind } from './read-input.js';

export class SourceConfigError extends UserError {
  override name = 'SourceConfigError';
}

/** A file a source names that cannot be read as input: it becomes one quarantine row of its own. */
export interface RejectedFile {
  file: string;
  reason: string;
  message: string;
  /** Changes when the entry changes (size, mtime, kind), so a fixed file is planned again. */
  fingerprint: string;
}

const rejections = new AsyncLocalStorage<RejectedFile[]>();

/**
 * Runs an adapter's planning and returns the files it rejected on the way (non-regular entries,
 * files that cannot be opened or parsed while planning), so the stage can account for each.
 */
export async function collectRejectedFiles<T>(plan: () => Promise<T>): Promise<{ result: T; rejected: RejectedFile[] }> {
  const rejected: RejectedFile[] = [];
  const result = await rejections.run(rejected, plan);
  return { result, rejected };
}

/**
 * Records that a file named by a source cannot be used, with the reason. Called while planning;
 * the ingest stage turns each into a quarantine row, so no input a source names goes unaccounted.
 */
export async function rejectFile(file: string, reason: string, message: string): Promise<void> {
  const store = rejections.getStore();
  if (!store) {
    // Outside a stage's planning (an auxiliary file list, e.g. a text corpus): the file is skipped, loudly.
    log.warn({ file, reason }, message);
    return;
  }
  const stats = await lstat(file).catch(() => null);
  store.push({ file, reason, message, fingerprint: stableHash([reason, stats?.size ?? null, stats?.mtimeMs ?? null, stats ? fileKind(stats) : null]) });
}

/**
 * The regular files of a source: `path` may be a file, a folder (searched for `folderPattern`) or
 * a glob, relative to the config file's folder. Sorted, so units are planned in a stable order.
 * Symbolic links to regular files are followed; linked folders inside the searched tree are not
 * descended. Entries that match but are not regular files (FIFOs, devices, sockets, broken links)
 * are rejected with `rejectFile`, never silently skipped and never opened.
 */
export async function sourceFiles(sourceName: string, path: string, baseDir: string, folderPattern: string | string[]): Promise<string[]> {
  const abs = resolve(baseDir, path);
  const named = await stat(abs).catch(() => null);
  if (named?.isFile()) return [abs];
  if (named && !named.isDirectory()) {
    await rejectFile(abs, 'not_a_file', `${abs} is ${fileKind(named)}, not a regular file; it was not read`);
    return [];
  }
  // The search runs below the fixed prefix, so a linked folder on the way to the data is followed.
  const { root, pattern } = named?.isDirectory() ? { root: abs, pattern: folderPattern } : splitGlob(abs);
  const matches = picomatch(pattern, { dot: false });
  const files: string[] = [];
  let rejected = 0;
  for (const { path: entry, dirent } of await walk(root)) {
    if (!matches(relative(root, entry).split(sep).join('/'))) continue;
    if (dirent.isFile()) {
      files.push(entry);
      continue;
    }
    const target: Stats | null = await stat(entry).catch(() => null);
    if (target?.isFile()) files.push(entry);
    else if (target?.isDirectory()) continue;
    else {
      rejected++;
      const what = target ? `${fileKind(target)}${dirent.isSymbolicLink() ? ' (through a symbolic link)' : ''}` : 'a broken symbolic link';
      await rejectFile(entry, target ? 'not_a_file' : 'broken_link', `${entry} is ${what}, not a regular file; it was not read`);
    }
  }
  if (files.length === 0 && rejected === 0) throw new SourceConfigError(`source ${sourceName}: nothing matches ${path} (relative to ${baseDir})`);
  return files.sort();
}

/** Every entry below `root` but folders, descending real folders only (never a linked one). */
async function walk(root: string): Promise<Array<{ path: string; dirent: Dirent }>> {
  const out: Array<{ path: string; dirent: Dirent }> = [];
  const pending = [root];
  while (pending.length) {
    const dir = pending.pop() as string;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root && (err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      if (dir === root) throw err;
      continue;
    }
    for (const dirent of entries) {
      const path = join(dir, dirent.name);
      if (dirent.isDirectory()) pending.push(path);
      else out.push({ path, dirent });
    }
  }
  return out;
}

/** Splits an absolute glob at its first wildcard segment: the fixed root folder, and the pattern below it. */
function splitGlob(absPattern: string): { root: string; pattern: string } {
  const parts = absPattern.split(sep);
  const firstGlob = parts.findIndex((p) => /[*?[\]{}()!]/.test(p));
  if (firstGlob < 0) return { root: dirname(absPattern), pattern: basename(absPattern) };
  return { root: parts.slice(0, firstGlob).join(sep) || sep, pattern: parts.slice(firstGlob).join('/') };
}

/** How a source file is named in samples and the ledger: relative to the config folder when inside it. */
export function sourceUri(file: string, baseDir: string): string {
  const rel = relative(baseDir, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}
