import type { RolloutRow } from '../../schemas/rollout.js';
import { ROLLOUT_COLUMNS } from '../../schemas/rollout.js';
import { SAMPLE_COLUMNS, toSampleRow, type ModelDifficulty, type Sample } from '../../schemas/sample.js';
import type { DifficultyConfig, EndpointConfig } from '../shared/config/schema.js';
import { mapBounded } from '../shared/concurrency.js';
import { stableHash } from '../shared/hash.js';
import { log } from '../shared/log.js';
import type { StageContext, StageDefinition } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import { unitsFromUpstream, type UpstreamUnit } from '../shared/runner/upstream.js';
import { readSamples } from '../shared/store/read-samples.js';
import type { JudgeEndpoint, VerifyContext, VerifyRequest, VerifyResult } from '../verify/index.js';
import type { VerifierPool } from '../verify/pool.js';
import { fixedPolicy, rateAdaptively, type AdaptivePolicy } from './adaptive.js';
import { journalEntry, RolloutJournal, migrateUnitJournals, sequenceFor } from './journal.js';
import { buildMessages, DataUrlCache, DEFAULT_INSTRUCTIONS, promptHashOf } from './prompt.js';
import { clientForEndpoint, prepareMessages, RolloutClient, RolloutError, type PreparedMessages, type SamplingParams } from './rollout-client.js';
import { RolloutSequence } from './rollout-sequence.js';
import { combinePassRates, tierOfCounts } from './tiers.js';
import { verifyAllDecided, type Verdict } from './verdict.js';
import { VerifyBatcher } from './verify-batcher.js';
import { labelPriorOf, withLabelPrior } from '../rlcs/label-priors.js';

/** Bump when the way rollouts are scored changes, so committed units are rescored (from the journal, not re-sampled). */
const SCORING_VERSION = 1;

/** What of the difficulty config changes a unit's result. */
function difficultyResultConfig(config: DifficultyConfig): unknown {
  const { concurrency: _c, timeoutMs: _t, maxRetries: _r, verifierThreads: _v, ...rest } = config;
  return { ...rest, endpoints: config.endpoints.map(({ name, model }) => ({ name, model })),
    judges: config.judges.map(({ name, model }) => ({ name, model })), scoring: SCORING_VERSION };
}

/**
 * Hash of what makes two rollouts interchangeable, so journalled rollouts are reused only when they
 * match. Not n: a larger n tops the journalled sequence up, a smaller one takes a prefix of it.
 */
function paramsHash(config: DifficultyConfig, endpoint: EndpointConfig): string {
  let byEndpoint = paramsHashes.get(config);
  if (!byEndpoint) paramsHashes.set(config, (byEndpoint = new WeakMap()));
  let hash = byEndpoint.get(endpoint);
  if (hash === undefined) byEndpoint.set(endpoint, (hash = computeParamsHash(config, endpoint)));
  return hash;
}

/** Per config object (one per run): the hash is the same for every sample. */
const paramsHashes = new WeakMap<DifficultyConfig, WeakMap<EndpointConfig, string>>();

function computeParamsHash(config: DifficultyConfig, endpoint: EndpointConfig): string {
  return stableHash({
    model: endpoint.model,
    temperature: config.temperature,
    topP: config.topP,
    maxTokens: config.maxTokens,
    seed: config.seed ?? null,
    system: config.systemPrompt ?? null,
    format: config.responseFormat,
  }).slice(0, 16);
}

function judgesOf(config: DifficultyConfig): JudgeEndpoint[] {
  return config.judges.map((j) => ({ name: j.name, baseUrl: j.baseUrl, model: j.model, apiKey: j.apiKeyEnv ? process.env[j.apiKeyEnv] : undefined }));
}

/** Per config object (one per run): the same judges and budget for every sample. */
const verifyContexts = new WeakMap<DifficultyConfig, VerifyContext>();

function verifyContextOf(config: DifficultyConfig): VerifyContext {
  let ctx = verifyContexts.get(config);
  if (!ctx) verifyContexts.set(config, (ctx = { judges: judgesOf(config), timeBudgetMs: config.verifyTimeBudgetMs }));
  return ctx;
}

function policyOf(config: DifficultyConfig): AdaptivePolicy {
  return config.adaptive ?? fixedPolicy(config.n);
}

/** What one difficulty worker holds across units: the verifier pool (started on first use), the journal, the HTTP clients. */
export interface DifficultyResources {
  pool: Promise<VerifierPool> | null;
  journal: RolloutJournal;
  clients: Map<string, RolloutClient>;
  dataUrls: DataUrlCache;
  /** Rounds of several samples in one pool message; made with the pool (its context is the run's). */
  batcher?: VerifyBatcher;
}

type VerifyModule = typeof import('../verify/index.js');
let verifyModule: Promise<VerifyModule> | null = null;
/** The verifiers load on first use (planning a re-run where nothing changed does not pay for them), once per process: a dynamic import per call goes through the module loader (and tsx's hooks thread) every time. */
function loadVerify(): Promise<VerifyModule> {
  return (verifyModule ??= import('../verify/index.js'));
}

/** The worker pool, warmed up (verifier loaded in every worker) before its first verification. */
function warmVerifierPool(config: DifficultyConfig, res: DifficultyResources): Promise<VerifierPool> {
  res.pool ??= (async () => {
    const { createVerifierPool } = await import('../verify/pool.js');
    const pool = createVerifierPool({ threads: config.verifierThreads, timeBudgetMs: config.verifyTimeBudgetMs });
    await pool.ready();
    return pool;
  })();
  return res.pool;
}

/** Verifies on the worker-thread pool (hard budget) when `verifierThreads` > 0, else in-process. */
async function verifyRollout(req: VerifyRequest, config: DifficultyConfig, ctx: VerifyContext, res: DifficultyResources): Promise<VerifyResult> {
  if (config.verifierThreads === 0) return (await loadVerify()).verify(req, ctx);
  return (await warmVerifierPool(config, res)).verify(req, ctx);
}

/** A round's rollouts together (on the pool, in a message shared with other samples' rounds), each undecided one retried on its own. */
async function verifyRound(reqs: VerifyRequest[], config: DifficultyConfig, ctx: VerifyContext, res: DifficultyResources): Promise<Verdict[]> {
  const batch = async () => {
    if (config.verifierThreads === 0) return (await loadVerify()).verifyBatch(reqs, ctx);
    const pool = await warmVerifierPool(config, res);
    // Two messages per worker keep every worker busy while the next message is built.
    res.batcher ??= new VerifyBatcher((all) => pool.verifyBatch(all, ctx), 2 * pool.threads);
    return res.batcher.verify(reqs);
  };
  return verifyAllDecided(batch, (i) => verifyRollout(reqs[i]!, config, ctx, res));
}

/** The client of an endpoint config object (the same for every sample of a run): looked up without hashing. */
const clientOfEndpoint = new WeakMap<EndpointConfig, { clients: Map<string, RolloutClient>; config: DifficultyConfig; client: RolloutClient }>();

function clientFor(endpoint: EndpointConfig, config: DifficultyConfig, clients: Map<string, RolloutClient>): RolloutClient {
  const known = clientOfEndpoint.get(endpoint);
  if (known && known.clients === clients && known.config === config) return known.client;
  const client = clientForKey(endpoint, config, clients);
  clientOfEndpoint.set(endpoint, { clients, config, client });
  return client;
}

function clientForKey(endpoint: EndpointConfig, config: DifficultyConfig, clients: Map<string, RolloutClient>): RolloutClient {
  const key = stableHash({ endpoint, c: config.concurrency, t: config.timeoutMs, r: config.maxRetries });
  let client = clients.get(key);
  if (!client) {
    client = clientForEndpoint(endpoint, config);
    clients.set(key, client);
  }
  return client;
}

/**
 * Difficulty: sample each question `n` times (or adaptively) from every configured policy endpoint,
 * verify each answer, and bucket the sample into a curriculum tier by its pass rate. Every finished
 * request is journalled at once; rollouts are stored in `_rollouts/`, samples partitioned by
 * `domain=…/tier=…`.
 */
export const difficultyStage: StageDefinition<UpstreamUnit, DifficultyResources> = {
  name: 'difficulty',
  version: 1,
  input: 'filter',
  config: (ctx) => difficultyResultConfig(ctx.config.difficulty),
  outputs: {
    data: { columns: SAMPLE_COLUMNS, subdir: '', partitionBy: ['domain', 'tier'] },
    rollouts: { columns: ROLLOUT_COLUMNS, subdir: '_rollouts' },
  },
  unitConcurrency: 2,

  plan: unitsFromUpstream,

  async beforeRun(ctx, pending) {
    if (pending > 0 && ctx.config.difficulty.endpoints.length === 0) {
      const message =
        `dataset ${ctx.dataset}: no policy endpoint configured (difficulty.endpoints), so samples keep tier "unrated" unless a label rule (difficulty.labels) rates them. ` +
        `Point it at a vLLM/SGLang server, e.g. { name: 'qwen', baseUrl: 'http://127.0.0.1:8000/v1', model: 'Qwen/Qwen2.5-VL-7B-Instruct' }.`;
      process.stderr.write(`note: ${message}\n`);
    }
    const journal = new RolloutJournal(ctx.layout.journal('difficulty'));
    const migrated = migrateUnitJournals(journal);
    await journal.close();
    if (migrated > 0) log.info({ files: migrated }, 'moved per-unit rollout journals into the per-sample journal');
  },

  async setup(ctx) {
    const res: DifficultyResources = { pool: null, journal: new RolloutJournal(ctx.layout.journal('difficulty')), clients: new Map(), dataUrls: new DataUrlCache() };
    const config = ctx.config.difficulty;
    // setup runs only when units are pending: load the verifier (or start its pool) now, while the first requests are out.
    if (config.endpoints.length > 0 && config.verifierThreads > 0) warmVerifierPool(config, res).catch(() => {}); // a failure surfaces at the first verification
    else if (config.endpoints.length > 0) loadVerify().catch(() => {});
    return res;
  },

  async teardown(res) {
    for (const client of res.clients.values()) client.close();
    const pool = res.pool;
    res.pool = null;
    res.batcher = undefined;
    try {
      await res.journal.close();
    } finally {
      await (await pool)?.close();
    }
  },

  async process(unit, ctx, sink, res) {
    const samples = await readSamples(ctx.conn, unit.payload.files);
    sink.inputs(samples.length);
    const config = ctx.config.difficulty;
    if (config.endpoints.length === 0) {
      for (const sample of samples) {
        const prior = sample.task ? labelPriorOf(sample, config.labels, config.tiers) : null;
        if (prior) sink.keep(refOf(sample), toSampleRow(withLabelPrior(sample, prior, config.tiers, new Date().toISOString())), 'rated_from_label');
        else sink.keep(refOf(sample), toSampleRow(sample), 'unrated_no_endpoint');
      }
      return;
    }
    const journal = res.journal;
    await mapBounded(samples, config.concurrency, (sample) => journal.withSample(sample.id, () => rateSample(sample, ctx, sink, res)));
  },
};

function refOf(sample: Sample) {
  return { sample_id: sample.id, source_uri: sample.source.uri, locator: sample.source.locator };
}

async function rateSample(sample: Sample, ctx: StageContext, sink: UnitSink, res: DifficultyResources): Promise<void> {
  const journal = res.journal;
  const config = ctx.config.difficulty;
  if (!sample.task) {
    sink.drop(refOf(sample), 'no_verifiable_task');
    return;
  }
  const task = sample.task;
  // Built (images read and encoded) only if a request is needed, and serialised once for all of this sample's requests (top-ups, retries, endpoints).
  let prepared: Promise<PreparedMessages> | null = null;
  const messages = () =>
    (prepared ??= buildMessages(sample, ctx.blobs, { systemPrompt: config.systemPrompt, instruction: DEFAULT_INSTRUCTIONS[config.responseFormat], dataUrls: res.dataUrls }).then(prepareMessages));
  const verifyCtx = verifyContextOf(config);
  const perModel: ModelDifficulty[] = [];
  const rollouts: RolloutRow[] = [];
  const stops: Record<string, string> = {};
  let undecided = 0;
  // What the rollouts cost: requests made now, and rollouts served from the journal (paid for earlier).
  let requests = 0;
  let replayed = 0;
  const journalled = await journal.load(sample.id);
  // The question as sent (media by content hash): journalled rollouts of an earlier version of it are not reused.
  const promptHash = promptHashOf(sample);
  for (const endpoint of config.endpoints) {
    const client = clientFor(endpoint, config, res.clients);
    const key = { sample_id: sample.id, endpoint: endpoint.name, params_hash: paramsHash(config, endpoint), prompt_hash: promptHash };
    const fromJournal = sequenceFor(journalled, key).length;
    const sequence = new RolloutSequence(sequenceFor(journalled, key), async (offset, n) => {
      const params: SamplingParams = {
        n,
        temperature: config.temperature,
        topP: config.topP,
        maxTokens: config.maxTokens,
        // Each position has its own seed, so a top-up never repeats the rollouts it extends.
        ...(config.seed !== undefined ? { seed: config.seed + offset } : {}),
      };
      const result = await client.complete(await messages(), params, ctx.signal);
      const entry = journalEntry(key, offset, result);
      journal.append(entry); // before anything else happens to the response
      return entry;
    });
    let drawn = 0;
    let outcome;
    try {
      outcome = await rateAdaptively(async (size) => {
        const taken = await sequence.take(drawn, size);
        drawn += taken.length;
        const verdicts = await verifyRound(
          taken.map(({ choice }) => ({
            domain: task.verifier as VerifyRequest['domain'],
            response: choice.text,
            groundTruth: task.answer,
            question: task.question,
            choices: task.choices,
            format: config.responseFormat,
          })),
          config,
          verifyCtx,
          res,
        );
        let successes = 0;
        let lost = 0;
        for (const [i, { choice, entry }] of taken.entries()) {
          const { result: verdict, undecided: isUndecided } = verdicts[i]!;
          if (isUndecided) lost++;
          else if (verdict.correct) successes++;
          rollouts.push({
            sample_id: sample.id,
            endpoint: endpoint.name,
            model: endpoint.model,
            params_hash: key.params_hash,
            request_id: entry.request_id,
            choice_index: choice.index,
            response: choice.text,
            finish_reason: choice.finishReason,
            prompt_tokens: entry.prompt_tokens,
            completion_tokens: entry.completion_tokens === null ? null : Math.round(entry.completion_tokens / Math.max(1, entry.choices.length)),
            latency_ms: entry.latency_ms,
            score: verdict.score,
            correct: isUndecided ? null : verdict.correct,
            extracted: verdict.extracted,
            reason: verdict.reason,
          });
        }
        return { rollouts: taken.length - lost, successes, undecided: lost };
      }, policyOf(config), config.tiers);
    } catch (err) {
      if (err instanceof RolloutError && !err.retryable) {
        sink.quarantine(refOf(sample), 'rollout_rejected', { endpoint: endpoint.name, status: err.status, message: err.message });
        return;
      }
      throw err; // endpoint unavailable after retries: the unit stays pending and a rerun resumes from the journal
    }
    requests += sequence.requests;
    replayed += Math.min(drawn, fromJournal);
    perModel.push({ model: endpoint.model, k: outcome.k, n: outcome.n, pass_rate: outcome.passRate ?? 0 });
    stops[endpoint.name] = outcome.stopReason;
    undecided += outcome.undecided;
  }
  // A pass rate measured when the sample was synthesised (teacher_questions' solver, `solver:<model>`) is kept and pooled.
  const seeded = sample.difficulty.per_model.filter((m) => m.model.startsWith('solver:'));
  const pooled = combinePassRates([...seeded, ...perModel].map(({ model, k, n }) => ({ model, k, n })));
  const tier = tierOfCounts(pooled.k, pooled.n, config.tiers);
  const ratedAt = new Date().toISOString();
  const rated: Sample = {
    ...sample,
    difficulty: {
      pass_rate: pooled.passRate,
      k: pooled.k,
      n: pooled.n,
      tier,
      per_model: [...seeded, ...perModel],
      source: 'offline',
      rated_at: ratedAt,
      history: [...sample.difficulty.history, { at: ratedAt, source: 'offline', k: pooled.k, n: pooled.n }],
    },
  };
  const merged = withLabelPrior(rated, labelPriorOf(sample, config.labels, config.tiers), config.tiers, ratedAt);
  for (const r of rollouts) sink.emit('rollouts', r);
  const finalTier = merged.difficulty.tier;
  if (undecided > 0) {
    // Visible in `pnpm pipeline status` as its own reason; the tier comes from the decided rollouts only.
    log.warn({ sample: sample.id, undecided }, 'verification timed out twice for some rollouts: left out of k/n');
    sink.keep(refOf(sample), toSampleRow(merged), 'rated_with_undecided_rollouts', { stops, tier: finalTier, undecided, requests, replayed });
  } else sink.keep(refOf(sample), toSampleRow(merged), `rated_${finalTier}`, { stops, requests, replayed });
}
