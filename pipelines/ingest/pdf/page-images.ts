import { IDENTITY, intersect, multiply, touches, union, unitSquareBounds, type Matrix, type Rect } from './geometry.js';
import type { Pdfjs } from './pdfjs.js';

interface OperatorList {
  fnArray: number[];
  argsArray: unknown[];
}

/**
 * Where raster images are painted on a page, in the rendered frame at scale 1 (points, top-left
 * origin): the transformation matrix is tracked through save/restore, `cm`, form XObjects and
 * annotation appearances, and each image's unit square is mapped through it and the viewport.
 * Placements that overlap or abut (tiled or sliced images) are merged; the result is clipped to the page.
 */
export function imagePlacements(ops: OperatorList, OPS: Pdfjs['OPS'], viewport: Matrix, page: Rect): Rect[] {
  // Image masks count: scanners often store bilevel pages as stencil masks.
  const paints = new Set<number>([OPS.paintImageXObject, OPS.paintInlineImageXObject, OPS.paintImageMaskXObject]);
  const stack: Matrix[] = [];
  let ctm: Matrix = IDENTITY;
  const placed: Rect[] = [];
  for (let i = 0; i < ops.fnArray.length; i++) {
    const fn = ops.fnArray[i] as number;
    const args = ops.argsArray[i] as unknown[] | null;
    switch (fn) {
      case OPS.save:
      case OPS.beginGroup:
        stack.push(ctm);
        break;
      case OPS.restore:
      case OPS.endGroup:
      case OPS.paintFormXObjectEnd:
      case OPS.endAnnotation:
        ctm = stack.pop() ?? IDENTITY;
        break;
      case OPS.transform:
        ctm = multiply(ctm, toMatrix(args));
        break;
      case OPS.paintFormXObjectBegin:
        stack.push(ctm);
        if (args?.[0]) ctm = multiply(ctm, toMatrix(args[0]));
        break;
      case OPS.beginAnnotation:
        // args: [id, rect, transform, matrix, isUsingOwnCanvas]
        stack.push(ctm);
        if (args?.[2]) ctm = multiply(ctm, toMatrix(args[2]));
        if (args?.[3]) ctm = multiply(ctm, toMatrix(args[3]));
        break;
      case OPS.paintImageXObjectRepeat: {
        // args: [objId, scaleX, scaleY, positions]: the same image at each (x, y)
        const [, sx, sy, positions] = (args ?? []) as [unknown, number, number, ArrayLike<number>];
        for (let p = 0; p + 1 < (positions?.length ?? 0); p += 2) {
          const at: Matrix = [sx, 0, 0, sy, positions[p] as number, positions[p + 1] as number];
          const rect = intersect(unitSquareBounds(multiply(viewport, multiply(ctm, at))), page);
          if (rect) placed.push(rect);
        }
        break;
      }
      default:
        if (paints.has(fn)) {
          const rect = intersect(unitSquareBounds(multiply(viewport, ctm)), page);
          if (rect) placed.push(rect);
        }
    }
  }
  return mergeTouching(placed, 1);
}

function toMatrix(value: unknown): Matrix {
  const v = value as ArrayLike<number> | Record<string, number>;
  const m = Array.from({ length: 6 }, (_, i) => Number((v as Record<number, number>)[i]));
  return m.every(Number.isFinite) ? (m as Matrix) : IDENTITY;
}

function mergeTouching(rects: Rect[], gap: number): Rect[] {
  const merged = [...rects];
  for (let changed = true; changed; ) {
    changed = false;
    outer: for (let i = 0; i < merged.length; i++) {
      for (let j = i + 1; j < merged.length; j++) {
        if (touches(merged[i] as Rect, merged[j] as Rect, gap)) {
          merged[i] = union(merged[i] as Rect, merged[j] as Rect);
          merged.splice(j, 1);
          changed = true;
          break outer;
        }
      }
    }
  }
  return merged;
}
