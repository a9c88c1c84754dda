/**
 * Prompt templates of the model-based generators: `prompts/synthesize/<name>.md`, or a file the
 * dataset config names instead. Placeholders are `{{name}}`; values are substituted in one pass,
 * so a value that itself contains `{{...}}` is left as it is.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../shared/config/load.js';
import { sha256Hex } from '../../shared/hash.js';

const PROMPT_DIR = fileURLToPath(new URL('../../../prompts/synthesize/', import.meta.url));

export interface PromptTemplate {
  name: string;
  /** Where it was read from. */
  path: string;
  text: string;
  /** Short hash of the text: enters the journal key, so an edited prompt is asked afresh. */
  hash: string;
}

/** Reads a template and checks it has every placeholder the generator fills. */
export async function loadTemplate(name: string, override: string | undefined, baseDir: string, placeholders: readonly string[]): Promise<PromptTemplate> {
  const path = templatePath(name, override, baseDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`prompt template ${name}: cannot read ${path} (${(err as Error).message})`);
  }
  const missing = placeholders.filter((p) => !text.includes(`{{${p}}}`));
  if (missing.length > 0) {
    throw new ConfigError(`prompt template ${path} lacks the placeholder(s) ${missing.map((p) => `{{${p}}}`).join(', ')} that generator ${name} fills (prompts/synthesize/README.md)`);
  }
  return { name, path, text, hash: sha256Hex(text).slice(0, 16) };
}

export function templatePath(name: string, override: string | undefined, baseDir: string): string {
  return override === undefined ? resolve(PROMPT_DIR, `${name}.md`) : isAbsolute(override) ? override : resolve(baseDir, override);
}

/** The template's hash as `loadTemplate` computes it, read synchronously (for a stage's config hash); null when unreadable. */
export function templateHash(name: string, override: string | undefined, baseDir: string): string | null {
  try {
    return sha256Hex(readFileSync(templatePath(name, override, baseDir), 'utf8')).slice(0, 16);
  } catch {
    return null;
  }
}

export function fillTemplate(template: PromptTemplate, values: Record<string, string>): string {
  return template.text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}
