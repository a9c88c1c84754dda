import { existsSync } from 'node:fs';
import { readInputFile } from '../read-input.js';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { RecordError } from '../record-error.js';
import type { OcrLine } from './ocr-sample.js';

/** Ground-truth file names tried for `<stem>.<image ext>`, in order. */
const SIDECAR_SUFFIXES = ['.gt.txt', '.txt', '.csv'];

/**
 * The ground-truth file of an image: `<stem>.gt.txt` (tesstrain), `<stem>.txt` or `<stem>.csv`,
 * first under `groundTruthDir` at the image's path relative to `imageRoot`, then beside the image.
 */
export function findGroundTruth(image: string, imageRoot: string, groundTruthDir: string | null): string | null {
  const stem = basename(image, extname(image));
  const dirs = [...(groundTruthDir ? [resolve(groundTruthDir, relative(imageRoot, dirname(image)))] : []), dirname(image)];
  for (const dir of dirs) {
    for (const suffix of SIDECAR_SUFFIXES) {
      const candidate = join(dir, stem + suffix);
      if (existsSync(candidate)) return candidate;
    }
  }
  return null;
}

export interface GroundTruth {
  text: string;
  /** Line boxes when the file gives them (SROIE style), in the image's pixel frame. */
  lines: OcrLine[];
  format: 'text' | 'line-boxes';
}

/** `x1,y1,x2,y2,x3,y3,x4,y4,text`: a quadrilateral (clockwise from top-left) then the line's text, which may hold commas. */
const LINE_BOX = /^\s*(-?\d+(?:\.\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?){7})\s*,(.*)$/;

/**
 * Reads a ground-truth file. Plain text is kept as written (BOM and trailing blanks removed, CRLF
 * normalised); a `.csv`, or a `.txt` whose every line is a line box, is read as line boxes and
 * its text is the lines joined by newlines.
 */
/** Ground truth of one image is text or line boxes: kilobytes. */
const MAX_GROUND_TRUTH_BYTES = 16 * 1024 * 1024;

export async function readGroundTruth(file: string): Promise<GroundTruth> {
  const bytes = await readInputFile(file, MAX_GROUND_TRUTH_BYTES, { missing: 'missing_ground_truth', tooLarge: 'ground_truth_too_large' });
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RecordError('ground_truth_not_utf8', `${file} is not valid UTF-8; convert it (e.g. iconv -f latin1 -t utf-8) so the text is exact`);
  }
  const lines = raw.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n').map((l) => l.replace(/\s+$/, ''));
  const nonEmpty = lines.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) throw new RecordError('empty_ground_truth', `${file} holds no text`);
  const isBoxFile = extname(file).toLowerCase() === '.csv' || nonEmpty.every((l) => LINE_BOX.test(l));
  if (!isBoxFile) return { text: trimBlankLines(lines).join('\n'), lines: [], format: 'text' };
  return parseLineBoxes(file, lines);
}

function parseLineBoxes(file: string, lines: string[]): GroundTruth {
  const parsed: OcrLine[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const match = LINE_BOX.exec(line);
    if (!match) throw new RecordError('malformed_line_boxes', `${file} line ${i + 1} is not "x1,y1,...,x4,y4,text": ${JSON.stringify(line.slice(0, 120))}`);
    const text = (match[2] ?? '').trim();
    if (!text) continue;
    const coords = (match[1] as string).split(',').map(Number);
    const xs = [coords[0], coords[2], coords[4], coords[6]] as number[];
    const ys = [coords[1], coords[3], coords[5], coords[7]] as number[];
    parsed.push({ text, box: { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) } });
  }
  if (parsed.length === 0) throw new RecordError('empty_ground_truth', `${file} has line boxes but no text`);
  return { text: parsed.map((l) => l.text).join('\n'), lines: parsed, format: 'line-boxes' };
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && !lines[start]) start++;
  while (end > start && !lines[end - 1]) end--;
  return lines.slice(start, end);
}
