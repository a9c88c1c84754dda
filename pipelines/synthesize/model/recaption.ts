/**
 * Recaptioning (GLM-4.1V "factual-centred recaptioning"): a VLM rewrites a caption sample's caption,
 * seeing the image and the original alt-text. A rewrite becomes a new derived caption sample (same
 * image, the rewrite as its text, the original in `meta.recaption.original`); the source sample is
 * left as it is. A rewrite that lost a number, a named entity or quoted text of the original, is
 * out of the length bounds, refuses, carries chat boilerplate, loops or was cut off is not kept:
 * the generator reports why, and the original caption stays the only one.
 */
import type { Generator, GeneratorResult, SkipReason } from '../generator.js';
import type { Sample } from '../../../schemas/sample.js';
import { RolloutError, type RolloutClient } from '../../difficulty/rollout-client.js';
import { hasRepetition } from '../../verify/penalties.js';
import type { RecaptionConfig } from './config.js';
import { contentText, imageContent, imageParts } from './content.js';
import { withSampleSession, type ModelSynthesisContext, type SampleSession } from './context.js';
import { extractFacts, missingFacts, type CaptionFacts } from './facts.js';
import { findChatter, unquote } from './refusal.js';
import { fillTemplate } from './templates.js';

export const RECAPTION = 'recaption';
/** Bump when what the generator emits changes. */
export const RECAPTION_VERSION = 1;

/** Why one rewrite was not kept, or null when it passes. */
export function judgeRecaption(original: string, facts: CaptionFacts, raw: string, finishReason: string | null, bounds: Pick<RecaptionConfig, 'minChars' | 'maxChars' | 'minRatio'>): SkipReason | null {
  const text = unquote(raw);
  if (text.trim() === '') return { reason: 'recaption_empty', detail: {} };
  if (finishReason === 'length') return { reason: 'recaption_truncated', detail: { chars: text.length } };
  const chatter = findChatter(text);
  if (chatter) return { reason: chatter.kind === 'refusal' ? 'recaption_refused' : 'recaption_boilerplate', detail: { rule: chatter.rule, phrase: chatter.phrase } };
  if (hasRepetition(text, 30, 4)) return { reason: 'recaption_repetitive', detail: { chars: text.length } };
  const chars = [...text].length;
  const minChars = Math.max(bounds.minChars, Math.ceil(bounds.minRatio * [...original].length));
  if (chars < minChars) return { reason: 'recaption_too_short', detail: { chars, min: minChars } };
  if (chars > bounds.maxChars) return { reason: 'recaption_too_long', detail: { chars, max: bounds.maxChars } };
  const missing = missingFacts(facts, text);
  if (missing.numbers.length) return { reason: 'recaption_dropped_number', detail: { missing: missing.numbers } };
  if (missing.entities.length) return { reason: 'recaption_dropped_entity', detail: { missing: missing.entities } };
  if (missing.quotes.length) return { reason: 'recaption_dropped_quote', detail: { missing: missing.quotes } };
  if (text.replace(/\s+/g, ' ').trim().toLowerCase() === original.replace(/\s+/g, ' ').trim().toLowerCase()) return { reason: 'recaption_unchanged', detail: {} };
  return null;
}

export function recaptionGenerator(config: RecaptionConfig): Generator<ModelSynthesisContext> {
  return {
    name: RECAPTION,
    version: RECAPTION_VERSION,
    mode: 'model',
    applies: (sample) =>
      sample.kind === 'caption' && imageParts(sample).length > 0 && contentText(sample).trim() !== '' && (!config.sources || config.sources.includes(sample.source.name)),

    async generate(sample, ctx): Promise<GeneratorResult> {
      const client = ctx.clients.recaption;
      if (!client) return { tasks: [], skipped: [{ reason: 'no_endpoint', detail: { generator: RECAPTION, set: 'recaption.endpoint' } }] };
      return withSampleSession(ctx, sample.id, (session) => recaption(sample, config, client, ctx, session));
    },
  };
}

async function recaption(sample: Sample, config: RecaptionConfig, client: RolloutClient, ctx: ModelSynthesisContext, session: SampleSession): Promise<GeneratorResult> {
  const original = contentText(sample).trim();
  const images = imageParts(sample);
  const prompt = fillTemplate(ctx.templates.recaption, { caption: original });
  const facts = extractFacts(original);
  const spec = {
    role: 'recaption' as const,
    prompt: { text: prompt, media: images.map((p) => p.media_id) },
    messages: async () => [{ role: 'user' as const, content: [...(await imageContent(sample, images, session.blobs)), { type: 'text' as const, text: prompt }] }],
    sampling: { temperature: config.temperature, topP: config.topP, maxTokens: config.maxTokens, ...(config.seed !== undefined ? { seed: config.seed } : {}) },
  };
  const skipped: SkipReason[] = [];
  for (let attempt = 0; attempt < config.attempts; attempt++) {
    let choice;
    try {
      [choice] = await session.choices(client, spec, attempt, 1);
    } catch (err) {
      if (err instanceof RolloutError && !err.retryable) return { tasks: [], skipped: [...skipped, { reason: 'request_rejected', detail: { role: 'recaption', status: err.status, message: err.message } }] };
      throw err; // the endpoint is down after retries: the unit stays pending and a rerun resumes from the journal
    }
    if (!choice) return { tasks: [], skipped: [...skipped, { reason: 'recaption_empty', detail: { attempt } }] };
    const verdict = judgeRecaption(original, facts, choice.choice.text, choice.choice.finishReason, config);
    if (verdict) {
      skipped.push({ reason: verdict.reason, detail: { ...verdict.detail, attempt } });
      continue;
    }
    const text = unquote(choice.choice.text);
    // Attempts rejected before this one are recorded with it, not reported as skips: a recaption was made.
    const meta = { recaption: { original, model: client.endpoint.model, attempt, request_id: choice.entry.request_id, rejected: skipped } };
    return {
      tasks: [],
      derived: [
        {
          key: 'recaption',
          overrides: {
            kind: 'caption',
            content: [...images, { type: 'text', text, media_id: null }],
            meta: JSON.stringify(meta),
          },
        },
      ],
      skipped: [],
    };
  }
  return { tasks: [], skipped };
}
