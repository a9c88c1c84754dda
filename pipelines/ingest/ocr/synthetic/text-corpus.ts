import { readFile, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { stableHash } from '../../../shared/hash.js';
import { SourceConfigError, sourceFiles } from '../../source-files.js';

export interface TextCorpus {
  lines: string[];
  fingerprint: string;
}

/** Read at most this much text: enough variety for rendering, bounded memory for a huge corpus. */
const MAX_BYTES = 16 * 1024 * 1024;

/**
 * Scripts the default fonts (DejaVu, Liberation) cover, so a drawn line never shows a missing
 * glyph where the ground truth has a character. With explicit `fonts`, any text is accepted.
 */
const DEFAULT_FONT_COVERAGE = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Common}\p{Script=Inherited}]+$/u;

const cache = new Map<string, Promise<TextCorpus>>();

/** The lines of a text file, or of a folder's `.txt` files, whitespace-normalised; loaded once per process. */
export function loadTextCorpus(sourceName: string, path: string, baseDir: string, anyScript: boolean): Promise<TextCorpus> {
  const key = JSON.stringify([sourceName, path, baseDir, anyScript]);
  let corpus = cache.get(key);
  if (!corpus) {
    corpus = readCorpus(sourceName, path, baseDir, anyScript);
    corpus.catch(() => cache.delete(key));
    cache.set(key, corpus);
  }
  return corpus;
}

async function readCorpus(sourceName: string, path: string, baseDir: string, anyScript: boolean): Promise<TextCorpus> {
  const files = await sourceFiles(sourceName, path, baseDir, '**/*.txt');
  const lines: string[] = [];
  const stamps: unknown[] = [];
  let budget = MAX_BYTES;
  for (const file of files) {
    if (budget <= 0) break;
    const s = await stat(file);
    stamps.push([relative(baseDir, file), s.size, Math.round(s.mtimeMs)]);
    const text = (await readFile(file)).subarray(0, budget).toString('utf8');
    budget -= s.size;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.replace(/\s+/g, ' ').trim();
      if (line.replace(/\s/g, '').length < 3 || line.includes('\uFFFD')) continue;
      if (!anyScript && !DEFAULT_FONT_COVERAGE.test(line)) continue;
      lines.push(line);
    }
  }
  if (lines.length === 0) {
    throw new SourceConfigError(`source ${sourceName}: the text corpus ${path} has no usable line (3+ characters${anyScript ? '' : ', Latin/Greek/Cyrillic script: name `fonts` that cover other scripts'})`);
  }
  return { lines, fingerprint: stableHash(stamps) };
}
