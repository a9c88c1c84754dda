import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stableHash } from '../../../pipelines/shared/hash.js';
import { tierOfCounts } from '../../../pipelines/difficulty/tiers.js';
import type { StageContext } from '../../../pipelines/shared/runner/stage.js';
import { modelGenerators, modelSynthesisConfigSchema, modelSynthesisResultConfig, noEndpointNote, openModelSynthesis, type ModelSynthesisConfigInput } from '../../../pipelines/synthesize/model/index.js';
import { recaptionGenerator } from '../../../pipelines/synthesize/model/recaption.js';
import { teacherQuestionsGenerator } from '../../../pipelines/synthesize/model/teacher-questions.js';
import { mulberry32 } from '../../../pipelines/shared/random.js';
import type { Sample } from '../../../schemas/sample.js';
import { itemTag, startFakePolicyServer, type FakeChatRequest, type FakeItem, type FakePolicyServer } from '../../support/openai-server.js';
import { createWorkspace, type Workspace } from '../../support/workspace.js';
import { CAPTIONER, SOLVER, TEACHER, captionSample, contextIn, modelConfig, offerAll, originalIn, stageContextIn, teacherItems } from './support.js';

const ENTITIES = ['Golden Gate Bridge', 'Angela Merkel', 'Lufthansa', 'Mount Fuji', 'NASA', 'Statue of Liberty', 'São Paulo', 'Leonardo da Vinci'];
const NOUNS = ['boats', 'gulls', 'cyclists', 'tents', 'flags', 'kites'];
const pick = <T>(random: () => number, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

let ws: Workspace;
let stage: StageContext;
let server: FakePolicyServer | null = null;

beforeEach(async () => {
  ws = await createWorkspace('stratum-synth-model-');
  stage = await stageContextIn(ws.dir);
});
afterEach(async () => {
  await server?.close();
  server = null;
  await ws.cleanup();
});

describe('recaption against a loopback captioner', () => {
  type Outcome = 'good' | 'drop_number' | 'drop_entity' | 'change_number' | 'refuse' | 'boilerplate' | 'too_short' | 'truncated' | 'quoted_good';
  const OUTCOMES: Outcome[] = ['good', 'drop_number', 'drop_entity', 'change_number', 'refuse', 'boilerplate', 'too_short', 'truncated', 'quoted_good'];
  const EXPECTED: Record<Outcome, string | null> = {
    good: null,
    quoted_good: null,
    drop_number: 'recaption_dropped_number',
    change_number: 'recaption_dropped_number',
    drop_entity: 'recaption_dropped_entity',
    refuse: 'recaption_refused',
    boilerplate: 'recaption_boilerplate',
    too_short: 'recaption_too_short',
    truncated: 'recaption_truncated',
  };

  it('keeps rewrites that keep the facts and rejects the rest with a specific reason, over many generated captions', async () => {
    const random = mulberry32(41);
    const plan = new Map<string, { outcome: Outcome; entity: string; n: number; noun: string; year: number }>();
    const samples: Sample[] = [];
    for (let i = 0; i < 45; i++) {
      const entity = pick(random, ENTITIES);
      const n = 2 + Math.floor(random() * 90);
      const noun = pick(random, NOUNS);
      const year = 1950 + Math.floor(random() * 70);
      const caption = `A photo of ${entity} with ${n} ${noun}, taken in ${year}.`;
      plan.set(caption, { outcome: OUTCOMES[i % OUTCOMES.length]!, entity, n, noun, year });
      samples.push(await captionSample(stage, i, caption));
    }
    server = await startFakePolicyServer({
      items: [],
      model: CAPTIONER,
      respond: (req) => {
        const p = plan.get(originalIn(req) ?? '');
        if (!p) return 'unexpected prompt';
        const good = `A wide view of the ${p.entity} on a clear day, with ${p.n} ${p.noun} spread across the foreground; the photo dates from ${p.year}.`;
        switch (p.outcome) {
          case 'good':
            return good;
          case 'quoted_good':
            return `"${good}"`;
          case 'drop_number':
            return good.replace(` ${p.n} `, ' many ');
          case 'change_number':
            return good.replace(` ${p.n} `, ` ${p.n + 1} `);
          case 'drop_entity':
            return good.replace(`the ${p.entity}`, 'a famous landmark');
          case 'refuse':
            return "I'm sorry, but I can't see images, so I am unable to rewrite this caption.";
          case 'boilerplate':
            return `Sure! Here is the rewritten caption: ${good}`;
          case 'too_short':
            return `${p.entity}, ${p.n}, ${p.year}.`;
          case 'truncated':
            return { content: good.slice(0, 60), finishReason: 'length' };
        }
      },
    });
    const ctx = await openModelSynthesis(stage, modelConfig(server.baseUrl, { recaption: { minChars: 40 } }));
    const offered = await offerAll(samples, [recaptionGenerator(ctx.config.recaption)], ctx);
    expect(offered).toHaveLength(samples.length);
    const reasons = new Map<string, number>();
    for (const { sample, result } of offered) {
      const caption = sample.content.find((p) => p.type === 'text')!.text!;
      const p = plan.get(caption)!;
      const expected = EXPECTED[p.outcome];
      expect(result.tasks).toEqual([]);
      if (expected === null) {
        expect(result.skipped, caption).toEqual([]);
        expect(result.derived).toHaveLength(1);
        const derived = result.derived![0]!;
        expect(derived.key).toBe('recaption');
        const text = derived.overrides.content!.find((c) => c.type === 'text')!.text!;
        expect(text).toContain(`${p.n} ${p.noun}`);
        expect(text.startsWith('"')).toBe(false);
        expect(derived.overrides.content![0]).toEqual(sample.content[0]);
        expect(JSON.parse(derived.overrides.meta!)).toMatchObject({ recaption: { original: caption, model: CAPTIONER, attempt: 0 } });
      } else {
        expect(result.derived ?? []).toEqual([]);
        expect(result.skipped.map((s) => s.reason), `${p.outcome}: ${caption}`).toEqual([expected]);
        const detail = result.skipped[0]!.detail;
        if (p.outcome === 'drop_number' || p.outcome === 'change_number') expect(detail.missing).toEqual([String(p.n)]);
        if (p.outcome === 'drop_entity') expect(detail.missing).toEqual([p.entity]);
      }
      reasons.set(expected ?? 'kept', (reasons.get(expected ?? 'kept') ?? 0) + 1);
    }
    expect(reasons.get('kept')).toBe(10);
    expect(server.stats.requests).toBe(samples.length);
    expect(server.stats.imagesSeen).toBe(samples.length);
  });

  it('with attempts: 2 asks once more after a rejected rewrite (a new seed) and records the rejected one', async () => {
    const caption = 'The Golden Gate Bridge at dusk with 12 sailboats.';
    const sample = await captionSample(stage, 1, caption);
    server = await startFakePolicyServer({
      items: [],
      model: CAPTIONER,
      respond: (req) => (req.seed === 7 ? 'As an AI language model, I cannot see images.' : 'At dusk the Golden Gate Bridge glows above the bay, where 12 sailboats drift on calm water.'),
    });
    const ctx = await openModelSynthesis(stage, modelConfig(server.baseUrl, { recaption: { attempts: 2, seed: 7 } }));
    const result = await recaptionGenerator(ctx.config.recaption).generate(sample, ctx);
    expect(result.skipped).toEqual([]);
    expect(result.derived).toHaveLength(1);
    const meta = JSON.parse(result.derived![0]!.overrides.meta!) as { recaption: { attempt: number; rejected: { reason: string }[] } };
    expect(meta.recaption.attempt).toBe(1);
    expect(meta.recaption.rejected.map((r) => r.reason)).toEqual(['recaption_refused']);
    expect(server.stats.requests).toBe(2);
  });
});

describe('teacher questions checked by a solver', () => {
  interface Planned {
    id: string;
    answer: number;
    teacherRight: boolean;
    p: number;
  }

  /** `images` samples, each with three questions of random truth and solver skill, plus a malformed item and a repeat. */
  async function world(images: number, seed: number) {
    const random = mulberry32(seed);
    const questions = new Map<string, Planned[]>();
    const items: FakeItem[] = [];
    const samples: Sample[] = [];
    for (let i = 0; i < images; i++) {
      const caption = `Scene ${i} with objects on a table.`;
      const planned: Planned[] = [];
      for (let j = 0; j < 3; j++) {
        const id = `q${i}-${j}`;
        const answer = 2 + Math.floor(random() * 50);
        const p = pick(random, [1, 1, 0.9, 0.75, 0.5, 0.3, 0]);
        planned.push({ id, answer, teacherRight: random() < 0.65, p });
        items.push({ id, p, answer: String(answer), wrongAnswer: String(answer + 3) });
      }
      questions.set(caption, planned);
      samples.push(await captionSample(stage, 100 + i, caption));
    }
    const respond = (req: FakeChatRequest) => {
      if (req.model !== TEACHER) return undefined; // the solver answers from the items
      const planned = questions.get(contextIn(req) ?? '');
      if (!planned) return 'no idea';
      const body = teacherItems(planned.map((q) => ({ question: `${itemTag(q.id)} How many objects of kind ${q.id} are on the table?`, answer: String(q.teacherRight ? q.answer : q.answer + 7) })));
      // Reasoning first, a malformed item and a repeated question: all must be handled.
      return `<think>Let me look.</think>\n${body}\n<item><question>What colour is it?</question><answer>red</answer></item>\n${teacherItems([{ question: `${itemTag(planned[0]!.id)} How many objects of kind ${planned[0]!.id} are on the table?`, answer: '1' }])}`;
    };
    return { questions, items, samples, respond };
  }

  it('keeps a question only when the solver majority verifies the teacher answer; its k/n seeds the tier', async () => {
    const w = await world(14, 77);
    server = await startFakePolicyServer({ items: w.items, model: TEACHER, models: [SOLVER], seed: 3, respond: (req) => w.respond(req) });
    const ctx = await openModelSynthesis(stage, modelConfig(server.baseUrl));
    const offered = await offerAll(w.samples, [teacherQuestionsGenerator(ctx.config.questions)], ctx);
    let kept = 0;
    let rejectedWrong = 0;
    for (const { sample, result } of offered) {
      const planned = w.questions.get(sample.content.find((p) => p.type === 'text')!.text!)!;
      expect(result.skipped.filter((s) => s.reason === 'teacher_item_malformed')).toEqual([{ reason: 'teacher_item_malformed', detail: { item: 3, problem: 'no <type>' } }]);
      expect(result.skipped.filter((s) => s.reason === 'duplicate_question')).toHaveLength(1);
      for (const q of planned) {
        const tally = server.stats.choicesByItem.get(q.id)!;
        expect(tally.returned).toBe(8);
        const task = result.tasks.find((t) => t.task.question.includes(itemTag(q.id)));
        const skip = result.skipped.find((s) => String(s.detail.question ?? '').includes(itemTag(q.id)) && s.reason !== 'duplicate_question');
        // The solver says q.answer `correct` times and q.answer + 3 otherwise; the teacher's answer is q.answer or q.answer + 7.
        const agree = q.teacherRight ? tally.correct : 0;
        const rival = q.teacherRight ? tally.returned - tally.correct : Math.max(tally.correct, tally.returned - tally.correct);
        if (agree / tally.returned >= 0.6) {
          expect(task, q.id).toBeDefined();
          expect(skip).toBeUndefined();
          expect(task!.task.answer).toBe(`<|begin_of_box|>${q.answer}<|end_of_box|>`);
          expect(task!.task.verifier).toBe('math');
          expect(task!.overrides!.difficulty).toMatchObject({ k: agree, n: 8, pass_rate: agree / 8, tier: tierOfCounts(agree, 8), source: 'offline', per_model: [{ model: `solver:${SOLVER}`, k: agree, n: 8 }] });
          expect(task!.overrides!.content).toEqual([sample.content[0], { type: 'text', text: task!.task.question, media_id: null }]);
          expect(task!.overrides!.kind).toBe('qa');
          expect(task!.key).toMatch(/^q-[0-9a-f]{16}$/);
          kept++;
        } else {
          expect(task, q.id).toBeUndefined();
          expect(skip?.reason, q.id).toBe(rival / tally.returned >= 0.6 ? 'solver_disagrees' : 'no_clear_majority');
          expect(skip!.detail).toMatchObject({ k: agree, n: 8, majority: 0.6 });
          if (!q.teacherRight) rejectedWrong++;
        }
      }
      expect(new Set(result.tasks.map((t) => t.key)).size).toBe(result.tasks.length);
    }
    const wrong = [...w.questions.values()].flat().filter((q) => !q.teacherRight).length;
    expect(rejectedWrong).toBe(wrong); // every wrong teacher answer is rejected
    expect(kept).toBeGreaterThan(5);
    // One teacher request per image, one solver request (n = 8) per distinct question.
    expect(server.stats.requestsByModel.get(TEACHER)).toBe(14);
    expect(server.stats.requestsByModel.get(SOLVER)).toBe(14 * 3);
  });

  it('a rerun with a fresh worker replays every request from the journal: same results, no new request', async () => {
    const w = await world(6, 78);
    server = await startFakePolicyServer({ items: w.items, model: TEACHER, models: [SOLVER, CAPTIONER], seed: 3, respond: (req) => (req.model === CAPTIONER ? `A table with objects in scene ${req.text.length}, seen from above in soft light.` : w.respond(req)) });
    const config = modelSynthesisConfigSchema.parse(modelConfig(server.baseUrl));
    const first = await offerAll(w.samples, modelGenerators(config), await openModelSynthesis(stage, config));
    const requests = server.stats.requests;
    expect(requests).toBe(6 + 6 + 6 * 3);
    const ctx = await openModelSynthesis(await stageContextIn(ws.dir), config);
    const second = await offerAll(w.samples, modelGenerators(config), ctx);
    expect(server.stats.requests).toBe(requests);
    expect(second).toEqual(first);
    expect(ctx.counters.solver).toEqual({ requests: 0, replayed: 6 * 3 * 8 });
    expect(ctx.counters.teacher.requests + ctx.counters.recaption.requests).toBe(0);
  });

  it('a larger solver n asks only for the extra answers', async () => {
    const w = await world(3, 79);
    server = await startFakePolicyServer({ items: w.items, model: TEACHER, models: [SOLVER], seed: 3, respond: (req) => w.respond(req) });
    const generate = async (n: number) => {
      const ctx = await openModelSynthesis(stage, modelConfig(server!.baseUrl, { questions: { solver: { endpoint: { name: 'solve', baseUrl: server!.baseUrl, model: SOLVER }, n } } }));
      return offerAll(w.samples, [teacherQuestionsGenerator(ctx.config.questions)], ctx);
    };
    await generate(8);
    const choices = server.stats.choicesReturned;
    const at12 = await generate(12);
    expect(server.stats.choicesReturned - choices).toBe(3 * 3 * 4);
    for (const { result } of at12) for (const t of result.tasks) expect(t.overrides!.difficulty!.n).toBe(12);
  });

  it('says why when the teacher writes nothing parseable or the server refuses the model', async () => {
    const sample = await captionSample(stage, 5, 'A scene.');
    server = await startFakePolicyServer({ items: [], model: TEACHER, models: [SOLVER], respond: (req) => (req.model === TEACHER ? 'Question: how many? Answer: 3' : undefined) });
    const ctx = await openModelSynthesis(stage, modelConfig(server.baseUrl));
    const result = await teacherQuestionsGenerator(ctx.config.questions).generate(sample, ctx);
    expect(result.skipped).toEqual([{ reason: 'teacher_unparseable', detail: { excerpt: 'Question: how many? Answer: 3' } }]);

    const wrongModel: ModelSynthesisConfigInput = modelConfig(server.baseUrl, { questions: { teacher: { endpoint: { name: 't', baseUrl: server.baseUrl, model: 'no-such-model' } } } });
    const ctx2 = await openModelSynthesis(stage, wrongModel);
    const rejected = await teacherQuestionsGenerator(ctx2.config.questions).generate(sample, ctx2);
    expect(rejected.skipped).toHaveLength(1);
    expect(rejected.skipped[0]).toMatchObject({ reason: 'request_rejected', detail: { role: 'teacher', status: 404 } });
  });
});

describe('without endpoints', () => {
  it('each model generator skips with reason no_endpoint, the note names what to set, and nothing throws', async () => {
    const samples = [await captionSample(stage, 1, 'A photo of NASA staff with 3 rockets.'), await captionSample(stage, 2, 'Boats on the Thames.')];
    const config = modelSynthesisConfigSchema.parse({});
    const ctx = await openModelSynthesis(stage, config);
    const offered = await offerAll(samples, modelGenerators(config), ctx);
    expect(offered).toHaveLength(4);
    for (const { result } of offered) {
      expect(result.tasks).toEqual([]);
      expect(result.skipped.map((s) => s.reason)).toEqual(['no_endpoint']);
    }
    const note = noEndpointNote(config)!;
    expect(note).toContain('synthesize.models.recaption.endpoint');
    expect(note).toContain('synthesize.models.questions.teacher.endpoint and synthesize.models.questions.solver.endpoint');
    expect(note).toMatch(/skip every sample \(reason no_endpoint\)/);
    expect(noEndpointNote(config, ['count_boxes'])).toBeNull();
    const partial = modelSynthesisConfigSchema.parse({ recaption: { endpoint: { name: 'c', baseUrl: 'http://127.0.0.1:9/v1', model: 'm' } } });
    expect(noEndpointNote(partial)).not.toContain('recaption needs');
  });

  it('a template override without its placeholders is a config error naming them', async () => {
    await ws.write('my-recaption.md', 'Rewrite this caption.');
    await expect(openModelSynthesis(stage, { recaption: { template: 'my-recaption.md' } })).rejects.toThrow(/lacks the placeholder\(s\) \{\{caption\}\}/);
    await ws.write('ok-recaption.md', 'Caption: {{caption}}. Rewrite it.');
    const ctx = await openModelSynthesis(stage, { recaption: { template: 'ok-recaption.md' } });
    expect(ctx.templates.recaption.path).toBe(ws.path('ok-recaption.md'));
  });

  it('the result config for the stage hash follows results, not operations: prompt text yes, concurrency or keys no', async () => {
    await ws.write('p.md', 'Caption: {{caption}}');
    const base = { recaption: { endpoint: { name: 'c', baseUrl: 'http://127.0.0.1:9/v1', model: 'm', apiKeyEnv: 'SECRET' }, template: 'p.md' } };
    const hash = (input: ModelSynthesisConfigInput) => stableHash(modelSynthesisResultConfig(input, ws.dir));
    const h0 = hash(base);
    expect(hash({ ...base, concurrency: 3, timeoutMs: 5, maxRetries: 0 })).toBe(h0);
    expect(JSON.stringify(modelSynthesisResultConfig(base, ws.dir))).not.toContain('SECRET');
    expect(hash({ recaption: { ...base.recaption, maxChars: 100 } })).not.toBe(h0);
    expect(hash({ recaption: { ...base.recaption, endpoint: { ...base.recaption.endpoint, model: 'm2' } } })).not.toBe(h0);
    await ws.write('p.md', 'Rewrite: {{caption}}');
    expect(hash(base)).not.toBe(h0);
  });
});

describe('registry entries', () => {
  it('carry the generators’ names and versions, and default to disabled', async () => {
    const { recaptionEntry, teacherQuestionsEntry } = await import('../../../pipelines/synthesize/model/entries.js');
    const { RECAPTION, RECAPTION_VERSION, TEACHER_QUESTIONS, TEACHER_QUESTIONS_VERSION } = await import('../../../pipelines/synthesize/model/index.js');
    expect([recaptionEntry.generator.name, recaptionEntry.generator.version]).toEqual([RECAPTION, RECAPTION_VERSION]);
    expect([teacherQuestionsEntry.generator.name, teacherQuestionsEntry.generator.version]).toEqual([TEACHER_QUESTIONS, TEACHER_QUESTIONS_VERSION]);
    expect(recaptionEntry.options.parse({})).toEqual({ enabled: false });
    expect(teacherQuestionsEntry.options.parse({})).toEqual({ enabled: false });
  });
});
