import { SYNTHESIZE_OUTCOME_COLUMNS } from '../../schemas/synthesize.js';
import { SAMPLE_COLUMNS, SAMPLE_SCHEMA_VERSION, toSampleRow, unratedDifficulty, type ContentPart, type Sample } from '../../schemas/sample.js';
import { RolloutError } from '../difficulty/rollout-client.js';
import { contentHash } from '../ingest/sample-builder.js';
import { sha256Hex } from '../shared/hash.js';
import { log } from '../shared/log.js';
import { mulberry32 } from '../shared/random.js';
import type { StageContext, UnitStage } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import { unitsFromUpstream, type UpstreamUnit } from '../shared/runner/upstream.js';
import { readSamples } from '../shared/store/read-samples.js';
import type { SynthesizeConfig } from './config.js';
import { derivedSampleId, type GeneratedContent, type GeneratedTask, type GeneratorEntry, type SkipReason } from './generator.js';
import { modelSynthesisConfigSchema } from './model/config.js';
import { modelSynthesisResultConfig } from './model/context.js';
import { GENERATORS } from './registry.js';
import { selfCheck } from './self-check.js';
import { Templates } from './templates.js';

/** Bump when the stage's own handling changes what it writes (generators carry their own versions). */
const STAGE_VERSION = 1;


interface ActiveGenerator {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entry: GeneratorEntry<any, any>;
  options: Record<string, unknown>;
  resources: unknown;
}

/** What one worker holds across units: the templates and each enabled generator with its options and resources. */
export interface SynthesizeResources {
  templates: Templates;
  generators: ActiveGenerator[];
}

/** A dataset without a `synthesize` section has nothing to synthesise: `run synthesize` plans no unit for it. */
const NO_SECTION: SynthesizeConfig = { enabled: false, seed: 0, generators: {}, templates: {}, models: modelSynthesisConfigSchema.parse({}) };

function sectionOf(ctx: StageContext): SynthesizeConfig {
  return ctx.config.synthesize ?? NO_SECTION;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function enabledEntries(config: SynthesizeConfig, registry: ReadonlyArray<GeneratorEntry<any, any>> = GENERATORS) {
  return registry.filter((g) => config.enabled && config.generators[g.generator.name]?.enabled);
}

/**
 * A worker's resources: the templates, and each enabled generator with its options and what its
 * `setup` made. Only enabled generators set up: with no model generator configured, nothing
 * model-related loads. (`registry` is a parameter for tests.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function setupGenerators(ctx: StageContext, section: SynthesizeConfig, registry: ReadonlyArray<GeneratorEntry<any, any>> = GENERATORS): Promise<SynthesizeResources> {
  const templates = Templates.load(section.templates);
  const generators: ActiveGenerator[] = [];
  try {
    for (const entry of enabledEntries(section, registry)) {
      const options = section.generators[entry.generator.name] as Record<string, unknown>;
      generators.push({ entry, options, resources: entry.setup ? await entry.setup(ctx, options) : undefined });
    }
  } catch (err) {
    await teardownGenerators({ templates, generators });
    throw err;
  }
  return { templates, generators };
}

export async function teardownGenerators(res: SynthesizeResources): Promise<void> {
  for (const g of res.generators) if (g.entry.teardown) await g.entry.teardown(g.resources);
}

/**
 * Synthesize: every input sample passes through unchanged; each enabled generator that applies to it
 * may add new verifiable samples (`derived_from` names the source and the generator). Every generated
 * answer must pass its own verifier and be unique within its source, or it is a skip with a reason.
 * One ledger row per input (what each generator made or why not); the details per generated task and
 * per skip are in the `outcomes` output (`synthesize_outcomes` in `pnpm pipeline sql`). See docs/synthesize.md.
 */
export const synthesizeStage: UnitStage<UpstreamUnit, SynthesizeResources> = {
  name: 'synthesize',
  // The generators' versions fold in: bumping any of them recomputes committed units.
  version: STAGE_VERSION * 1000 + GENERATORS.reduce((n, g) => n + g.generator.version, 0),
  input: 'ingest',
  config: (ctx) => {
    const { models, ...section } = sectionOf(ctx);
    const enabled = enabledEntries(sectionOf(ctx));
    // The model settings enter the hash only when a model generator runs, and then only what changes
    // their output (endpoint names and models, sampling, template content; no keys, no concurrency).
    const model = enabled.some((g) => g.generator.mode === 'model') ? { models: modelSynthesisResultConfig(models, ctx.baseDir) } : {};
    return { ...section, ...model, versions: Object.fromEntries(enabled.map((g) => [g.generator.name, g.generator.version])), schema: SAMPLE_SCHEMA_VERSION };
  },
  outputs: {
    data: { columns: SAMPLE_COLUMNS, subdir: '' },
    outcomes: { columns: SYNTHESIZE_OUTCOME_COLUMNS, subdir: '_outcomes' },
  },
  unitConcurrency: 2,
  async plan(ctx, plan) {
    if (!ctx.config.synthesize?.enabled) {
      process.stderr.write(`note: dataset ${ctx.dataset} has no enabled synthesize section; nothing to synthesise (add \`synthesize: {}\` to run the rule generators)\n`);
      return [];
    }
    return unitsFromUpstream(ctx, plan);
  },

  async beforeRun(ctx, pending) {
    if (pending === 0) return;
    const section = sectionOf(ctx);
    for (const entry of enabledEntries(section)) await entry.beforeRun?.(ctx, section.generators[entry.generator.name]);
  },

  setup: (ctx) => setupGenerators(ctx, sectionOf(ctx)),
  teardown: teardownGenerators,

  async process(unit, ctx, sink, res) {
    const samples = await readSamples(ctx.conn, unit.payload.files);
    sink.inputs(samples.length);
    const seed = sectionOf(ctx).seed;
    for (const sample of samples) await synthesizeFrom(sample, ctx, sink, res, seed);
  },
};

interface Outcome {
  generator: string;
  version: number;
  made: number;
  skipped: SkipReason[];
}

export async function synthesizeFrom(sample: Sample, ctx: StageContext, sink: UnitSink, res: SynthesizeResources, seed: number): Promise<void> {
  const ref = { sample_id: sample.id, source_uri: sample.source.uri, locator: sample.source.locator };
  const derived: Sample[] = [];
  const outcomes: Outcome[] = [];
  const questions = new Set<string>();
  const ids = new Set<string>();
  for (const active of res.generators) {
    const { generator } = active.entry;
    if (sample.derived_from) continue;
    const outcome: Outcome = { generator: generator.name, version: generator.version, made: 0, skipped: [] };
    let tasks: GeneratedTask[] = [];
    let contents: GeneratedContent[] = [];
    let stream: (() => number) | null = null; // seeded on first draw: most generators do not apply to most samples
    const gctx = {
      stage: ctx,
      seed,
      rng: () => (stream ??= mulberry32(streamSeed(seed, sample.id, generator.name)))(),
      templates: res.templates,
      options: active.options,
      resources: active.resources,
    };
    try {
      if (!generator.applies(sample, gctx)) continue;
      outcomes.push(outcome);
      const result = await generator.generate(sample, gctx);
      tasks = result.tasks;
      contents = result.derived ?? [];
      outcome.skipped.push(...result.skipped);
    } catch (err) {
      // An endpoint still failing after its retries, or a stop: the unit fails and a rerun resumes from the journal.
      if ((err instanceof RolloutError && err.retryable) || ctx.signal?.aborted) throw err;
      if (!outcomes.includes(outcome)) outcomes.push(outcome);
      log.warn({ generator: generator.name, sample: sample.id, error: (err as Error).message }, 'generator failed on a sample');
      outcome.skipped.push({ reason: 'generator_error', detail: { message: String((err as Error).message).slice(0, 500) } });
    }
    for (const t of tasks) {
      const made = deriveSample(sample, generator.name, generator.version, t);
      const check = await selfCheck(t.task);
      if (!check.ok) {
        outcome.skipped.push({ reason: 'self_check_failed', detail: { key: t.key, verifier: t.task.verifier, score: check.score, verifier_reason: check.reason } });
        continue;
      }
      const options = t.task.choices.map((c) => c.trim().toLowerCase());
      if (new Set(options).size !== options.length) {
        outcome.skipped.push({ reason: 'duplicate_options', detail: { key: t.key, choices: t.task.choices } });
        continue;
      }
      const question = questionKey(made);
      if (ids.has(made.id) || questions.has(question)) {
        outcome.skipped.push({ reason: 'duplicate_question', detail: { key: t.key, question: t.task.question.slice(0, 200) } });
        continue;
      }
      ids.add(made.id);
      questions.add(question);
      derived.push(made);
      outcome.made++;
      sink.emit('outcomes', { source_id: sample.id, generator: generator.name, generator_version: generator.version, outcome: 'generated', reason: 'ok', derived_id: made.id, details: JSON.stringify({ key: t.key }) });
    }
    // Derived samples without a task (a recaption): ids and provenance like tasks, nothing to self-check.
    for (const c of contents) {
      const made = deriveContent(sample, generator.name, generator.version, c);
      if (ids.has(made.id)) {
        outcome.skipped.push({ reason: 'duplicate_question', detail: { key: c.key } });
        continue;
      }
      ids.add(made.id);
      derived.push(made);
      outcome.made++;
      sink.emit('outcomes', { source_id: sample.id, generator: generator.name, generator_version: generator.version, outcome: 'generated', reason: 'ok', derived_id: made.id, details: JSON.stringify({ key: c.key }) });
    }
    for (const s of outcome.skipped) {
      sink.emit('outcomes', { source_id: sample.id, generator: generator.name, generator_version: generator.version, outcome: 'skipped', reason: s.reason, derived_id: null, details: JSON.stringify(s.detail) });
    }
  }
  const total = derived.length;
  const reason = outcomes.length === 0 ? 'no_generator_applies' : total > 0 ? 'synthesized' : 'nothing_synthesized';
  // Derived rows go first: where one duplicates its source's text (an open form of a multiple-choice
  // question), the filter's first-kept rule keeps the derived form and drops the source naming it.
  for (const d of derived) sink.emit('data', toSampleRow(d));
  sink.keep(ref, toSampleRow(sample), reason, ledgerDetails(outcomes));
}

/** Per generator: how many tasks it made and its skips counted by reason (the numbers are in `outcomes`). */
function ledgerDetails(outcomes: Outcome[]): object {
  const details: Record<string, { made: number; skipped: Record<string, number> }> = {};
  for (const o of outcomes) {
    const skipped: Record<string, number> = {};
    for (const s of o.skipped) skipped[s.reason] = (skipped[s.reason] ?? 0) + 1;
    details[o.generator] = { made: o.made, skipped };
  }
  return details;
}

/** A generator's random stream for one sample: independent of the order samples and generators run in. */
function streamSeed(seed: number, sampleId: string, generator: string): number {
  return parseInt(sha256Hex(`${seed}\u0000${sampleId}\u0000${generator}`).slice(0, 8), 16);
}

/** Two tasks of one source are the same question when they show the same media with the same text. */
function questionKey(sample: Sample): string {
  return JSON.stringify(sample.content.map((p) => (p.type === 'text' ? p.text.replace(/\s+/g, ' ').trim().toLowerCase() : p.media_id)).concat(sample.task?.choices ?? []));
}

/** The derived sample: the source's identity and media with the generated task, and `derived_from` set. */
export function deriveSample(source: Sample, generator: string, version: number, t: GeneratedTask): Sample {
  const o = t.overrides ?? {};
  const content: ContentPart[] = o.content ?? [...source.content.filter((p) => p.type !== 'text'), { type: 'text', text: t.task.question, media_id: null }];
  const shown = new Set(content.filter((p) => p.type !== 'text').map((p) => p.media_id));
  return {
    id: derivedSampleId(source.id, generator, t.key),
    schema_version: SAMPLE_SCHEMA_VERSION,
    dataset: source.dataset,
    source: { ...source.source, locator: `${source.source.locator}#${generator}:${t.key}` },
    kind: o.kind ?? source.kind,
    domain: o.domain ?? source.domain,
    license: source.license,
    lang: source.lang,
    content,
    media: o.media ?? source.media.filter((m) => shown.has(m.id)),
    task: t.task,
    signals: { content_hash: contentHash(content, t.task), extra: '{}', quality: null, dedup: null, embedding: null },
    // A pass rate the generator measured (the teacher_questions solver's k/n) seeds the tier.
    difficulty: o.difficulty ?? unratedDifficulty(),
    meta: o.meta ?? source.meta,
    derived_from: { sample_id: source.id, generator, generator_version: version },
  };
}

/** A derived sample without a task (a recaption): the source's identity, the generator's content, `derived_from` set. */
export function deriveContent(source: Sample, generator: string, version: number, c: GeneratedContent): Sample {
  const o = c.overrides;
  const content = o.content ?? source.content;
  const shown = new Set(content.filter((p) => p.type !== 'text').map((p) => p.media_id));
  return {
    ...source,
    id: derivedSampleId(source.id, generator, c.key),
    schema_version: SAMPLE_SCHEMA_VERSION,
    source: { ...source.source, locator: `${source.source.locator}#${generator}:${c.key}` },
    kind: o.kind ?? source.kind,
    domain: o.domain ?? source.domain,
    content,
    media: o.media ?? source.media.filter((m) => shown.has(m.id)),
    task: null,
    signals: { content_hash: contentHash(content, null), extra: '{}', quality: null, dedup: null, embedding: null },
    difficulty: unratedDifficulty(),
    meta: o.meta ?? source.meta,
    derived_from: { sample_id: source.id, generator, generator_version: version },
  };
}
