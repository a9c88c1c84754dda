import { z } from 'zod';
import { qaSourceSchema } from './qa/config.js';
import { groundingSourceSchema } from './grounding/config.js';
import { interleavedSourceSchema } from './interleaved/config.js';
import { guiSourceSchema } from './gui/config.js';
import { videoSourceSchema } from './video/config.js';
import { captionSourceSchema } from './caption/config.js';
import { pdfSourceSchema } from './pdf/config.js';
import { ocrSourceSchema } from './ocr/config.js';

/**
 * Every kind of source a dataset can declare, told apart by `type`. Each adapter folder owns its
 * schema (`<type>/config.ts`); add new ones to this list and to ADAPTERS in adapters.ts.
 */
export const sourceSchema = z.discriminatedUnion('type', [qaSourceSchema, videoSourceSchema, groundingSourceSchema, interleavedSourceSchema, guiSourceSchema, captionSourceSchema, pdfSourceSchema, ocrSourceSchema]);

export type SourceConfig = z.output<typeof sourceSchema>;
export type SourceType = SourceConfig['type'];
