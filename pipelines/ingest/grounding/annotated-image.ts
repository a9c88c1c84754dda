import { statSync } from 'node:fs';
import type { Box, MediaDescriptor, Task } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { InputRef, UnitSink } from '../../shared/runner/unit-sink.js';
import { RecordError } from '../record-error.js';
import { buildSample, imagePart, storeImage, textPart } from '../sample-builder.js';
import { boxesAnswer, normaliseBox, type PixelBox } from './boxes.js';
import type { GroundingSourceConfig } from './config.js';
import { referringExpressions, type Referent } from './referring.js';

/** One box of an image as the source gives it, before validation. */
export interface RawAnnotation {
  id: string;
  /** null when the source's category id has no name. */
  category: string | null;
  categoryId: string;
  /** COCO `iscrowd`: a region covering many objects, not one instance. */
  crowd: boolean;
  /** In pixels (`frame: 'pixels'`) or as fractions of the image side (`frame: 'unit'`, YOLO). */
  box: PixelBox;
  /** Where the annotation is, for its own ledger row (e.g. `image:139/ann:2001`, `line:3`). */
  locator: string;
  raw: string;
  /** Set when the annotation itself cannot be read (malformed JSON, wrong field types). */
  invalid?: { reason: string; message: string };
}

/** An image with its annotations, whichever format they came from. */
export interface AnnotatedImage {
  /** Stable image key within the source (COCO image id, YOLO file stem). */
  key: string;
  file: string;
  /** source_uri for the ledger and the sample (relative to the config folder). */
  uri: string;
  locator: string;
  /** Size the annotations were made on (COCO `width`/`height`), checked against the decoded image. */
  declaredSize: { width: number; height: number } | null;
  frame: 'pixels' | 'unit';
  annotations: RawAnnotation[];
  captions: string[];
  /** Source fields worth keeping (COCO license, flickr URL, ...). */
  meta: Record<string, unknown>;
}

interface UsableBox {
  annotation: RawAnnotation;
  category: string;
  box: Omit<Box, 'label'>;
  clipped: boolean;
}

interface TaskCandidate {
  key: string;
  question: string;
  boxes: Box[];
  meta: Record<string, unknown>;
}

/**
 * Gives one image and its annotations their decisions: the image is one input until it loads (a
 * missing, corrupt or wrongly sized image is quarantined as a whole); then each unusable annotation
 * is an input quarantined (or, for crowd regions, dropped) on its own, and each task derived from
 * the usable boxes is an input kept as a sample; an image with fewer than `minBoxes` usable boxes
 * is one input dropped as `too_few_boxes`.
 */
export async function processAnnotatedImage(source: GroundingSourceConfig, image: AnnotatedImage, ctx: StageContext, sink: UnitSink): Promise<void> {
  const imageRef: InputRef = { sample_id: null, source_uri: image.uri, locator: image.locator };
  let media: MediaDescriptor;
  try {
    if (!isFile(image.file)) throw new RecordError('missing_image', `image file not found: ${image.file}`);
    media = await storeImage(ctx, image.file, ctx.baseDir);
    const { declaredSize } = image;
    if (declaredSize && (declaredSize.width !== media.width || declaredSize.height !== media.height)) {
      throw new RecordError(
        'image_size_mismatch',
        `the annotations were made on a ${declaredSize.width}×${declaredSize.height} image but ${image.file} is ${media.width}×${media.height}; fix the width/height in the annotation file or use the original image`,
      );
    }
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    sink.inputs(1);
    sink.quarantine(imageRef, err.reason, { message: err.message, image: image.file, annotations: image.annotations.length });
    return;
  }

  const [width, height] = image.frame === 'unit' ? [1, 1] : [media.width ?? 0, media.height ?? 0];
  const usable: UsableBox[] = [];
  const crowdCategories = new Set<string>();
  for (const annotation of image.annotations) {
    const ref: InputRef = { sample_id: null, source_uri: image.uri, locator: annotation.locator };
    if (annotation.invalid) {
      sink.inputs(1);
      sink.quarantine(ref, annotation.invalid.reason, { message: annotation.invalid.message, raw: annotation.raw });
      continue;
    }
    if (annotation.category === null) {
      sink.inputs(1);
      sink.quarantine(ref, 'unknown_category', { message: `category id ${annotation.categoryId} is not in the category list; add it to the classes/categories`, raw: annotation.raw });
      continue;
    }
    if (annotation.crowd) {
      crowdCategories.add(annotation.category);
      sink.inputs(1);
      sink.drop(ref, 'crowd_region', { message: `a crowd region of ${annotation.category}, not one instance; no "every ${annotation.category}" task for this image`, raw: annotation.raw });
      continue;
    }
    const normalised = normaliseBox(annotation.box, width, height);
    if (!normalised.ok) {
      sink.inputs(1);
      sink.quarantine(ref, normalised.reason, { message: normalised.message, raw: annotation.raw });
      continue;
    }
    usable.push({ annotation, category: annotation.category, box: normalised.box, clipped: normalised.clipped });
  }

  if (usable.length < source.minBoxes) {
    sink.inputs(1);
    sink.drop(imageRef, 'too_few_boxes', { message: `${usable.length} usable box(es), minBoxes is ${source.minBoxes}`, annotations: image.annotations.length });
    return;
  }

  const candidates = [
    ...(source.tasks.includes('category') ? categoryTasks(usable, crowdCategories) : []),
    ...(source.tasks.includes('referring') ? referringTasks(usable, image.captions) : []),
  ];
  sink.inputs(candidates.length);
  const clippedBoxes = usable.filter((u) => u.clipped).length;
  const objects = imageObjects(usable, image.annotations);
  for (const [i, candidate] of candidates.entries()) {
    const task: Task = {
      question: candidate.question,
      answer: boxesAnswer(candidate.boxes),
      answer_raw: JSON.stringify(candidate.boxes.map((b) => [b.x1, b.y1, b.x2, b.y2])),
      answer_type: 'boxes',
      choices: [],
      boxes: candidate.boxes,
      verifier: 'grounding',
      solution: null,
    };
    const locator = `${image.locator}/${candidate.key}`;
    const sample = buildSample(ctx, {
      source,
      uri: image.uri,
      locator,
      recordId: `${image.key}/${candidate.key}`,
      kind: 'grounding',
      domain: source.domain,
      content: [imagePart(media), textPart(candidate.question)],
      media: [media],
      task,
      signals: { boxes_in_image: usable.length, clipped_boxes_in_image: clippedBoxes },
      // The first task of an image carries every object of it, once, for the synthesize stage (counting, spatial relations).
      meta: { image: image.key, ...image.meta, ...candidate.meta, ...(i === 0 ? { image_objects: objects } : {}) },
    });
    sink.keep({ sample_id: sample.id, source_uri: image.uri, locator }, { ...sample, tier: sample.difficulty.tier });
  }
}

/** Every usable box of an image (0–999) and the crowd regions per category: what counting and spatial questions need. */
export interface ImageObjects {
  boxes: Array<{ category: string; box: [number, number, number, number] }>;
  /** COCO `iscrowd` regions per category: such a category has no countable set of instances. */
  crowd: Record<string, number>;
}

function imageObjects(usable: readonly UsableBox[], annotations: readonly RawAnnotation[]): ImageObjects {
  const crowd: Record<string, number> = {};
  for (const a of annotations) if (a.crowd && a.category !== null && !a.invalid) crowd[a.category] = (crowd[a.category] ?? 0) + 1;
  return { boxes: sortBoxes(usable).map((u) => ({ category: u.category, box: [u.box.x1, u.box.y1, u.box.x2, u.box.y2] })), crowd };
}

function categoryTasks(usable: readonly UsableBox[], crowdCategories: ReadonlySet<string>): TaskCandidate[] {
  const byCategory = new Map<string, UsableBox[]>();
  for (const u of usable) byCategory.set(u.category, [...(byCategory.get(u.category) ?? []), u]);
  return [...byCategory]
    .filter(([category]) => !crowdCategories.has(category))
    .map(([category, group]) => ({
      key: `every:${category}`,
      question: `Locate every ${category} in the image.`,
      boxes: sortBoxes(group).map((u) => ({ label: category, ...u.box })),
      meta: { task: 'category', category, annotations: group.map((u) => u.annotation.id), clipped: group.filter((u) => u.clipped).map((u) => u.annotation.id) },
    }));
}

function referringTasks(usable: readonly UsableBox[], captions: readonly string[]): TaskCandidate[] {
  const byId = new Map(usable.map((u) => [u.annotation.id, u]));
  const referents: Referent[] = usable.map((u) => ({ id: u.annotation.id, category: u.category, box: u.box }));
  return referringExpressions(referents, captions).map((r) => {
    const u = byId.get(r.id) as UsableBox;
    return {
      key: `ref:${r.id}`,
      question: `Locate ${r.expression} in the image.`,
      boxes: [{ label: r.expression, ...u.box }],
      meta: { task: 'referring', category: u.category, expression: r.expression, expression_from: r.from, caption: r.caption ?? null, annotations: [r.id], clipped: u.clipped ? [r.id] : [] },
    };
  });
}

/** Reading order (top to bottom, then left to right), so equal box sets give equal answers. */
function sortBoxes(group: readonly UsableBox[]): UsableBox[] {
  return [...group].sort((a, b) => a.box.y1 - b.box.y1 || a.box.x1 - b.box.x1 || a.box.x2 - b.box.x2 || a.box.y2 - b.box.y2);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
