import { unratedDifficulty, type Sample, type Task } from '../../schemas/sample.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import type { StageContext } from '../../pipelines/shared/runner/stage.js';
import type { GeneratorContext, GeneratorEntry } from '../../pipelines/synthesize/generator.js';
import { Templates } from '../../pipelines/synthesize/templates.js';

let templates: Templates | null = null;

/** A generator's context outside the stage: bundled templates, default options (with overrides), a seeded stream. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function contextFor<O>(entry: GeneratorEntry<O, any>, seed: number, options: Partial<O> = {}): GeneratorContext<O, undefined> {
  templates ??= Templates.load();
  return { stage: {} as StageContext, seed, rng: mulberry32(seed), templates, options: { ...(entry.options.parse({}) as O), ...options }, resources: undefined };
}

/** A canonical sample with only what the generators read. */
export function sampleWith(parts: Partial<Sample> & { task?: Task | null }): Sample {
  return {
    id: 'f'.repeat(64),
    schema_version: 3,
    dataset: 'd',
    source: { name: 's', uri: 'x.json', locator: 'image:1' },
    kind: 'grounding',
    domain: 'grounding',
    license: null,
    lang: 'en',
    content: [{ type: 'image', text: null, media_id: 'a'.repeat(64) }],
    media: [{ id: 'a'.repeat(64), mime: 'image/png', width: 640, height: 480, bytes: 1, duration: null, frames: null, phash: null, dhash: null }],
    task: null,
    signals: { content_hash: 'h', extra: '{}', quality: null, dedup: null, embedding: null },
    difficulty: unratedDifficulty(),
    meta: '{}',
    derived_from: null,
    ...parts,
  };
}
