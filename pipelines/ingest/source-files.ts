import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { glob } from 'tinyglobby';
import { UserError } from '../shared/errors.js';

export class SourceConfigError extends UserError {
  override name = 'SourceConfigError';
}

/**
 * The files of a source: `path` may be a file, a folder (searched for `folderPattern`) or a glob,
 * relative to the config file's folder. Sorted, so units are planned in a stable order.
 */
export async function sourceFiles(sourceName: string, path: string, baseDir: string, folderPattern: string | string[]): Promise<string[]> {
  const abs = resolve(baseDir, path);
  if (existsSync(abs) && statSync(abs).isFile()) return [abs];
  const isDir = existsSync(abs) && statSync(abs).isDirectory();
  // The glob runs below its fixed prefix, so a linked folder on the way to the data is followed,
  // while links inside the searched tree are not.
  const { root, pattern } = isDir ? { root: abs, pattern: folderPattern } : splitGlob(abs);
  const files = existsSync(root) ? await glob(pattern, { cwd: root, absolute: true, onlyFiles: true, followSymbolicLinks: false }) : [];
  if (files.length === 0) throw new SourceConfigError(`source ${sourceName}: nothing matches ${path} (relative to ${baseDir})`);
  return files.sort();
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
