import type { PipelineConfigInput } from './schema.js';

/** Typed helper for `pipeline.config.ts`: gives editor completion; validation happens when the CLI loads it. */
export function defineConfig(config: PipelineConfigInput): PipelineConfigInput {
  return config;
}
