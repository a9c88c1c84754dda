/**
 * A loopback world for the model generators: caption samples with real PNGs in a real blob store,
 * one fake OpenAI-compatible server serving a captioner, a teacher and a solver, and a driver that
 * offers every sample to every generator the way the synthesize stage does.
 */
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { buildSample, imagePart, loadLanguageIdentification, textPart } from '../../../pipelines/ingest/sample-builder.js';
import { validateConfig } from '../../../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../../../pipelines/shared/config/schema.js';
import { stageContext } from '../../../pipelines/shared/runner/context.js';
import type { StageContext } from '../../../pipelines/shared/runner/stage.js';
import type { Generator, GeneratorResult } from '../../../pipelines/synthesize/generator.js';
import type { ModelSynthesisConfigInput, ModelSynthesisContext } from '../../../pipelines/synthesize/model/index.js';
import type { Sample } from '../../../schemas/sample.js';
import type { FakeChatRequest } from '../../support/openai-server.js';
import { makePng } from '../../support/workspace.js';

export const CAPTIONER = 'fake-captioner';
export const TEACHER = 'fake-teacher';
export const SOLVER = 'fake-solver';

export function pipelineConfig(): PipelineConfigInput {
  return { datasets: { d: { sources: [{ name: 'caps', type: 'qa', path: 'unused.jsonl', format: 'jsonl', fields: { question: 'q', answer: 'a' } }] } } };
}

export async function stageContextIn(dir: string): Promise<StageContext> {
  const loaded = validateConfig(pipelineConfig(), join(dir, 'pipeline.config.ts'));
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // as the runner does: every request in flight listens to it
  return stageContext(loaded, 'd', controller.signal);
}

/** Model config pointing every role at the loopback server. */
export function modelConfig(baseUrl: string, extra: Partial<ModelSynthesisConfigInput> = {}): ModelSynthesisConfigInput {
  return {
    concurrency: 4,
    maxRetries: 2,
    timeoutMs: 60_000,
    ...extra,
    recaption: { endpoint: { name: 'cap', baseUrl, model: CAPTIONER }, minChars: 10, ...extra.recaption },
    questions: {
      domain: 'math',
      teacher: { endpoint: { name: 'teach', baseUrl, model: TEACHER } },
      solver: { endpoint: { name: 'solve', baseUrl, model: SOLVER }, n: 8 },
      ...extra.questions,
    },
  };
}

/** A caption sample with a real image (different bytes per seed) stored in the blob store. */
export async function captionSample(ctx: StageContext, seed: number, caption: string): Promise<Sample> {
  const png = await makePng(seed, 32, 24);
  const id = await ctx.blobs.put(png);
  await loadLanguageIdentification();
  const media = { id, mime: 'image/png', width: 32, height: 24, bytes: png.length, duration: null, frames: null, phash: null, dhash: null };
  return buildSample(ctx, {
    source: { name: 'caps' },
    uri: 'file:///caps.jsonl',
    locator: `line:${seed}`,
    recordId: `cap-${seed}`,
    kind: 'caption',
    domain: 'general',
    content: [imagePart(media), textPart(caption)],
    media: [media],
  });
}

export interface Offered {
  sample: Sample;
  generator: string;
  result: GeneratorResult;
}

/** Offers each sample to each generator that applies, `concurrency` samples at a time. */
export async function offerAll(samples: readonly Sample[], generators: readonly Generator<ModelSynthesisContext>[], ctx: ModelSynthesisContext, concurrency = 4): Promise<Offered[]> {
  const out: Offered[] = [];
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const sample = samples[next++]!;
      for (const g of generators) if (g.applies(sample)) out.push({ sample, generator: g.name, result: await g.generate(sample, ctx) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out.sort((a, b) => a.sample.id.localeCompare(b.sample.id) || a.generator.localeCompare(b.generator));
}

/** The original caption as the recaption prompt quotes it. */
export function originalIn(request: FakeChatRequest): string | null {
  return /<original>\n([\s\S]*?)\n<\/original>/.exec(request.text)?.[1] ?? null;
}

/** The sample text as the teacher prompt quotes it. */
export function contextIn(request: FakeChatRequest): string | null {
  return /<context>\n([\s\S]*?)\n<\/context>/.exec(request.text)?.[1] ?? null;
}

export function teacherItems(items: { question: string; answer: string; type?: string }[]): string {
  return items.map((i) => `<item>\n<question>${i.question}</question>\n<answer>${i.answer}</answer>\n<type>${i.type ?? 'numeric'}</type>\n</item>`).join('\n\n');
}
