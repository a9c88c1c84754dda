/**
 * What the model-based generators hold per worker: one client per configured endpoint (the
 * difficulty stage's RolloutClient), the request journal (the difficulty stage's RolloutJournal, in
 * `synthesize/_journal/`), the prompt templates and the tier thresholds.
 *
 * Journal keys. The rollout journal keys a sequence by (sample id, endpoint, params hash, prompt
 * hash). Here the sample id is always the source sample, so one file holds everything asked about
 * it and is read once per generator call; the params hash covers the role (recaption / teacher /
 * solver), the model and the sampling params; the prompt hash covers the filled prompt text (for
 * the solver: the question) and the media ids. So the roles and questions never share a sequence,
 * an edited template or question is asked afresh, and the same request after a crash or on a rerun
 * is replayed from the journal instead of paid for again.
 */
import { journalEntry, RolloutJournal, sequenceFor, sequenceKey, type JournalledRollout } from '../../difficulty/journal.js';
import { clientForEndpoint, RolloutClient, type ChatMessage, type SamplingParams } from '../../difficulty/rollout-client.js';
import { RolloutSequence } from '../../difficulty/rollout-sequence.js';
import type { TierThresholds } from '../../difficulty/tiers.js';
import type { EndpointConfig } from '../../shared/config/endpoint.js';
import { stableHash } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import { BlobStore } from '../../shared/store/blob-store.js';
import { CONFIG_PATH, modelSynthesisConfigSchema, type ModelSynthesisConfig, type ModelSynthesisConfigInput } from './config.js';
import { loadTemplate, templateHash, type PromptTemplate } from './templates.js';

export type ModelRole = 'recaption' | 'teacher' | 'solver';

export interface ModelSynthesisContext {
  config: ModelSynthesisConfig;
  blobs: BlobStore;
  signal: AbortSignal;
  journal: RolloutJournal;
  /** null where the role has no endpoint. */
  clients: Record<ModelRole, RolloutClient | null>;
  templates: { recaption: PromptTemplate; teacher: PromptTemplate };
  tiers: TierThresholds;
  /** Requests sent (paid for) and choices replayed from the journal, by role, since open. */
  counters: Record<ModelRole, { requests: number; replayed: number }>;
  close(): Promise<void>;
}

export const JOURNAL_STAGE = 'synthesize';

function clientFor(endpoint: EndpointConfig | undefined, config: ModelSynthesisConfig): RolloutClient | null {
  return endpoint ? clientForEndpoint(endpoint, config) : null;
}

/** Opens the per-worker resources; the stage calls it in `setup` and `close()` in `teardown`. */
export async function openModelSynthesis(stageCtx: StageContext, input: ModelSynthesisConfig | ModelSynthesisConfigInput): Promise<ModelSynthesisContext> {
  const config = modelSynthesisConfigSchema.parse(input);
  const [recaption, teacher] = await Promise.all([
    loadTemplate('recaption', config.recaption.template, stageCtx.baseDir, ['caption']),
    loadTemplate('teacher_questions', config.questions.template, stageCtx.baseDir, ['count', 'domain', 'context']),
  ]);
  const counters = { recaption: { requests: 0, replayed: 0 }, teacher: { requests: 0, replayed: 0 }, solver: { requests: 0, replayed: 0 } };
  return {
    config,
    blobs: stageCtx.blobs,
    signal: stageCtx.signal,
    journal: new RolloutJournal(stageCtx.layout.journal(JOURNAL_STAGE)),
    clients: {
      recaption: clientFor(config.recaption.endpoint, config),
      teacher: clientFor(config.questions.teacher.endpoint, config),
      solver: clientFor(config.questions.solver.endpoint, config),
    },
    templates: { recaption, teacher },
    tiers: stageCtx.config.difficulty.tiers,
    counters,
    // Clients hold no sockets between requests (fetch's pool closes idle ones) and the journal writes synchronously.
    close: async () => {},
  };
}

/**
 * The one plain message for a run whose model generators lack endpoints, or null when every
 * generator has what it needs. The stage prints it once (in `beforeRun`); each skipped sample
 * then carries the reason `no_endpoint`.
 */
export function noEndpointNote(input: ModelSynthesisConfig | ModelSynthesisConfigInput, enabled: readonly string[] = ['recaption', 'teacher_questions']): string | null {
  const config = modelSynthesisConfigSchema.parse(input);
  const lacking: string[] = [];
  if (enabled.includes('recaption') && !config.recaption.endpoint) lacking.push(`recaption needs ${CONFIG_PATH}.recaption.endpoint`);
  if (enabled.includes('teacher_questions')) {
    const missing = [!config.questions.teacher.endpoint && 'teacher', !config.questions.solver.endpoint && 'solver'].filter(Boolean);
    if (missing.length) lacking.push(`teacher_questions needs ${missing.map((r) => `${CONFIG_PATH}.questions.${r}.endpoint`).join(' and ')}`);
  }
  if (lacking.length === 0) return null;
  return (
    `no model endpoint for ${lacking.join('; ')}. These generators skip every sample (reason no_endpoint) and the rest of the run goes on. ` +
    `Point them at an OpenAI-compatible server, e.g. { name: 'qwen', baseUrl: 'http://127.0.0.1:8000/v1', model: 'Qwen/Qwen2.5-VL-7B-Instruct' }.`
  );
}

/**
 * What of the model config changes the generators' output, for the stage's `config()` (its hash
 * decides which committed units are recomputed): not concurrency, timeouts or retries, endpoints
 * by name and model only (never a key), and the prompt templates by content hash.
 */
export function modelSynthesisResultConfig(input: ModelSynthesisConfig | ModelSynthesisConfigInput, baseDir: string): unknown {
  const { concurrency: _c, timeoutMs: _t, maxRetries: _r, ...rest } = modelSynthesisConfigSchema.parse(input);
  const endpoint = (e: EndpointConfig | undefined) => (e ? { name: e.name, model: e.model } : null);
  return {
    ...rest,
    recaption: { ...rest.recaption, endpoint: endpoint(rest.recaption.endpoint), template: templateHash('recaption', rest.recaption.template, baseDir) },
    questions: {
      ...rest.questions,
      teacher: { ...rest.questions.teacher, endpoint: endpoint(rest.questions.teacher.endpoint) },
      solver: { ...rest.questions.solver, endpoint: endpoint(rest.questions.solver.endpoint) },
      template: templateHash('teacher_questions', rest.questions.template, baseDir),
    },
  };
}

export interface RequestSpec {
  role: ModelRole;
  /** Hashed into the prompt key: the filled prompt text and media ids (never the bytes). */
  prompt: unknown;
  /** Built only when a request is actually sent (a replay reads no image). */
  messages: () => Promise<ChatMessage[]>;
  sampling: Omit<SamplingParams, 'n'>;
}

/** A generator's hold on one source sample's journal while it works on it. */
export interface SampleSession {
  /**
   * Positions [from, from + count) of the journalled sequence for this request: journalled choices
   * are replayed, only the shortfall is asked for, and every response is journalled the moment it
   * arrives. Seeds advance with the position, so a top-up never repeats the choices it extends.
   */
  choices(client: RolloutClient, spec: RequestSpec, from: number, count: number): Promise<JournalledRollout[]>;
  /** The blob store, each image read at most once in the session (the teacher and every solver request share it). */
  blobs: BlobStore;
}

class SessionBlobs extends BlobStore {
  private readonly read = new Map<string, Promise<Buffer>>();
  override get(id: string): Promise<Buffer> {
    let bytes = this.read.get(id);
    if (!bytes) this.read.set(id, (bytes = super.get(id)));
    return bytes;
  }
}

/**
 * Runs `fn` holding the sample's journal lock, with the sample's journal read once: every request
 * about the sample (recaption, teacher, each solver question) lives in the one file of the source
 * sample, told apart by role and prompt hash.
 */
export async function withSampleSession<T>(ctx: ModelSynthesisContext, sampleId: string, fn: (session: SampleSession) => Promise<T>): Promise<T> {
  return ctx.journal.withSample(sampleId, async () => {
    const journalled = await ctx.journal.load(sampleId);
    const blobs = new SessionBlobs(ctx.blobs.root);
    return fn({ blobs, choices: (client, spec, from, count) => takeChoices(ctx, journalled, sampleId, client, spec, from, count) });
  });
}

async function takeChoices(
  ctx: ModelSynthesisContext,
  journalled: Map<string, JournalledRollout[]>,
  sampleId: string,
  client: RolloutClient,
  spec: RequestSpec,
  from: number,
  count: number,
): Promise<JournalledRollout[]> {
  const key = {
    sample_id: sampleId,
    endpoint: client.endpoint.name,
    params_hash: stableHash({ role: spec.role, model: client.endpoint.model, ...spec.sampling }).slice(0, 16),
    prompt_hash: stableHash({ role: spec.role, prompt: spec.prompt }).slice(0, 16),
  };
  const rollouts = sequenceFor(journalled, key);
  journalled.set(sequenceKey(key), rollouts); // the sequence grows in place: a later call in the session sees this one's responses
  let messages: ChatMessage[] | null = null;
  const sequence = new RolloutSequence(rollouts, async (offset, n) => {
    messages ??= await spec.messages();
    const { seed, ...rest } = spec.sampling;
    const result = await client.complete(messages, { ...rest, n, ...(seed !== undefined ? { seed: seed + offset } : {}) }, ctx.signal);
    const entry = journalEntry(key, offset, result);
    ctx.journal.append(entry); // before anything else happens to the response
    return entry;
  });
  const before = sequence.length;
  const got = await sequence.take(from, count);
  const counter = ctx.counters[spec.role];
  counter.requests += sequence.requests;
  counter.replayed += Math.max(0, Math.min(before, from + count) - from);
  return got;
}
