import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { pipelineConfigSchema, type PipelineConfig } from './schema.js';
import { UserError } from '../errors.js';

export class ConfigError extends UserError {
  override name = 'ConfigError';
}

export interface LoadedConfig {
  config: PipelineConfig;
  /** Absolute path of the config file; relative paths in it resolve against its folder. */
  file: string;
  baseDir: string;
  shardsDir: string;
}

export const DEFAULT_CONFIG_FILE = 'pipeline.config.ts';

export async function loadConfig(file = DEFAULT_CONFIG_FILE): Promise<LoadedConfig> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ConfigError(`config file not found: ${abs} (pass --config FILE)`);
  let raw: unknown;
  try {
    const mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
    raw = mod.default;
  } catch (err) {
    throw new ConfigError(`could not load ${abs}: ${(err as Error).message}`);
  }
  if (raw === undefined) throw new ConfigError(`${abs} has no default export; write \`export default defineConfig({...})\``);
  return validateConfig(raw, abs);
}

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
