/** Page geometry in the rendered frame: points (1/72 in) from the top-left corner, y down. */
export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A PDF affine matrix `[a, b, c, d, e, f]`: x' = a·x + c·y + e, y' = b·x + d·y + f. */
export type Matrix = [number, number, number, number, number, number];

export const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

/** `outer × inner`: applies `inner` first, then `outer` (pdfjs `Util.transform` order). */
export function multiply(outer: Matrix, inner: Matrix): Matrix {
  const [a, b, c, d, e, f] = outer;
  const [a2, b2, c2, d2, e2, f2] = inner;
  return [a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2, a * e2 + c * f2 + e, b * e2 + d * f2 + f];
}

export function apply(m: Matrix, x: number, y: number): [number, number] {
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

/** The axis-aligned bounds of the unit square (where PDF images are drawn) under `m`. */
export function unitSquareBounds(m: Matrix): Rect {
  const corners = [apply(m, 0, 0), apply(m, 1, 0), apply(m, 0, 1), apply(m, 1, 1)];
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

export const width = (r: Rect): number => r.x2 - r.x1;
export const height = (r: Rect): number => r.y2 - r.y1;
export const area = (r: Rect): number => Math.max(0, width(r)) * Math.max(0, height(r));

export function union(a: Rect, b: Rect): Rect {
  return { x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1), x2: Math.max(a.x2, b.x2), y2: Math.max(a.y2, b.y2) };
}

export function intersect(a: Rect, b: Rect): Rect | null {
  const r = { x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1), x2: Math.min(a.x2, b.x2), y2: Math.min(a.y2, b.y2) };
  return r.x2 > r.x1 && r.y2 > r.y1 ? r : null;
}

/** True when the rectangles overlap or lie within `gap` of each other. */
export function touches(a: Rect, b: Rect, gap: number): boolean {
  return a.x1 <= b.x2 + gap && b.x1 <= a.x2 + gap && a.y1 <= b.y2 + gap && b.y1 <= a.y2 + gap;
}
