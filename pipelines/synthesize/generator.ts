/**
 * The one seam every synthesis generator implements, rule-based or model-based. The synthesize
 * stage (pipelines/synthesize/stage.ts) offers each input sample to every enabled generator that
 * `applies` to it, gives the generated tasks ids and provenance with `deriveSample`, self-checks each
 * answer with its verifier, and writes one ledger row per input sample.
 */
import type { DerivedFrom, Sample, Task } from '../../schemas/sample.js';
import { sha256Hex } from '../shared/hash.js';
import type { StageContext } from '../shared/runner/stage.js';
import type { Templates } from './templates.js';

/** Provenance of a generated sample (defined with the Sample in schemas/sample.ts, column `derived_from`). */
export type { DerivedFrom };

/** One task a generator made from a source sample; `key` tells apart several tasks from one source, stably across runs. */
export interface GeneratedTask {
  key: string;
  task: Task;
  /** Overrides for the derived sample (content when the question text replaces the source's text, domain, kind, meta). */
  overrides?: Partial<Pick<Sample, 'content' | 'kind' | 'domain' | 'meta' | 'media' | 'difficulty'>>; // difficulty: a pass rate the generator measured (a solver's) seeds the tier
}

/**
 * A derived sample that carries no verifiable task (a model's rewrite of a caption): it gets an id
 * and `derived_from` like a task, and no self-check (there is no answer to verify).
 */
export interface GeneratedContent {
  key: string;
  overrides: Partial<Pick<Sample, 'content' | 'kind' | 'domain' | 'meta' | 'media'>>;
}

/** Why a generator made nothing (or less) from a sample: a specific reason and the numbers behind it. */
export interface SkipReason {
  reason: string;
  detail: Record<string, unknown>;
}

export interface GeneratorResult {
  tasks: GeneratedTask[];
  /** Derived samples without a task (see GeneratedContent); absent when the generator makes none. */
  derived?: GeneratedContent[];
  skipped: SkipReason[];
}

export interface Generator<Ctx = unknown> {
  /** Stable name, e.g. `count_boxes`; enters derived ids and `derived_from.generator`. */
  name: string;
  /** Bump on any change to what the generator emits; enters the stage's config hash. */
  version: number;
  /** `rule` generators need nothing; `model` generators need an endpoint and say so plainly without one. */
  mode: 'rule' | 'model';
  /** Whether the generator has anything to offer for the sample; the stage passes the generator's context (model generators read their configured kinds and sources from it). */
  applies(sample: Sample, ctx?: Ctx): boolean;
  generate(sample: Sample, ctx: Ctx): Promise<GeneratorResult>;
}

/** A derived sample's id: a function of the source id, the generator and the task key only, so reruns are idempotent. */
export function derivedSampleId(sourceId: string, generator: string, key: string): string {
  return sha256Hex(`derived\u0000${sourceId}\u0000${generator}\u0000${key}`);
}

/**
 * What the synthesize stage hands every generator (the `Ctx` of `Generator<Ctx>`): the stage context,
 * a random stream seeded by (config seed, source sample id, generator name) so output does not depend
 * on the order samples are processed in, the question templates, this generator's options from the
 * config, and the per-worker resources its `setup` made (model clients; undefined for rule generators).
 */
export interface GeneratorContext<Options = unknown, Resources = undefined> {
  stage: StageContext;
  seed: number;
  rng: () => number;
  templates: Templates;
  options: Options;
  resources: Resources;
}

/**
 * A generator as the stage's registry knows it: the generator, the zod schema of its options (its
 * `synthesize.generators.<name>` config section; defaults fill a missing section) and, for generators
 * that hold something per worker (model clients, journals), `setup`/`teardown`. The stage calls
 * `setup` only for enabled generators, so with no model generator configured nothing model-related loads.
 */
export interface GeneratorEntry<Options = unknown, Resources = undefined> {
  generator: Generator<GeneratorContext<Options, Resources>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  options: import('zod').ZodType<Options, any>;
  setup?(ctx: StageContext, options: Options): Promise<Resources>;
  teardown?(resources: Resources): Promise<void>;
  /** Runs once per stage run before any unit when the generator is enabled, e.g. to say plainly that no endpoint is configured. */
  beforeRun?(ctx: StageContext, options: Options): Promise<void>;
}
