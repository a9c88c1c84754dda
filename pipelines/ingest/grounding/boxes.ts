import type { Box } from '../../../schemas/sample.js';
import { toGlmBox } from '../qa/answer.js';

/** GLM's box scale: coordinates are thousandths of the image side, 0–999. */
export const BOX_SCALE = 999;

/** A box in some pixel frame (x1, y1) top-left, (x2, y2) bottom-right; may lie partly outside the frame. */
export interface PixelBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export type NormalisedBox =
  | { ok: true; box: Omit<Box, 'label'>; clipped: boolean }
  | { ok: false; reason: 'degenerate_box' | 'box_outside_image' | 'malformed_box'; message: string };

/**
 * Clips a pixel box to the `width` × `height` frame and maps it to 0–999 (`round(v / side × 1000)`,
 * capped at 999, the thousandths convention GLM and CogAgent use). Boxes that are not finite, have
 * no area, fall wholly outside the frame, or collapse to a line on the 0–999 grid are refused.
 */
export function normaliseBox(px: PixelBox, width: number, height: number): NormalisedBox {
  const { x1, y1, x2, y2 } = px;
  if (![x1, y1, x2, y2, width, height].every(Number.isFinite) || width <= 0 || height <= 0) {
    return { ok: false, reason: 'malformed_box', message: `box ${JSON.stringify(px)} in a ${width}×${height} frame is not a set of finite numbers` };
  }
  if (x2 <= x1 || y2 <= y1) return { ok: false, reason: 'degenerate_box', message: `box [${x1}, ${y1}, ${x2}, ${y2}] has no area` };
  const cx1 = Math.max(0, x1);
  const cy1 = Math.max(0, y1);
  const cx2 = Math.min(width, x2);
  const cy2 = Math.min(height, y2);
  if (cx2 <= cx1 || cy2 <= cy1) {
    return { ok: false, reason: 'box_outside_image', message: `box [${x1}, ${y1}, ${x2}, ${y2}] lies outside the ${width}×${height} image` };
  }
  const box = { x1: scale(cx1, width), y1: scale(cy1, height), x2: scale(cx2, width), y2: scale(cy2, height) };
  if (box.x2 <= box.x1 || box.y2 <= box.y1) {
    return { ok: false, reason: 'degenerate_box', message: `box [${x1}, ${y1}, ${x2}, ${y2}] is thinner than 1/1000 of the ${width}×${height} image` };
  }
  const clipped = cx1 !== x1 || cy1 !== y1 || cx2 !== x2 || cy2 !== y2;
  return { ok: true, box, clipped };
}

function scale(v: number, side: number): number {
  return Math.min(BOX_SCALE, Math.max(0, Math.round((v / side) * 1000)));
}

/** `[[x1,y1,x2,y2],...]`, the answer text inside GLM's box tokens. */
export function boxesAnswerText(boxes: readonly Omit<Box, 'label'>[]): string {
  return `[${boxes.map((b) => `[${b.x1},${b.y1},${b.x2},${b.y2}]`).join(',')}]`;
}

export function boxesAnswer(boxes: readonly Omit<Box, 'label'>[]): string {
  return toGlmBox(boxesAnswerText(boxes));
}

/** Intersection over union of two boxes in the same frame. */
export function iou(a: PixelBox, b: PixelBox): number {
  const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = ix * iy;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}
