import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../shared/config/load.js';

/** Every template a rule generator uses, with the placeholders each phrasing must contain (prompts/synthesize/<name>.txt). */
export const TEMPLATE_PLACEHOLDERS = {
  count: ['category_plural'],
  spatial_position: ['a', 'b'],
  spatial_left: ['a', 'b'],
  spatial_right: ['a', 'b'],
  spatial_above: ['a', 'b'],
  spatial_below: ['a', 'b'],
  larger_choice: ['a', 'b'],
  larger_yesno: ['a', 'b'],
  read_region: ['box'],
  mc_open: ['question'],
  video_earliest: [],
  video_latest: [],
} as const satisfies Record<string, readonly string[]>;

export type TemplateName = keyof typeof TEMPLATE_PLACEHOLDERS;
export const TEMPLATE_NAMES = Object.keys(TEMPLATE_PLACEHOLDERS) as TemplateName[];

const PROMPT_DIR = new URL('../../prompts/synthesize/', import.meta.url);

/** The phrasings of every template, checked; a generator picks one with its seeded stream. */
export class Templates {
  private constructor(private readonly phrasings: Record<TemplateName, string[]>) {}

  /** The bundled files, with the config's overrides (`synthesize.templates`) in their place. */
  static load(overrides: Partial<Record<string, string[]>> = {}): Templates {
    const phrasings = {} as Record<TemplateName, string[]>;
    for (const name of TEMPLATE_NAMES) {
      const override = overrides[name];
      if (override) {
        phrasings[name] = override;
        continue;
      }
      const file = new URL(`${name}.txt`, PROMPT_DIR);
      if (!existsSync(file)) throw new ConfigError(`template file prompts/synthesize/${name}.txt is missing`);
      phrasings[name] = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    }
    for (const name of TEMPLATE_NAMES) {
      const problem = templateProblem(name, phrasings[name]);
      if (problem) throw new ConfigError(problem);
    }
    return new Templates(phrasings);
  }

  /** One phrasing, chosen by `rng`, with its placeholders filled. */
  render(name: TemplateName, values: Record<string, string>, rng: () => number): string {
    const list = this.phrasings[name];
    const phrasing = list[Math.floor(rng() * list.length)] as string;
    return phrasing.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => values[key] ?? '');
  }

  /** The phrasings as loaded (they enter the stage's config hash through the config). */
  get all(): Readonly<Record<TemplateName, string[]>> {
    return this.phrasings;
  }
}

/** Why a list of phrasings cannot be used for a template, or null. Used for config overrides at load time too. */
export function templateProblem(name: string, phrasings: readonly string[]): string | null {
  if (!(name in TEMPLATE_PLACEHOLDERS)) return `unknown template "${name}" (templates: ${TEMPLATE_NAMES.join(', ')})`;
  if (phrasings.length === 0) return `template ${name} has no phrasing`;
  const want = [...TEMPLATE_PLACEHOLDERS[name as TemplateName]].sort();
  for (const p of phrasings) {
    const got = [...new Set([...p.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] as string))].sort();
    if (got.join(',') !== want.join(',')) {
      return `template ${name}: phrasing "${p}" uses placeholders {${got.join(', ')}} but must use exactly {${want.join(', ')}}`;
    }
  }
  return null;
}
