/** A point in pixel coordinates. */
export type Point = [number, number];

/** Corners of a rotated rectangle, ordered top-left, top-right, bottom-right, bottom-left. */
export type Quad = [Point, Point, Point, Point];

/** Convex hull (Andrew's monotone chain), counter-clockwise, without collinear points. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (sorted.length < 3) return sorted;
  const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2] as Point, lower[lower.length - 1] as Point, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i] as Point;
    while (upper.length >= 2 && cross(upper[upper.length - 2] as Point, upper[upper.length - 1] as Point, p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

export interface RotatedRect {
  center: Point;
  /** Side lengths along `angle` and across it. */
  width: number;
  height: number;
  /** Direction of the `width` side, radians. */
  angle: number;
}

/** The minimum-area enclosing rectangle (rotating calipers over the hull's edges), like OpenCV's minAreaRect. */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { center: [0, 0], width: 0, height: 0, angle: 0 };
  if (hull.length === 1) return { center: hull[0] as Point, width: 0, height: 0, angle: 0 };
  let best: RotatedRect | null = null;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i] as Point;
    const b = hull[(i + 1) % hull.length] as Point;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      minV = Math.min(minV, v);
      maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { center: [cu * ux - cv * uy, cu * uy + cv * ux], width: maxU - minU, height: maxV - minV, angle: Math.atan2(uy, ux) };
    }
  }
  return best as RotatedRect;
}

/** The rectangle's corners ordered as PaddleOCR's get_mini_boxes does: top-left, top-right, bottom-right, bottom-left. */
export function rectCorners(rect: RotatedRect): Quad {
  const { center, width, height, angle } = rect;
  const ux = Math.cos(angle);
  const uy = Math.sin(angle);
  const hw = width / 2;
  const hh = height / 2;
  const pts: Point[] = [
    [center[0] - ux * hw + uy * hh, center[1] - uy * hw - ux * hh],
    [center[0] + ux * hw + uy * hh, center[1] + uy * hw - ux * hh],
    [center[0] + ux * hw - uy * hh, center[1] + uy * hw + ux * hh],
    [center[0] - ux * hw - uy * hh, center[1] - uy * hw + ux * hh],
  ];
  pts.sort((a, b) => a[0] - b[0]);
  const [l1, l2, r1, r2] = pts as [Point, Point, Point, Point];
  const [tl, bl] = l1[1] <= l2[1] ? [l1, l2] : [l2, l1];
  const [tr, br] = r1[1] <= r2[1] ? [r1, r2] : [r2, r1];
  return [tl, tr, br, bl];
}
