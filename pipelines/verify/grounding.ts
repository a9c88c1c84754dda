/**
 * Grounding: boxes [x1, y1, x2, y2] on the 0–999 scale; IoU per box, several boxes matched
 * one-to-one (best total IoU), unmatched boxes count as 0.
 */

export type Box = [number, number, number, number];

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union <= 0 ? 0 : inter / union;
}

export function isValidBox(b: number[]): b is Box {
  return b.length === 4 && b.every((x) => Number.isFinite(x) && x >= 0 && x <= 999) && b[0]! <= b[2]! && b[1]! <= b[3]!;
}

/** All boxes in a text: [[x1,y1,x2,y2], ...], (x1,y1),(x2,y2), <box>x1 y1 x2 y2</box>. */
export function parseBoxes(text: string): number[][] {
  const boxes: number[][] = [];
  const num = String.raw`\s*(-?\d+(?:\.\d+)?)\s*`;
  const bracket = new RegExp(String.raw`[\[(]${num},${num},${num},${num}[\])]`, 'g');
  for (const m of text.slice(0, 100_000).matchAll(bracket)) boxes.push([m[1], m[2], m[3], m[4]].map(Number));
  if (boxes.length > 0) return boxes;
  const pairs = new RegExp(String.raw`\(${num},${num}\)\s*,?\s*\(${num},${num}\)`, 'g');
  for (const m of text.slice(0, 100_000).matchAll(pairs)) boxes.push([m[1], m[2], m[3], m[4]].map(Number));
  if (boxes.length > 0) return boxes;
  const spaced = /<box>\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*<\/box>/g;
  for (const m of text.slice(0, 100_000).matchAll(spaced)) boxes.push([m[1], m[2], m[3], m[4]].map(Number));
  return boxes;
}

/** Mean IoU of the best one-to-one assignment, divided by the larger of the two box counts. */
export function matchBoxes(pred: Box[], gold: Box[]): { meanIou: number; pairs: [number, number, number][] } {
  if (pred.length === 0 || gold.length === 0) return { meanIou: 0, pairs: [] };
  const n = Math.max(pred.length, gold.length);
  if (pred.length <= 8 && gold.length <= 8) {
    // Exact assignment by search over permutations of the smaller side (≤ 8! = 40320).
    let best = -1;
    let bestPairs: [number, number, number][] = [];
    const [small, large, swapped] = pred.length <= gold.length ? [pred, gold, false] : [gold, pred, true];
    const used = new Array<boolean>(large.length).fill(false);
    const current: [number, number, number][] = [];
    const search = (i: number, total: number) => {
      if (i === small.length) {
        if (total > best) {
          best = total;
          bestPairs = [...current];
        }
        return;
      }
      for (let j = 0; j < large.length; j++) {
        if (used[j]) continue;
        used[j] = true;
        const v = iou(small[i]!, large[j]!);
        current.push(swapped ? [j, i, v] : [i, j, v]);
        search(i + 1, total + v);
        current.pop();
        used[j] = false;
      }
    };
    search(0, 0);
    return { meanIou: best / n, pairs: bestPairs };
  }
  // Many boxes: greedy by IoU.
  const all: [number, number, number][] = [];
  pred.forEach((p, i) => gold.forEach((g, j) => all.push([i, j, iou(p, g)])));
  all.sort((a, b) => b[2] - a[2]);
  const up = new Set<number>();
  const ug = new Set<number>();
  const pairs: [number, number, number][] = [];
  let total = 0;
  for (const [i, j, v] of all) {
    if (up.has(i) || ug.has(j)) continue;
    up.add(i);
    ug.add(j);
    pairs.push([i, j, v]);
    total += v;
  }
  return { meanIou: total / n, pairs };
}

/** Score: mean IoU (continuous) or the share of gold boxes matched at IoU ≥ threshold. */
export function groundingScore(predText: string, goldText: string, threshold?: number): { score: number; reason: string } {
  const gold = parseBoxes(goldText);
  if (gold.length === 0 || !gold.every(isValidBox)) return { score: 0, reason: 'ground truth has no valid box' };
  const raw = parseBoxes(predText);
  if (raw.length === 0) return { score: 0, reason: 'no box in the answer' };
  if (raw.length > 100) return { score: 0, reason: 'too many boxes' };
  if (!raw.every(isValidBox)) return { score: 0, reason: 'box outside the 0–999 scale or inverted' };
  const pred = raw as Box[];
  const { meanIou, pairs } = matchBoxes(pred, gold as Box[]);
  if (threshold === undefined) return { score: meanIou, reason: `mean IoU ${meanIou.toFixed(3)} over ${Math.max(pred.length, gold.length)} boxes` };
  const hits = pairs.filter(([, , v]) => v >= threshold).length;
  const score = hits / Math.max(pred.length, gold.length);
  return { score, reason: `${hits}/${Math.max(pred.length, gold.length)} boxes with IoU ≥ ${threshold}` };
}
