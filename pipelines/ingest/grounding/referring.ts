import type { Box } from '../../../schemas/sample.js';

type PlainBox = Omit<Box, 'label'>;

export interface Referent {
  /** Identifies the box within its image (annotation id or label line). */
  id: string;
  category: string;
  box: PlainBox;
}

export interface ReferringExpression {
  id: string;
  expression: string;
  /** `caption`: a noun phrase of a human caption; `position`: category + where the box is. */
  from: 'caption' | 'position';
  caption?: string;
}

/** Boxes' centres must differ by this much (on the 0–999 scale) for "left"/"right"/"top"/"bottom" to be unambiguous. */
const POSITION_MARGIN = 100;

/**
 * Unambiguous referring expressions for the boxes of one image. A category with one box is "the
 * <category>", or the caption's own noun phrase when a caption names it ("the young boy"); a
 * category with several boxes refers to a box by where it is ("the person on the left") or its size
 * ("the largest dog") only when that singles it out. Boxes without such an expression get none.
 */
export function referringExpressions(referents: readonly Referent[], captions: readonly string[]): ReferringExpression[] {
  const byCategory = new Map<string, Referent[]>();
  for (const r of referents) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r]);
  const out: ReferringExpression[] = [];
  for (const [category, group] of byCategory) {
    if (group.length === 1) {
      const only = group[0] as Referent;
      const fromCaption = captionPhrase(category, captions);
      out.push(
        fromCaption
          ? { id: only.id, expression: fromCaption.phrase, from: 'caption', caption: fromCaption.caption }
          : { id: only.id, expression: `the ${category}`, from: 'position' },
      );
      continue;
    }
    for (const r of group) {
      const where = positionPhrase(r, group);
      if (where) out.push({ id: r.id, expression: `the ${category} ${where}`, from: 'position' });
      else if (isClearlyLargest(r, group)) out.push({ id: r.id, expression: `the largest ${category}`, from: 'position' });
    }
  }
  return out;
}

const centre = (b: PlainBox): { x: number; y: number } => ({ x: (b.x1 + b.x2) / 2, y: (b.y1 + b.y2) / 2 });
const area = (b: PlainBox): number => (b.x2 - b.x1) * (b.y2 - b.y1);

function positionPhrase(r: Referent, group: readonly Referent[]): string | null {
  const others = group.filter((o) => o !== r).map((o) => centre(o.box));
  const c = centre(r.box);
  if (others.every((o) => o.x - c.x >= POSITION_MARGIN)) return 'on the left';
  if (others.every((o) => c.x - o.x >= POSITION_MARGIN)) return 'on the right';
  if (others.length === 2 && others.some((o) => c.x - o.x >= POSITION_MARGIN) && others.some((o) => o.x - c.x >= POSITION_MARGIN)) return 'in the middle';
  if (others.every((o) => o.y - c.y >= POSITION_MARGIN)) return 'at the top';
  if (others.every((o) => c.y - o.y >= POSITION_MARGIN)) return 'at the bottom';
  return null;
}

function isClearlyLargest(r: Referent, group: readonly Referent[]): boolean {
  const a = area(r.box);
  return group.every((o) => o === r || a >= 2 * area(o.box));
}

/** Words a caption uses for a COCO category besides its name (singular forms only). */
const SYNONYMS: Record<string, string[]> = {
  person: ['man', 'woman', 'boy', 'girl', 'child', 'kid', 'guy', 'lady', 'player', 'skier', 'surfer', 'skateboarder', 'snowboarder', 'rider', 'baby'],
  bicycle: ['bike'],
  motorcycle: ['motorbike'],
  airplane: ['plane', 'jet', 'aircraft', 'airliner'],
  tv: ['television'],
  couch: ['sofa'],
  'cell phone': ['phone', 'cellphone', 'smartphone'],
  'dining table': ['table'],
  'potted plant': ['plant'],
  laptop: ['computer'],
  'sports ball': ['ball'],
  'hot dog': ['hotdog'],
  donut: ['doughnut'],
};
const DETERMINERS = new Set(['a', 'an', 'the', 'one', 'this', 'that']);
const BOUNDARY = new Set(['of', 'with', 'in', 'on', 'at', 'and', 'or', 'is', 'are', 'to', 'by', 'near', 'next', 'from', 'for', 'while', 'under', 'over']);

const IRREGULAR_PLURALS: Record<string, string> = { man: 'men', woman: 'women', person: 'people', child: 'children', mouse: 'mice', knife: 'knives', sheep: 'sheep', skis: 'skis' };

function pluralOf(noun: string[]): string[] {
  const last = noun[noun.length - 1] as string;
  const plural = IRREGULAR_PLURALS[last] ?? (/(s|x|ch|sh)$/.test(last) ? `${last}es` : /[^aeiou]y$/.test(last) ? `${last.slice(0, -1)}ies` : `${last}s`);
  return [...noun.slice(0, -1), plural];
}

/**
 * The caption phrase naming `category`: determiner + up to two words + the noun, from the first
 * caption that names the category exactly once and only in the singular ("A young boy ..." → "the
 * young boy"); null when no caption does.
 */
export function captionPhrase(category: string, captions: readonly string[]): { phrase: string; caption: string } | null {
  const nouns = [category, ...(SYNONYMS[category] ?? [])].map((n) => n.toLowerCase().split(/\s+/));
  const plurals = nouns.map(pluralOf);
  for (const caption of captions) {
    const words = caption.toLowerCase().match(/[a-z]+/g) ?? [];
    const mentions = (forms: string[][]): { i: number; noun: string[] }[] => {
      const found: { i: number; noun: string[] }[] = [];
      for (let i = 0; i < words.length; i++) {
        const noun = forms.filter((n) => n.every((w, k) => words[i + k] === w)).sort((a, b) => b.length - a.length)[0];
        if (noun) {
          found.push({ i, noun });
          i += noun.length - 1;
        }
      }
      return found;
    };
    const singular = mentions(nouns);
    const plural = mentions(plurals).filter((p) => !singular.some((s) => s.i === p.i));
    if (singular.length !== 1 || plural.length) continue;
    const { i, noun } = singular[0] as { i: number; noun: string[] };
    let start = i;
    while (start > 0 && i - start < 3) {
      const prev = words[start - 1] as string;
      if (BOUNDARY.has(prev)) break;
      start--;
      if (DETERMINERS.has(prev)) break;
    }
    const head = words.slice(start, i);
    if (!head.length || !DETERMINERS.has(head[0] as string)) return { phrase: `the ${noun.join(' ')}`, caption };
    return { phrase: ['the', ...head.slice(1), ...noun].join(' '), caption };
  }
  return null;
}
