/** Box geometry on GLM's 0–999 scale, shared by the counting and spatial generators. */

export type BoxTuple = readonly [number, number, number, number];

/** Share of the image a box covers (0–999 scale: the full image is 999 × 999). */
export function areaFraction(b: BoxTuple): number {
  return (Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1])) / (999 * 999);
}

export function boxIou(a: BoxTuple, b: BoxTuple): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** The gap between two intervals (negative when they overlap, by the overlap's length). */
export function gap(aEnd: number, bStart: number): number {
  return bStart - aEnd;
}

/** Overlap of two intervals as a share of the shorter one (1: one lies within the other). */
export function overlapShare(a1: number, a2: number, b1: number, b2: number): number {
  const inter = Math.max(0, Math.min(a2, b2) - Math.max(a1, b1));
  const shorter = Math.min(a2 - a1, b2 - b1);
  return shorter > 0 ? inter / shorter : 0;
}

const IRREGULAR: Record<string, string> = {
  person: 'people', man: 'men', woman: 'women', child: 'children', mouse: 'mice', foot: 'feet', tooth: 'teeth', goose: 'geese',
  sheep: 'sheep', deer: 'deer', fish: 'fish', skis: 'skis', scissors: 'scissors', glasses: 'glasses', people: 'people',
};

/** English plural of a category name ("traffic light" → "traffic lights", "person" → "people"). */
export function plural(category: string): string {
  const words = category.trim().split(/\s+/);
  const last = (words.pop() ?? '').toLowerCase();
  let p: string;
  if (IRREGULAR[last]) p = IRREGULAR[last];
  else if (/(s|x|z|ch|sh)$/.test(last)) p = `${last}es`;
  else if (/[^aeiou]y$/.test(last)) p = `${last.slice(0, -1)}ies`;
  else if (/(knife|leaf|shelf|wolf|half|loaf|calf)$/.test(last)) p = last.replace(/fe?$/, 'ves');
  else p = `${last}s`;
  return [...words, p].join(' ');
}
