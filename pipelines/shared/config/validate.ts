import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type LoadedConfig } from './load.js';
import { pipelineConfigSchema } from './schema.js';

/** Validates a config value (the default export of pipeline.config.ts) and fills in every default. */
export function validateConfig(raw: unknown, file: string): LoadedConfig {
  const parsed = pipelineConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid config ${file}:\n${formatIssues(parsed.error)}`);
  const baseDir = dirname(file);
  return { config: parsed.data, file, baseDir, shardsDir: resolve(baseDir, parsed.data.shardsDir) };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return `  - ${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}
