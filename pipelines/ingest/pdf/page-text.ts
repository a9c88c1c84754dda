import type { TextContent, TextItem } from 'pdfjs-dist/types/src/display/api.js';
import { multiply, type Matrix, type Rect, union } from './geometry.js';

/** One line of text as drawn on the page, in the rendered frame (points, top-left origin). */
export interface TextLine {
  text: string;
  rect: Rect;
  /** Font size in points. */
  size: number;
  /** False for rotated or vertical text: it is kept as a line of its own. */
  horizontal: boolean;
}

/** Lines that belong together (a paragraph, a heading, a caption). */
export interface TextBlock {
  lines: TextLine[];
  rect: Rect;
}

// Chinese/Japanese/Korean text has no spaces between words: justification gaps are not word breaks.
const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\u3000-\\u303f\\uff00-\\uffef';
const CJK_END = new RegExp(`[${CJK}]$`, 'u');
const CJK_START = new RegExp(`^[${CJK}]`, 'u');
/** pdfjs turns letter-spaced (justified) CJK into "东 南 大 学"; spaces between two CJK characters go. */
const CJK_SPACED = new RegExp(`([${CJK}])\\s+(?=[${CJK}])`, 'gu');

interface Run extends TextLine {
  /** pdfjs saw a line break after this run. */
  eol: boolean;
}

/**
 * Turns pdfjs text items into lines, then lines into blocks. `viewport` maps PDF user space to the
 * rendered frame at scale 1 (`page.getViewport({ scale: 1 }).transform`), so page rotation and
 * crop boxes are already applied.
 */
export function textBlocks(content: TextContent, viewport: Matrix): TextBlock[] {
  return groupBlocks(groupLines(textRuns(content, viewport)));
}

function textRuns(content: TextContent, viewport: Matrix): Run[] {
  const runs: Run[] = [];
  for (const item of content.items) {
    if (!('str' in item)) continue;
    const m = multiply(viewport, item.transform as Matrix);
    const size = Math.hypot(m[2], m[3]);
    if (!(size > 0)) continue;
    if (item.str === '' || /^\s+$/.test(item.str)) {
      const last = runs.at(-1);
      if (last && item.hasEOL) last.eol = true;
      if (last && item.str !== '') last.text += ' ';
      continue;
    }
    const style = content.styles[item.fontName];
    const ascent = style && style.ascent > 0 ? style.ascent : 0.8;
    const descent = style && style.descent < 0 ? style.descent : -0.2;
    const horizontal = Math.abs(m[1]) < 1e-3 * size && m[0] > 0 && !style?.vertical;
    runs.push({ text: item.str, rect: runRect(item, m, size, ascent, descent, horizontal), size, horizontal, eol: item.hasEOL });
  }
  return runs;
}

function runRect(item: TextItem, m: Matrix, size: number, ascent: number, descent: number, horizontal: boolean): Rect {
  if (horizontal) return { x1: m[4], y1: m[5] - size * ascent, x2: m[4] + item.width, y2: m[5] - size * descent };
  // Rotated text: the bounds of the run's box along its own direction.
  const ux = m[0] / Math.hypot(m[0], m[1]) || 0;
  const uy = m[1] / Math.hypot(m[0], m[1]) || 0;
  const along = item.width || item.height;
  const corners: Array<[number, number]> = [
    [m[4], m[5]],
    [m[4] + ux * along, m[5] + uy * along],
    [m[4] + uy * size, m[5] - ux * size],
    [m[4] + ux * along + uy * size, m[5] + uy * along - ux * size],
  ];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

function groupLines(runs: Run[]): TextLine[] {
  const lines: TextLine[] = [];
  let line: Run | null = null;
  for (const run of runs) {
    if (line && !line.eol && continuesLine(line, run)) {
      const gap = run.rect.x1 - line.rect.x2;
      const spaced =
        /\s$/.test(line.text) || /^\s/.test(run.text) || gap < 0.15 * Math.min(line.size, run.size) || (CJK_END.test(line.text) && CJK_START.test(run.text));
      line.text += spaced ? run.text : ` ${run.text}`;
      line.rect = union(line.rect, run.rect);
      line.size = Math.max(line.size, run.size);
      line.eol = run.eol;
      continue;
    }
    if (line) lines.push(finishLine(line));
    line = { ...run };
  }
  if (line) lines.push(finishLine(line));
  return lines.filter((l) => l.text.length > 0);
}

/** Same direction, overlapping vertically (sub/superscripts included), moving right by less than a column gutter. */
function continuesLine(line: Run, run: Run): boolean {
  if (!line.horizontal || !run.horizontal) return false;
  const overlap = Math.min(line.rect.y2, run.rect.y2) - Math.max(line.rect.y1, run.rect.y1);
  const minHeight = Math.min(line.rect.y2 - line.rect.y1, run.rect.y2 - run.rect.y1);
  if (overlap < 0.4 * minHeight) return false;
  const gap = run.rect.x1 - line.rect.x2;
  return gap > -0.5 * line.size && gap < 1.5 * Math.max(line.size, run.size);
}

function finishLine(run: Run): TextLine {
  return { text: run.text.replace(/\s+/g, ' ').replace(CJK_SPACED, '$1').trim(), rect: run.rect, size: run.size, horizontal: run.horizontal };
}

/** Lines join a recent block of the same font size when they sit just below it and overlap it horizontally. */
function groupBlocks(lines: TextLine[]): TextBlock[] {
  const blocks: TextBlock[] = [];
  const open: TextBlock[] = [];
  for (const line of lines) {
    const target = line.horizontal ? open.find((b) => continuesBlock(b, line)) : undefined;
    if (target) {
      target.lines.push(line);
      target.rect = union(target.rect, line.rect);
      continue;
    }
    const block = { lines: [line], rect: line.rect };
    blocks.push(block);
    open.unshift(block);
    if (open.length > 3) open.pop();
  }
  return blocks;
}

function continuesBlock(block: TextBlock, line: TextLine): boolean {
  const last = block.lines.at(-1) as TextLine;
  if (!last.horizontal) return false;
  if (Math.abs(last.size - line.size) > 0.2 * Math.max(last.size, line.size)) return false;
  const gap = line.rect.y1 - last.rect.y2;
  if (gap < -0.3 * line.size || gap > 0.8 * line.size) return false;
  return line.rect.x1 < block.rect.x2 && line.rect.x2 > block.rect.x1;
}

/** A block's lines as running text: lines joined by spaces, words hyphenated across a line break rejoined. */
export function blockText(block: TextBlock): string {
  let text = '';
  for (const line of block.lines) {
    if (!text) text = line.text;
    else if (/\p{L}-$/u.test(text) && /^\p{Ll}/u.test(line.text)) text = text.slice(0, -1) + line.text;
    else if (CJK_END.test(text) && CJK_START.test(line.text)) text += line.text;
    else text += ` ${line.text}`;
  }
  return text;
}

/** The median font size of the blocks' lines (10 pt when there is no text). */
export function medianLineSize(blocks: readonly TextBlock[]): number {
  const sizes = blocks.flatMap((b) => b.lines.map((l) => l.size)).sort((a, b) => a - b);
  return sizes[Math.floor(sizes.length / 2)] ?? 10;
}
