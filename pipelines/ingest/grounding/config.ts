import { z } from 'zod';
import { sourceName } from '../qa/config.js';

export const GROUNDING_TASKS = [
  'category', // "Locate every <category> in the image." → all boxes of that category
  'referring', // "Locate <referring expression> in the image." → one box
] as const;

const common = {
  name: sourceName,
  type: z.literal('grounding'),
  /** Images with fewer usable boxes are dropped (`too_few_boxes`); the GLM report keeps images with ≥ 2. */
  minBoxes: z.number().int().min(1).default(1),
  tasks: z.array(z.enum(GROUNDING_TASKS)).min(1).default(['category', 'referring']),
  /** Images per work unit; default: the dataset's `ingest.unitRows`. */
  imagesPerUnit: z.number().int().positive().optional(),
  domain: z.string().default('grounding'),
  license: z.string().optional(),
  lang: z.string().optional(),
};

/** COCO `instances_*.json` (+ `captions_*.json`): `path` is the instances file, a folder or a glob. */
export const cocoGroundingSchema = z
  .object({
    ...common,
    format: z.literal('coco'),
    path: z.string().min(1),
    /** Folder of the images named by `file_name`; default `<json folder>/../<split>` (COCO layout) when it exists, else the json's folder. */
    imageRoot: z.string().optional(),
    /** Captions file used for referring expressions; default: `captions_<split>.json` beside the instances file when present; `false` for none. */
    captions: z.union([z.string().min(1), z.literal(false)]).optional(),
  })
  .strict();

/** YOLO detection (or segmentation) labels: `path` is the dataset root with `images/` and `labels/`. */
export const yoloGroundingSchema = z
  .object({
    ...common,
    format: z.literal('yolo'),
    path: z.string().min(1),
    imagesDir: z.string().default('images'),
    labelsDir: z.string().default('labels'),
    /** Class names by id: a list, or a path to a data.yaml (`names:`) or classes.txt; default: the root's *.yaml with `names:`, else classes.txt. */
    classes: z.union([z.array(z.string().min(1)).min(1), z.string().min(1)]).optional(),
  })
  .strict();

export const groundingSourceSchema = z.discriminatedUnion('format', [cocoGroundingSchema, yoloGroundingSchema]);

export type GroundingSourceConfig = z.output<typeof groundingSourceSchema>;
export type CocoGroundingConfig = z.output<typeof cocoGroundingSchema>;
export type YoloGroundingConfig = z.output<typeof yoloGroundingSchema>;
export type GroundingTaskKind = (typeof GROUNDING_TASKS)[number];
