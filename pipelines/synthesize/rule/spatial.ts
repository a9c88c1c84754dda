import { z } from 'zod';
import type { Task } from '../../../schemas/sample.js';
import { LETTERS, toGlmBox } from '../../ingest/qa/answer.js';
import type { GeneratedTask, GeneratorContext, GeneratorEntry, SkipReason } from '../generator.js';
import { areaFraction, overlapShare, type BoxTuple } from './geometry.js';
import { byCategory, derivedMeta, imageObjectsOf } from './image-objects.js';
import { shuffled } from '../../shared/random.js';

export const SPATIAL_FORMS = ['choice', 'yesno'] as const;

export const spatialOptions = z
  .object({
    enabled: z.boolean().default(true),
    /** Left/right/above/below hold only when the boxes are apart by at least this gap (0–999 scale). */
    margin: z.number().min(0).max(999).default(30),
    /** Multiple choice over the four directions needs the other axis to overlap by at least this share of the shorter side, so its two options are plainly wrong. */
    minOverlap: z.number().min(0).max(1).default(0.5),
    /** "Larger than" holds only when one box's area is at least this many times the other's. */
    largerRatio: z.number().min(1).default(1.5),
    /** Object pairs asked about per image at most (picked by the seeded stream). */
    maxPairs: z.number().int().min(1).default(6),
    forms: z.array(z.enum(SPATIAL_FORMS)).min(1).default(['choice', 'yesno']),
  })
  .strict();

export type SpatialOptions = z.output<typeof spatialOptions>;

type Direction = 'left' | 'right' | 'above' | 'below';
const DIRECTION_OPTION: Record<Direction, string> = { left: 'to the left of', right: 'to the right of', above: 'above', below: 'below' };

/** The relations of box a to box b that hold by the margin, and how much they overlap on each axis. */
export function relations(a: BoxTuple, b: BoxTuple, opts: Pick<SpatialOptions, 'margin' | 'largerRatio'>) {
  const horizontal: Direction | null = b[0] - a[2] >= opts.margin ? 'left' : a[0] - b[2] >= opts.margin ? 'right' : null;
  const vertical: Direction | null = b[1] - a[3] >= opts.margin ? 'above' : a[1] - b[3] >= opts.margin ? 'below' : null;
  const ratio = areaFraction(a) / areaFraction(b);
  const larger: 'a' | 'b' | null = ratio >= opts.largerRatio ? 'a' : ratio <= 1 / opts.largerRatio ? 'b' : null;
  return {
    horizontal,
    vertical,
    larger,
    ratio,
    xOverlap: overlapShare(a[0], a[2], b[0], b[2]),
    yOverlap: overlapShare(a[1], a[3], b[1], b[3]),
    gapX: Math.max(b[0] - a[2], a[0] - b[2]),
    gapY: Math.max(b[1] - a[3], a[1] - b[3]),
  };
}

/**
 * Spatial relations between two objects that each occur once in a grounding image: left of / right
 * of / above / below and larger than, asked only when the geometry decides them by a margin
 * (`margin`, `largerRatio`), as multiple choice and as yes/no questions. Both boxes go to
 * `task.boxes` (subject first), so every question can be checked against its geometry.
 */
export const spatialRelations: GeneratorEntry<SpatialOptions> = {
  options: spatialOptions,
  generator: {
    name: 'spatial_relations',
    version: 1,
    mode: 'rule',
    applies: (sample) => sample.kind === 'grounding' && imageObjectsOf(sample) !== null,
    async generate(sample, ctx) {
      const objects = imageObjectsOf(sample);
      const tasks: GeneratedTask[] = [];
      const skipped: SkipReason[] = [];
      if (!objects) return { tasks, skipped };
      const unique: Array<{ category: string; box: BoxTuple }> = [];
      for (const [category, boxes] of byCategory(objects)) {
        if (boxes.length === 1 && !objects.crowd[category]) unique.push({ category, box: boxes[0]! });
      }
      const notUnique = [...byCategory(objects)].filter(([c, b]) => b.length > 1 || objects.crowd[c]).map(([c, b]) => ({ category: c, instances: b.length, crowd: objects.crowd[c] ?? 0 }));
      if (unique.length < 2) {
        skipped.push({ reason: 'fewer_than_two_unique_objects', detail: { unique: unique.map((u) => u.category), not_unique: notUnique } });
        return { tasks, skipped };
      }
      const pairs: Array<[number, number]> = [];
      for (let i = 0; i < unique.length; i++) for (let j = i + 1; j < unique.length; j++) pairs.push([i, j]);
      for (const [i, j] of shuffled(pairs, ctx.rng).slice(0, ctx.options.maxPairs)) {
        const [a, b] = ctx.rng() < 0.5 ? [unique[i]!, unique[j]!] : [unique[j]!, unique[i]!];
        const made = pairTasks(a, b, ctx);
        if (made.length === 0) {
          const r = relations(a.box, b.box, ctx.options);
          skipped.push({
            reason: 'ambiguous_layout',
            detail: { a: a.category, b: b.category, gap_x: r.gapX, gap_y: r.gapY, area_ratio: round(r.ratio), margin: ctx.options.margin, larger_ratio: ctx.options.largerRatio },
          });
        }
        for (const t of made) tasks.push({ ...t, overrides: { domain: 'spatial', meta: derivedMeta(sample, { a: a.category, b: b.category, relation: t.key.split(':')[0] }) } });
      }
      return { tasks, skipped };
    },
  },
};

type Obj = { category: string; box: BoxTuple };

function pairTasks(a: Obj, b: Obj, ctx: GeneratorContext<SpatialOptions>): GeneratedTask[] {
  const opts = ctx.options;
  const r = relations(a.box, b.box, opts);
  const names = { a: a.category, b: b.category };
  const boxes = [a, b].map((o) => ({ label: o.category, x1: o.box[0], y1: o.box[1], x2: o.box[2], y2: o.box[3] }));
  const pair = `${a.category}|${b.category}`;
  const out: GeneratedTask[] = [];
  const choiceTask = (key: string, question: string, options: string[], correct: string): GeneratedTask => {
    const choices = shuffled(options, ctx.rng);
    const letter = LETTERS[choices.indexOf(correct)] as string;
    return { key, task: task(question, letter, 'choice', choices, boxes, 'multiple_choice') };
  };
  const yesNo = (key: string, question: string, yes: boolean): GeneratedTask => ({ key, task: task(question, yes ? 'yes' : 'no', 'text', [], boxes, 'spatial') });

  if (opts.forms.includes('choice')) {
    // One direction holds and the other axis overlaps plainly: exactly one of the four options is right.
    const only = r.horizontal && !r.vertical && r.yOverlap >= opts.minOverlap ? r.horizontal : r.vertical && !r.horizontal && r.xOverlap >= opts.minOverlap ? r.vertical : null;
    if (only) {
      out.push(choiceTask(`position:${pair}`, ctx.templates.render('spatial_position', names, ctx.rng), Object.values(DIRECTION_OPTION), DIRECTION_OPTION[only]));
    }
    if (r.larger) {
      out.push(choiceTask(`larger_choice:${pair}`, ctx.templates.render('larger_choice', names, ctx.rng), [a.category, b.category], r.larger === 'a' ? a.category : b.category));
    }
  }
  if (opts.forms.includes('yesno')) {
    if (r.horizontal) {
      const asked: Direction = ctx.rng() < 0.5 ? 'left' : 'right';
      out.push(yesNo(`horizontal:${pair}`, ctx.templates.render(asked === 'left' ? 'spatial_left' : 'spatial_right', names, ctx.rng), asked === r.horizontal));
    }
    if (r.vertical) {
      const asked: Direction = ctx.rng() < 0.5 ? 'above' : 'below';
      out.push(yesNo(`vertical:${pair}`, ctx.templates.render(asked === 'above' ? 'spatial_above' : 'spatial_below', names, ctx.rng), asked === r.vertical));
    }
    if (r.larger) out.push(yesNo(`larger_yesno:${pair}`, ctx.templates.render('larger_yesno', names, ctx.rng), r.larger === 'a'));
  }
  return out;
}

function task(question: string, answer: string, type: Task['answer_type'], choices: string[], boxes: Task['boxes'], verifier: string): Task {
  return { question, answer: toGlmBox(answer), answer_raw: answer, answer_type: type, choices, boxes, verifier, solution: null };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
