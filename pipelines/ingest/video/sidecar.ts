import { lstat, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { mapQaRecord, type MappedQa } from '../qa/map-record.js';
import { ClipError } from './clip-error.js';

/** Text that travels with a clip: `clip.txt` (a caption) and/or `clip.json` (caption, question/answer/choices). */
export interface Sidecar {
  caption: string | null;
  qa: MappedQa | null;
  /** The sidecar files found, by name. */
  files: string[];
  /** JSON fields not used as caption or task. */
  meta: Record<string, unknown>;
}

const MAX_SIDECAR_BYTES = 1024 * 1024;
const SIDECAR_QA = { fields: { id: 'id', question: 'question', answer: 'answer', choices: 'choices', solution: 'solution' } } as const;

export function sidecarPaths(video: string): { txt: string; json: string } {
  const stem = join(dirname(video), basename(video, extname(video)));
  return { txt: `${stem}.txt`, json: `${stem}.json` };
}

export async function readSidecar(video: string, verifier: string | undefined): Promise<Sidecar> {
  const paths = sidecarPaths(video);
  const files: string[] = [];
  const captions: string[] = [];
  let qa: MappedQa | null = null;
  let meta: Record<string, unknown> = {};

  const txt = await readSmallFile(paths.txt);
  if (txt !== null) {
    files.push(basename(paths.txt));
    if (txt.trim()) captions.push(txt.trim());
  }
  const json = await readSmallFile(paths.json);
  if (json !== null) {
    files.push(basename(paths.json));
    let record: unknown;
    try {
      record = JSON.parse(json);
    } catch (err) {
      throw new ClipError('malformed_sidecar', `${basename(paths.json)} is not valid JSON: ${(err as Error).message}`, { sidecar: paths.json });
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new ClipError('malformed_sidecar', `${basename(paths.json)} must hold a JSON object ({"caption": …} and/or {"question": …, "answer": …})`, { sidecar: paths.json });
    }
    const { caption, ...rest } = record as Record<string, unknown>;
    if (typeof caption === 'string' && caption.trim()) captions.push(caption.trim());
    if ('question' in rest) {
      qa = mapQaRecord(rest, SIDECAR_QA, verifier);
      meta = qa.meta;
    } else meta = rest;
  }
  return { caption: captions.length ? captions.join('\n\n') : null, qa, files, meta };
}

async function readSmallFile(path: string): Promise<string | null> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return null;
  }
  if (!info.isFile()) throw new ClipError('malformed_sidecar', `${path} is not a regular file`, { sidecar: path });
  if (info.size > MAX_SIDECAR_BYTES) throw new ClipError('malformed_sidecar', `${path} is ${info.size} bytes (limit ${MAX_SIDECAR_BYTES})`, { sidecar: path });
  return readFile(path, 'utf8');
}
