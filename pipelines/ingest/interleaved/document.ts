import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where an image of a document is. */
export type ImageLocation =
  | { kind: 'local'; path: string }
  | { kind: 'inline'; data: string }
  /** Needs the network: an http(s) URL, or a site-relative path of a saved page (`/static/x.png`). */
  | { kind: 'remote'; url: string };

export type DocItem =
  | { type: 'text'; text: string }
  | { type: 'image'; location: ImageLocation; alt: string | null; meta?: Record<string, unknown> };

/** A document in reading order, whatever format it came from. */
export interface ParsedDocument {
  items: DocItem[];
  /** Source fields kept in the sample's `meta` (url, title, ...). */
  meta: Record<string, unknown>;
}

/**
 * Resolves an image reference of a document. Relative paths resolve against `baseDir`; absolute
 * paths are files for jsonl records but site-relative URLs for HTML pages (`absolutePaths: 'site'`).
 */
export function locateImage(src: string, baseDir: string, absolutePaths: 'file' | 'site'): ImageLocation {
  const ref = src.trim();
  if (/^data:/i.test(ref)) return { kind: 'inline', data: ref };
  if (/^https?:\/\//i.test(ref)) return { kind: 'remote', url: ref };
  if (ref.startsWith('//')) return { kind: 'remote', url: `https:${ref}` };
  if (/^file:/i.test(ref)) return { kind: 'local', path: fileURLToPath(ref) };
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return { kind: 'remote', url: ref };
  if (isAbsolute(ref)) return absolutePaths === 'file' ? { kind: 'local', path: ref } : { kind: 'remote', url: ref };
  const path = ref.replace(/[?#].*$/, '');
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a literal % in a file name
  }
  return { kind: 'local', path: resolve(baseDir, existsSync(resolve(baseDir, path)) ? path : decoded) };
}

/** True for an existing regular file (a folder or a missing path is not an image). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
