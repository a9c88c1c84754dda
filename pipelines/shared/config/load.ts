import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PipelineConfig } from './schema.js';
import { readConfigMemo, writeConfigMemo } from './memo.js';
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

/**
 * Imports and validates a config file. The validated config is remembered (config/memo.ts): when the
 * file exports the same value and the schema's code is unchanged, validation, zod and every section's
 * schema module are not loaded at all, which is most of a re-run's start-up when nothing changed.
 */
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
  const remembered = readConfigMemo(abs, raw);
  if (remembered) {
    const baseDir = dirname(abs);
    return { config: remembered, file: abs, baseDir, shardsDir: resolve(baseDir, remembered.shardsDir) };
  }
  const { validateConfig } = await import('./validate.js');
  const loaded = validateConfig(raw, abs);
  await writeConfigMemo(abs, raw, loaded.config);
  return loaded;
}
