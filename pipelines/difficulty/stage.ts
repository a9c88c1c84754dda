import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { RolloutRow } from '../../schemas/rollout.js';
import { ROLLOUT_COLUMNS } from '../../schemas/rollout.js';
import { SAMPLE_COLUMNS, toSampleRow, type ModelDifficulty, type Sample } from '../../schemas/sample.js';
import type { DifficultyConfig, EndpointConfig } from '../shared/config/schema.js';
import { mapBounded } from '../shared/concurrency.js';
import { stableHash } from '../shared/hash.js';
import { log } from '../shared/log.js';
import { unitKey } from '../shared/runner/run-stage.js';
import type { StageContext, StageDefinition } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import { unitsFromUpstream, type UpstreamUnit } from '../shared/runner/upstream.js';
import { readSamples } from '../shared/store/read-samples.js';
import type { JudgeEndpoint, VerifyRequest, VerifyResult } from '../verify/index.js';
import type { VerifierPool } from '../verify/pool.js';
import { fixedPolicy, rateAdaptively, type AdaptivePolicy } from './adaptive.js';
import { RolloutJournal, journalKey, type JournalEntry } from './journal.js';
import { buildMessages, DEFAULT_INSTRUCTIONS } from './prompt.js';
import { RolloutClient, RolloutError, type SamplingParams } from './rollout-client.js';
import { combinePassRates, tierOfCounts } from './tiers.js';

/** Bump when the way rollouts are scored changes, so committed units are rescored (from the journal, not re-sampled). */
const SCORING_VERSION = 1;

/** What of the difficulty config changes a unit's result. */
function difficultyResultConfig(config: DifficultyConfig): unknown {
  const { concurrency: _c, timeoutMs: _t, maxRetries: _r, verifierThreads: _v, ...rest } = config;
  return { ...rest, endpoints: config.endpoints.map(({ name, model }) => ({ name, model })),
    judges: config.judges.map(({ name, model }) => ({ name, model })), scoring: SCORING_VERSION };
}

/** Hash of what makes two requests interchangeable, so journalled rollouts are reused only when they match. */
function paramsHash(config: DifficultyConfig, endpoint: EndpointConfig): string {
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

function policyOf(config: DifficultyConfig): AdaptivePolicy {
  return config.adaptive ?? fixedPolicy(config.n);
}

let verifierPool: VerifierPool | null = null;

/**
 * Verifies on the worker-thread pool (hard budget) when `verifierThreads` > 0, else in-process. The
 * verifiers load on first use: planning a re-run where nothing changed does not pay for them.
 */
async function verifyRollout(req: VerifyRequest, config: DifficultyConfig): Promise<VerifyResult> {
  const ctx = { judges: judgesOf(config), timeBudgetMs: config.verifyTimeBudgetMs };
  if (config.verifierThreads === 0) return (await import('../verify/index.js')).verify(req, ctx);
  const { createVerifierPool } = await import('../verify/pool.js');
  verifierPool ??= createVerifierPool({ threads: config.verifierThreads, timeBudgetMs: config.verifyTimeBudgetMs });
  return verifierPool.verify(req, ctx);
}

const clients = new Map<string, RolloutClient>();
function clientFor(endpoint: EndpointConfig, config: DifficultyConfig): RolloutClient {
  const key = stableHash({ endpoint, c: config.concurrency, t: config.timeoutMs, r: config.maxRetries });
  let client = clients.get(key);
  if (!client) {
    const apiKey = endpoint.apiKeyEnv ? process.env[endpoint.apiKeyEnv] : undefined;
    if (endpoint.apiKeyEnv && !apiKey) throw new Error(`endpoint ${endpoint.name}: environment variable ${endpoint.apiKeyEnv} is not set`);
    client = new RolloutClient({
      endpoint: { name: endpoint.name, baseUrl: endpoint.baseUrl, model: endpoint.model, apiKey },
      concurrency: config.concurrency,
      maxRetries: config.maxRetries,
      timeoutMs: config.timeoutMs,
      backoff: { baseMs: 500, maxMs: 30_000 },
      onRetry: (info) => log.warn({ endpoint: info.endpoint, attempt: info.attempt, delayMs: info.delayMs, error: info.error.message }, 'retrying request'),
    });
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
export const difficultyStage: StageDefinition<UpstreamUnit> = {
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
        `dataset ${ctx.dataset}: no policy endpoint configured (difficulty.endpoints), so samples keep tier "unrated". ` +
        `Point it at a vLLM/SGLang server, e.g. { name: 'qwen', baseUrl: 'http://127.0.0.1:8000/v1', model: 'Qwen/Qwen2.5-VL-7B-Instruct' }.`;
      process.stderr.write(`note: ${message}\n`);
    }
  },

  async afterRun() {
    await verifierPool?.close();
    verifierPool = null;
  },

  async process(unit, ctx, sink) {
    const samples = await readSamples(ctx.conn, unit.payload.files);
    sink.inputs(samples.length);
    const config = ctx.config.difficulty;
    if (config.endpoints.length === 0) {
      for (const sample of samples) sink.keep(refOf(sample), toSampleRow(sample), 'unrated_no_endpoint');
      return;
    }
    const journal = await RolloutJournal.open(join(ctx.layout.journal('difficulty'), `${unitKey(unit.id)}.jsonl`));
    await mapBounded(samples, config.concurrency, (sample) => rateSample(sample, ctx, sink, journal));
  },
};

function refOf(sample: Sample) {
  return { sample_id: sample.id, source_uri: sample.source.uri, locator: sample.source.locator };
}

async function rateSample(sample: Sample, ctx: StageContext, sink: UnitSink, journal: RolloutJournal): Promise<void> {
  const config = ctx.config.difficulty;
  if (!sample.task) {
    sink.drop(refOf(sample), 'no_verifiable_task');
    return;
  }
  const task = sample.task;
  const messages = await buildMessages(sample, ctx.blobs, {
    systemPrompt: config.systemPrompt,
    instruction: DEFAULT_INSTRUCTIONS[config.responseFormat],
  });
  const perModel: ModelDifficulty[] = [];
  const rollouts: RolloutRow[] = [];
  const stops: Record<string, string> = {};
  for (const endpoint of config.endpoints) {
    const client = clientFor(endpoint, config);
    const hash = paramsHash(config, endpoint);
    let outcome;
    try {
      outcome = await rateAdaptively(async (size, round) => {
        const key = { sample_id: sample.id, endpoint: endpoint.name, params_hash: hash, round };
        let entry = journal.get(journalKey(key));
        if (!entry) {
          const params: SamplingParams = {
            n: size,
            temperature: config.temperature,
            topP: config.topP,
            maxTokens: config.maxTokens,
            ...(config.seed !== undefined ? { seed: config.seed + round } : {}),
          };
          const result = await client.complete(messages, params, ctx.signal);
          entry = {
            ...key,
            request_id: randomUUID(),
            choices: result.choices.map(({ index, text, finishReason }) => ({ index, text, finishReason })),
            prompt_tokens: result.promptTokens,
            completion_tokens: result.completionTokens,
            latency_ms: result.latencyMs,
          } satisfies JournalEntry;
          await journal.append(entry);
        }
        let successes = 0;
        for (const choice of entry.choices) {
          const verdict = await verifyRollout(
            {
              domain: task.verifier as VerifyRequest['domain'],
              response: choice.text,
              groundTruth: task.answer,
              question: task.question,
              choices: task.choices,
              format: config.responseFormat,
            },
            config,
          );
          if (verdict.correct) successes++;
          rollouts.push({
            sample_id: sample.id,
            endpoint: endpoint.name,
            model: endpoint.model,
            params_hash: hash,
            request_id: entry.request_id,
            choice_index: choice.index,
            response: choice.text,
            finish_reason: choice.finishReason,
            prompt_tokens: entry.prompt_tokens,
            completion_tokens: entry.completion_tokens === null ? null : Math.round(entry.completion_tokens / Math.max(1, entry.choices.length)),
            latency_ms: entry.latency_ms,
            score: verdict.score,
            correct: verdict.correct,
            extracted: verdict.extracted,
            reason: verdict.reason,
          });
        }
        return { rollouts: entry.choices.length, successes };
      }, policyOf(config), config.tiers);
    } catch (err) {
      if (err instanceof RolloutError && !err.retryable) {
        sink.quarantine(refOf(sample), 'rollout_rejected', { endpoint: endpoint.name, status: err.status, message: err.message });
        return;
      }
      throw err; // endpoint unavailable after retries: the unit stays pending and a rerun resumes from the journal
    }
    perModel.push({ model: endpoint.model, k: outcome.k, n: outcome.n, pass_rate: outcome.passRate ?? 0 });
    stops[endpoint.name] = outcome.stopReason;
  }
  const pooled = combinePassRates(perModel.map(({ model, k, n }) => ({ model, k, n })));
  const tier = tierOfCounts(pooled.k, pooled.n, config.tiers);
  const ratedAt = new Date().toISOString();
  const rated: Sample = {
    ...sample,
    difficulty: {
      pass_rate: pooled.passRate,
      k: pooled.k,
      n: pooled.n,
      tier,
      per_model: perModel,
      source: 'offline',
      rated_at: ratedAt,
      history: [...sample.difficulty.history, { at: ratedAt, source: 'offline', k: pooled.k, n: pooled.n }],
    },
  };
  for (const r of rollouts) sink.emit('rollouts', r);
  sink.keep(refOf(sample), toSampleRow(rated), `rated_${tier}`, { stops });
}
