import type { SourceAdapter } from '../adapter.js';
import { planCoco, processCoco } from './coco.js';
import type { GroundingSourceConfig } from './config.js';
import { planYolo, processYolo } from './yolo.js';

/**
 * Boxes with labels (COCO instances JSON, YOLO labels) → GLM grounding tasks on the 0–999 scale:
 * "Locate every <category>" with all its boxes, and referring expressions with one box each.
 */
export const groundingAdapter: SourceAdapter<GroundingSourceConfig> = {
  type: 'grounding',
  version: 2,
  plan: (source, ctx) => (source.format === 'coco' ? planCoco(source, ctx) : planYolo(source, ctx)),
  process: (source, unit, ctx, sink) => (source.format === 'coco' ? processCoco(source, unit, ctx, sink) : processYolo(source, unit, ctx, sink)),
};
