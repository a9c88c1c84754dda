import type { SampleKind } from '../../schemas/sample.js';

export type ImagePolicy = 'drop_sample' | 'drop_image' | 'keep';

/** What a duplicate image does to its sample when the config names no policy for the kind. */
export const DEFAULT_IMAGE_POLICY: Record<SampleKind, ImagePolicy> = {
  caption: 'drop_sample',
  interleaved: 'drop_image',
  ocr: 'drop_image',
  video: 'drop_image',
  // A question or box task on a repeated image is still a different task: text dedup handles true repeats.
  qa: 'keep',
  grounding: 'keep',
  gui: 'keep',
};

/** The image policies in force: the defaults with the config's `nearImage.policy` over them. */
export function imagePolicies(overrides: Partial<Record<SampleKind, ImagePolicy>>): Record<SampleKind, ImagePolicy> {
  return { ...DEFAULT_IMAGE_POLICY, ...overrides };
}
