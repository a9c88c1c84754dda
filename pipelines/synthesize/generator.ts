/**
 * The one seam every synthesis generator implements, rule-based or model-based. The synthesize
 * stage (pipelines/synthesize/stage.ts) offers each input sample to every enabled generator that
 * `applies` to it, gives the generated tasks ids and provenance with `deriveSample`, self-checks each
 * answer with its verifier, and writes one ledger row per input sample.
 */
import type { Sample, Task } from '../../schemas/sample.js';
import { sha256Hex } from '../shared/hash.js';

/** Provenance of a generated sample: the source sample and the generator (with its code version) that made it. */
export interface DerivedFrom {
  sample_id: string;
  generator: string;
  generator_version: number;
}

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
  applies(sample: Sample): boolean;
  generate(sample: Sample, ctx: Ctx): Promise<GeneratorResult>;
}

/** A derived sample's id: a function of the source id, the generator and the task key only, so reruns are idempotent. */
export function derivedSampleId(sourceId: string, generator: string, key: string): string {
  return sha256Hex(`derived\u0000${sourceId}\u0000${generator}\u0000${key}`);
}
