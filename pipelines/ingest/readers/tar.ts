import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';

/** A member read from a tar: its sanitised name and bytes, or why it was refused. Nothing is ever written to disk. */
export type TarMember =
  | { ok: true; name: string; rawName: string; body: Buffer }
  | { ok: false; rawName: string; reason: string; message: string };

/** One WebDataset sample: consecutive members sharing a key (`a/b/x.jpg` + `a/b/x.txt` → key `a/b/x`). */
export interface WebDatasetSample {
  key: string;
  /** Member bytes by extension (everything after the first dot of the file name, lower-cased). */
  parts: Map<string, Buffer>;
  /** Member names, for details. */
  names: string[];
}

export type WebDatasetItem =
  | { kind: 'sample'; sample: WebDatasetSample }
  | { kind: 'refused'; member: Extract<TarMember, { ok: false }> }
  /** The archive itself is damaged after the items before it; the rest cannot be read. */
  | { kind: 'broken'; after: string | null; message: string };

export interface TarReadOptions {
  /** Members larger than this are skipped (drained, never held) and refused. */
  maxMemberBytes: number;
}

/**
 * Streams a tar (or .tar.gz / .tgz) member by member; only the current member is held in memory.
 * Names are checked before anything else: absolute paths, `..` segments, links and special files
 * are refused with a reason, so a hostile archive can name nothing outside itself.
 */
export async function* readTarMembers(file: string, options: TarReadOptions): AsyncGenerator<TarMember> {
  const ex = extract();
  const source = createReadStream(file);
  const feeding = /\.(tgz|gz)$/i.test(file) ? pipeline(source, createGunzip(), ex) : pipeline(source, ex);
  // Errors surface through the iterator below; this keeps the pipeline promise from rejecting unhandled.
  feeding.catch(() => {});
  for await (const entry of ex) {
    const header = entry.header as Header;
    const rawName = header.name;
    if (header.type === 'directory') {
      entry.resume();
      continue;
    }
    const refusal = checkMember(header);
    if (refusal) {
      entry.resume();
      yield { ok: false, rawName, ...refusal };
      continue;
    }
    if ((header.size ?? 0) > options.maxMemberBytes) {
      entry.resume();
      yield { ok: false, rawName, reason: 'member_too_large', message: `${rawName} is ${header.size} bytes (limit ${options.maxMemberBytes})` };
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    yield { ok: true, name: normaliseName(rawName), rawName, body: Buffer.concat(chunks) };
  }
  await feeding;
}

/** Groups consecutive members by WebDataset key; refused members and a damaged tail come through as their own items. */
export async function* readWebDatasetSamples(file: string, options: TarReadOptions): AsyncGenerator<WebDatasetItem> {
  let current: WebDatasetSample | null = null;
  let last: string | null = null;
  try {
    for await (const member of readTarMembers(file, options)) {
      last = member.rawName;
      if (!member.ok) {
        yield { kind: 'refused', member };
        continue;
      }
      const { key, ext } = webDatasetKey(member.name);
      if (current && current.key !== key) {
        yield { kind: 'sample', sample: current };
        current = null;
      }
      current ??= { key, parts: new Map(), names: [] };
      current.names.push(member.name);
      // A repeated extension within one key keeps the first member (WebDataset readers do the same).
      if (!current.parts.has(ext)) current.parts.set(ext, member.body);
    }
  } catch (err) {
    if (current) yield { kind: 'sample', sample: current };
    yield { kind: 'broken', after: last, message: (err as Error).message };
    return;
  }
  if (current) yield { kind: 'sample', sample: current };
}

/** `dir/x.seg.jpg` → key `dir/x`, ext `seg.jpg` (WebDataset: the extension starts at the first dot of the base name). */
export function webDatasetKey(name: string): { key: string; ext: string } {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  if (dot < 0) return { key: name, ext: '' };
  return { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

function checkMember(header: Header): { reason: string; message: string } | null {
  const name = header.name;
  if (header.type !== 'file' && header.type !== 'contiguous-file') {
    const what = header.type === 'symlink' || header.type === 'link' ? `a ${header.type} to ${header.linkname ?? '?'}` : `a ${header.type ?? 'special'} entry`;
    return { reason: 'unsupported_tar_member', message: `${name} is ${what}; only regular files are read (links are never followed)` };
  }
  if (!name || name.includes('\0')) return { reason: 'unsafe_member_path', message: 'member name is empty or contains NUL' };
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) {
    return { reason: 'unsafe_member_path', message: `${name} is an absolute path; members must be relative to the archive` };
  }
  if (name.split(/[\\/]+/).includes('..')) return { reason: 'unsafe_member_path', message: `${name} climbs out of the archive with ..` };
  return null;
}

function normaliseName(name: string): string {
  return posix.normalize(name).replace(/^(\.\/)+/, '');
}
