import { minAreaRect, rectCorners, type Point, type Quad } from './min-area-rect.js';

export interface DbOptions {
  /** A pixel is text when its probability exceeds this. */
  pixelThreshold: number;
  /** A region is kept when its mean probability exceeds this. */
  boxThreshold: number;
  /** How far the shrunk text kernel is grown back: offset = area × ratio / perimeter. */
  unclipRatio: number;
  /** Regions whose shorter side is smaller (in map pixels) are noise. */
  minSize: number;
  maxCandidates: number;
}

export const DB_DEFAULTS: DbOptions = { pixelThreshold: 0.3, boxThreshold: 0.6, unclipRatio: 1.5, minSize: 3, maxCandidates: 1000 };

export interface DetectedText {
  /** Corners in the source image's pixels: top-left, top-right, bottom-right, bottom-left. */
  quad: Quad;
  score: number;
}

/**
 * Differentiable-binarisation post-processing (PaddleOCR's DBPostProcess): threshold the
 * probability map, take 8-connected regions, fit each a minimum-area rectangle, keep those whose
 * mean probability is high enough, grow ("unclip") them by area × ratio / perimeter, and map them
 * from the `width` × `height` map to the `srcWidth` × `srcHeight` image.
 */
export function dbPostprocess(prob: Float32Array, width: number, height: number, srcWidth: number, srcHeight: number, opts: DbOptions = DB_DEFAULTS): DetectedText[] {
  const labels = new Int32Array(width * height);
  const found: DetectedText[] = [];
  const stack: number[] = [];
  let label = 0;
  for (let start = 0; start < prob.length && found.length < opts.maxCandidates; start++) {
    if (labels[start] !== 0 || (prob[start] as number) <= opts.pixelThreshold) continue;
    label++;
    labels[start] = label;
    stack.push(start);
    const boundary: Point[] = [];
    let sum = 0;
    let count = 0;
    while (stack.length) {
      const i = stack.pop() as number;
      const x = i % width;
      const y = (i - x) / width;
      sum += prob[i] as number;
      count++;
      let edge = false;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 && dy === 0) continue;
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) {
            edge = true;
            continue;
          }
          const j = ny * width + nx;
          if ((prob[j] as number) <= opts.pixelThreshold) {
            edge = true;
            continue;
          }
          if (labels[j] === 0) {
            labels[j] = label;
            stack.push(j);
          }
        }
      }
      if (edge) boundary.push([x, y]);
    }
    const rect = minAreaRect(boundary);
    if (Math.min(rect.width, rect.height) < opts.minSize) continue;
    const score = sum / count;
    if (score < opts.boxThreshold) continue;
    const offset = (rect.width * rect.height * opts.unclipRatio) / (2 * (rect.width + rect.height));
    const grown = { ...rect, width: rect.width + 2 * offset, height: rect.height + 2 * offset };
    if (Math.min(grown.width, grown.height) < opts.minSize + 2) continue;
    const sx = srcWidth / width;
    const sy = srcHeight / height;
    const quad = rectCorners(grown).map(([x, y]): Point => [clamp(Math.round(x * sx), 0, srcWidth), clamp(Math.round(y * sy), 0, srcHeight)]) as Quad;
    found.push({ quad, score });
  }
  return sortReadingOrder(found);
}

/** Top to bottom; boxes on the same line (tops within 10 px) left to right, as PaddleOCR's sorted_boxes. */
function sortReadingOrder(boxes: DetectedText[]): DetectedText[] {
  const sorted = [...boxes].sort((a, b) => a.quad[0][1] - b.quad[0][1] || a.quad[0][0] - b.quad[0][0]);
  for (let i = 1; i < sorted.length; i++) {
    for (let j = i; j > 0; j--) {
      const prev = sorted[j - 1] as DetectedText;
      const cur = sorted[j] as DetectedText;
      if (Math.abs(cur.quad[0][1] - prev.quad[0][1]) < 10 && cur.quad[0][0] < prev.quad[0][0]) {
        sorted[j - 1] = cur;
        sorted[j] = prev;
      } else break;
    }
  }
  return sorted;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
