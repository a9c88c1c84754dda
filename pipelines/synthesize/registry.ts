import type { GeneratorEntry } from './generator.js';
import { recaptionEntry, teacherQuestionsEntry } from './model/entries.js';
import { countBoxes } from './rule/count-boxes.js';
import { mcToOpen } from './rule/mc-to-open.js';
import { readText } from './rule/read-text.js';
import { spatialRelations } from './rule/spatial.js';
import { videoOrder } from './rule/video-order.js';

/**
 * Every generator the synthesize stage knows, in the order it runs them on a sample. A new generator
 * is one more entry here (docs/synthesize.md "Adding a generator"); its name is its config key under
 * `synthesize.generators`. Keep generator modules light at the top level: the config loader imports
 * this file to validate option names, and heavy clients belong in `setup`. The model generators
 * (recaption, teacher_questions; model/entries.ts) default to disabled and read `synthesize.models`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const GENERATORS: ReadonlyArray<GeneratorEntry<any, any>> = [countBoxes, spatialRelations, readText, mcToOpen, videoOrder, recaptionEntry, teacherQuestionsEntry];

export function generatorNames(): string[] {
  return GENERATORS.map((g) => g.generator.name);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function generatorEntry(name: string): GeneratorEntry<any, any> | undefined {
  return GENERATORS.find((g) => g.generator.name === name);
}
