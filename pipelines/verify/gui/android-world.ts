/**
 * AndroidWorld actions: a dict in the first box, e.g. {"action_type": "click", "box_2d": [[x1,y1,x2,y2]]}.
 * Same key set required; per key: equal → 1, `text` → LCS ratio, `box_2d` → IoU, else 0;
 * the reward is the product.
 */
import { BEGIN_BOX, END_BOX } from '../format.js';
import { iou, type Box } from '../grounding.js';
import { parsePyLiteral, pyEquals, type PyValue } from './py-literal.js';
import { lcsRatio } from './similarity.js';

export type AndroidAction = { [k: string]: PyValue };

export function extractAndroidAction(response: string): AndroidAction | null {
  const b = response.indexOf(BEGIN_BOX);
  if (b === -1 || !response.includes(END_BOX)) return null;
  const after = response.slice(b + BEGIN_BOX.length);
  const e = after.indexOf(END_BOX);
  let body = (e === -1 ? after : after.slice(0, e)).trim();
  // Leading zeros in box coordinates ([[038, 115, ...]]) are not valid literals.
  body = body.replace(/\[\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]\]/, (_m, a, b2, c, d) => `[[${Number(a)},${Number(b2)},${Number(c)},${Number(d)}]]`);
  try {
    const v = parsePyLiteral(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function validBox(v: PyValue | undefined): v is number[] {
  return (
    Array.isArray(v) &&
    v.length === 4 &&
    v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 999) &&
    (v[0] as number) <= (v[2] as number) &&
    (v[1] as number) <= (v[3] as number)
  );
}

export function scoreAndroidAction(pred: AndroidAction | null, gold: AndroidAction | null): { score: number; reason: string } {
  if (!gold) return { score: 0, reason: 'ground truth has no action' };
  if (!pred) return { score: 0, reason: 'no action in the answer' };
  const kp = Object.keys(pred).sort();
  const kg = Object.keys(gold).sort();
  if (kp.length !== kg.length || kp.some((k, i) => k !== kg[i])) return { score: 0, reason: 'different keys (action type or format)' };
  let reward = 1;
  const parts: string[] = [];
  for (const key of kg) {
    const g = gold[key]!;
    const p = pred[key]!;
    let s: number;
    if (pyEquals(p, g)) s = 1;
    else if (key === 'text' && typeof g === 'string' && typeof p === 'string') s = lcsRatio(g, p);
    else if (key === 'box_2d') {
      const gb = Array.isArray(g) ? g[0] : undefined;
      const pb = Array.isArray(p) ? p[0] : undefined;
      if (!validBox(gb)) return { score: 0, reason: 'invalid ground-truth box' };
      if (!validBox(pb)) return { score: 0, reason: 'invalid box' };
      s = iou(gb as Box, pb as Box);
    } else s = 0;
    parts.push(`${key}=${s.toFixed(3)}`);
    reward *= s;
  }
  return { score: reward, reason: parts.join(' ') };
}
