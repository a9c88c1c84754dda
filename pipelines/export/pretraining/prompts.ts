import type { SampleKind } from '../../../schemas/sample.js';
import type { PretrainingConfig } from './config.js';

// Apart from config.ts so that writing SFT rows does not load zod and the config schemas.
const DEFAULT_PROMPTS: Record<SampleKind, string> = {
  caption: 'Describe the image.',
  ocr: 'Read all the text in the image.',
  grounding: '{question}',
  gui: '{question}',
  interleaved: '{question}',
  video: '{question}',
  qa: '{question}',
};

/** The SFT prompt template of a sample kind: the config's, else the default. */
export function promptFor(config: PretrainingConfig, sampleKind: SampleKind): string {
  return config.sft.prompts[sampleKind] ?? DEFAULT_PROMPTS[sampleKind];
}
