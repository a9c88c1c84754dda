import type { Rect } from './geometry.js';

/**
 * Orders page regions (text blocks, figures) for reading with a recursive XY-cut: a region whose
 * items leave a vertical white gap from top to bottom is read as columns, left to right; otherwise
 * it is cut into bands at its horizontal white gaps and read top to bottom, each band cut again.
 * A full-width title or figure blocks the column gap, so it is read before (or between) the
 * columns it spans, as in two-column papers. Adjacent bands that share a column gap are read as
 * one band, so white space that happens to line up across both columns does not interleave them.
 */
export function readingOrder<T extends { rect: Rect }>(items: readonly T[], minColumnGap: number): T[] {
  if (items.length <= 1) return [...items];
  const columns = splitAtGaps(items, 'x', minColumnGap);
  if (columns.length > 1) return columns.flatMap((c) => readingOrder(c, minColumnGap));
  const bands = joinColumnBands(splitAtGaps(items, 'y', 0.5), minColumnGap);
  if (bands.length > 1) return bands.flatMap((b) => readingOrder(b, minColumnGap));
  return [...items].sort((a, b) => a.rect.y1 - b.rect.y1 || a.rect.x1 - b.rect.x1);
}

/** Joins each band to the one above while together they still split into columns. */
function joinColumnBands<T extends { rect: Rect }>(bands: T[][], minColumnGap: number): T[][] {
  const joined: T[][] = [];
  for (const band of bands) {
    const last = joined.at(-1);
    if (last && splitAtGaps([...last, ...band], 'x', minColumnGap).length > 1) joined[joined.length - 1] = [...last, ...band];
    else joined.push(band);
  }
  return joined;
}

/** Groups items whose extents along `axis` overlap (or lie closer than `minGap`), in order along the axis. */
function splitAtGaps<T extends { rect: Rect }>(items: readonly T[], axis: 'x' | 'y', minGap: number): T[][] {
  const start = (t: T): number => (axis === 'x' ? t.rect.x1 : t.rect.y1);
  const end = (t: T): number => (axis === 'x' ? t.rect.x2 : t.rect.y2);
  const sorted = [...items].sort((a, b) => start(a) - start(b));
  const groups: T[][] = [];
  let reach = -Infinity;
  for (const item of sorted) {
    if (groups.length === 0 || start(item) - reach >= minGap) groups.push([item]);
    else (groups.at(-1) as T[]).push(item);
    reach = Math.max(reach, end(item));
  }
  return groups;
}
