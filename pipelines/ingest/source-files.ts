import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
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
  const files = await glob(isDir ? folderPattern : relative(baseDir, abs), {
    cwd: isDir ? abs : baseDir,
    absolute: true,
    onlyFiles: true,
    followSymbolicLinks: false,
  });
  if (files.length === 0) throw new SourceConfigError(`source ${sourceName}: nothing matches ${path} (relative to ${baseDir})`);
  return files.sort();
}

/** How a source file is named in samples and the ledger: relative to the config folder when inside it. */
export function sourceUri(file: string, baseDir: string): string {
  const rel = relative(baseDir, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}
