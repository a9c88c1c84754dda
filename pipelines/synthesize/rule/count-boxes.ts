import { z } from 'zod';
import { toGlmBox } from '../../ingest/qa/answer.js';
import type { GeneratedTask, GeneratorEntry, SkipReason } from '../generator.js';
import { areaFraction, boxIou, plural } from './geometry.js';
import { byCategory, derivedMeta, imageObjectsOf } from './image-objects.js';

export const countBoxesOptions = z
  .object({
    enabled: z.boolean().default(true),
    /** A category with a box smaller than this share of the image is not counted (a tiny box hints at instances annotators missed). */
    minArea: z.number().min(0).max(1).default(0.0005),
    /** A category with two boxes overlapping above this IoU is not counted (duplicates or occluded instances make the count ambiguous). */
    maxIoU: z.number().min(0).max(1).default(0.5),
    /** Counts above this are not asked (hard to verify by eye and rare). */
    maxCount: z.number().int().min(1).default(20),
  })
  .strict();

export type CountBoxesOptions = z.output<typeof countBoxesOptions>;

/**
 * "How many <category> are there?" from the boxes of a grounding image (`meta.image_objects`), one
 * question per category, checked by the `counting` verifier. A category is skipped when it has a crowd
 * region (COCO `iscrowd`: instances not annotated one by one), a tiny box, two heavily overlapping
 * boxes, or more instances than `maxCount`.
 */
export const countBoxes: GeneratorEntry<CountBoxesOptions> = {
  options: countBoxesOptions,
  generator: {
    name: 'count_boxes',
    version: 1,
    mode: 'rule',
    applies: (sample) => sample.kind === 'grounding' && imageObjectsOf(sample) !== null,
    async generate(sample, ctx) {
      const objects = imageObjectsOf(sample);
      const tasks: GeneratedTask[] = [];
      const skipped: SkipReason[] = [];
      if (!objects) return { tasks, skipped };
      const opts = ctx.options;
      const groups = byCategory(objects);
      for (const category of Object.keys(objects.crowd)) if (!groups.has(category)) groups.set(category, []);
      for (const [category, boxes] of groups) {
        const crowd = objects.crowd[category] ?? 0;
        if (crowd > 0) {
          skipped.push({ reason: 'crowd_region', detail: { category, crowd_regions: crowd, boxes: boxes.length } });
          continue;
        }
        const areas = boxes.map(areaFraction);
        const tiny = areas.filter((a) => a < opts.minArea).length;
        if (tiny > 0) {
          skipped.push({ reason: 'tiny_boxes', detail: { category, tiny, boxes: boxes.length, smallest_area: round(Math.min(...areas)), min_area: opts.minArea } });
          continue;
        }
        let maxIou = 0;
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) maxIou = Math.max(maxIou, boxIou(boxes[i]!, boxes[j]!));
        if (maxIou > opts.maxIoU) {
          skipped.push({ reason: 'overlapping_boxes', detail: { category, boxes: boxes.length, max_iou: round(maxIou), max_iou_allowed: opts.maxIoU } });
          continue;
        }
        if (boxes.length > opts.maxCount) {
          skipped.push({ reason: 'count_too_large', detail: { category, count: boxes.length, max_count: opts.maxCount } });
          continue;
        }
        const question = ctx.templates.render('count', { category_plural: plural(category) }, ctx.rng);
        const count = String(boxes.length);
        tasks.push({
          key: `count:${category}`,
          task: {
            question,
            answer: toGlmBox(count),
            answer_raw: count,
            answer_type: 'numeric',
            choices: [],
            boxes: boxes.map((b) => ({ label: category, x1: b[0], y1: b[1], x2: b[2], y2: b[3] })),
            verifier: 'counting',
            solution: null,
          },
          overrides: { domain: 'counting', meta: derivedMeta(sample, { category, count: boxes.length }) },
        });
      }
      return { tasks, skipped };
    },
  },
};

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
