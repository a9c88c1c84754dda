/**
 * The model generators wired into the real stages, against the loopback OpenAI-compatible server:
 * ingest → synthesize (recaption + teacher_questions + the rule generators) → filter → difficulty →
 * export. Wrong teacher answers are rejected and right ones kept with `derived_from` and a seeded
 * tier; a SIGKILL mid-synthesize and a rerun ask the server nothing twice and give the same output;
 * with the generators enabled and no endpoint, one plain message and the run completes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { itemTag, startFakePolicyServer, type FakeChatRequest, type FakeItem, type FakePolicyServer } from '../support/openai-server.js';
import { cocoShapes, randomLayout, renderShapes } from '../support/shape-scenes.js';
import { createWorkspace, makePng, queryShards, runCli, type Workspace } from '../support/workspace.js';

const CAPTIONER = 'fake-captioner';
const TEACHER = 'fake-teacher';
const SOLVER = 'fake-solver';
const IMAGES = 4;

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

/** Per image two questions: `t<i>` the teacher answers right, `w<i>` wrong (answer + 7). */
function world() {
  const items: FakeItem[] = [];
  for (let i = 0; i < IMAGES; i++) {
    items.push({ id: `t${i}`, p: 0.75, answer: String(10 + i), wrongAnswer: String(40 + i) });
    items.push({ id: `w${i}`, p: 0.875, answer: String(20 + i), wrongAnswer: String(50 + i) });
  }
  const respond = (req: FakeChatRequest): string | undefined => {
    const scene = /scene (\d+)/.exec(req.text)?.[1];
    if (req.model === CAPTIONER) return `Seen from above, scene ${scene} shows 3 red boats moored beside the Golden Gate Bridge at dusk.`;
    if (req.model !== TEACHER) return undefined; // the solver (and the difficulty policy) answer from the items
    const i = Number(scene);
    return [
      `<item>\n<question>${itemTag(`t${i}`)} How many boats are in scene ${i}?</question>\n<answer>${10 + i}</answer>\n<type>numeric</type>\n</item>`,
      `<item>\n<question>${itemTag(`w${i}`)} How many gulls are in scene ${i}?</question>\n<answer>${27 + i}</answer>\n<type>numeric</type>\n</item>`,
    ].join('\n\n');
  };
  return { items, respond };
}

async function workspace(baseUrl: string | null, generatorsOn = true): Promise<{ ws: Workspace; cfg: string }> {
  const ws = await createWorkspace('stratum-synth-e2e-');
  workspaces.push(ws);
  for (let i = 0; i < IMAGES; i++) {
    await ws.write(`photos/p${i}.png`, await makePng(500 + i, 96, 72));
    await ws.write(`photos/p${i}.txt`, `Three red boats near the Golden Gate Bridge in scene ${i}.`);
  }
  const objects = [randomLayout(1, 320, 240, { circle: 2, square: 3 })];
  const images = objects.map((o, i) => ({ id: i + 1, file_name: `s${i + 1}.png`, width: 320, height: 240, objects: o }));
  for (const img of images) await ws.write(`shapes/${img.file_name}`, await renderShapes(img.objects, 320, 240, img.id));
  await ws.write('shapes/instances_shapes.json', JSON.stringify(cocoShapes(images)));
  const endpoint = (name: string, model: string) => (baseUrl ? { endpoint: { name, baseUrl, model } } : {});
  const config: PipelineConfigInput = {
    datasets: {
      e: {
        sources: [
          { name: 'photos', type: 'caption', layout: 'folder', path: 'photos' },
          { name: 'shapes', type: 'grounding', format: 'coco', path: 'shapes/instances_shapes.json', imageRoot: 'shapes', tasks: ['category'] },
        ],
        synthesize: {
          generators: { recaption: { enabled: generatorsOn }, teacher_questions: { enabled: generatorsOn }, spatial_relations: { enabled: false } },
          models: {
            concurrency: 1,
            maxRetries: 1,
            recaption: { ...endpoint('cap', CAPTIONER), minChars: 10 },
            questions: { domain: 'math', perSample: 2, teacher: endpoint('teach', TEACHER), solver: { ...endpoint('solve', SOLVER), n: 8 } },
          },
        },
        filter: { embed: { enabled: false } },
        ...(baseUrl ? { difficulty: { endpoints: [{ name: 'policy', baseUrl, model: SOLVER }], n: 8, maxTokens: 256, seed: 1 } } : {}),
        export: { formats: ['verl'] },
      },
    },
  } as PipelineConfigInput;
  await ws.config(config);
  return { ws, cfg: ws.path('pipeline.config.ts') };
}

async function loadedOf(ws: Workspace) {
  return ws.config(JSON.parse(JSON.stringify((await import(ws.path('pipeline.config.ts'))).default)));
}

/** Request ids are fresh per request (a uuid in the journal), so two workspaces differ only there. */
const withoutRequestIds = (meta: unknown) => String(meta).replace(/"request_id":"[0-9a-f-]+"/g, '"request_id":"…"');

async function synthesized(ws: Workspace) {
  const loaded = await loadedOf(ws);
  return {
    samples: (await queryShards(loaded, `SELECT id, kind, content, task, difficulty, meta, derived_from FROM synthesize_samples ORDER BY id`)).map((s): Record<string, unknown> => ({ ...s, meta: withoutRequestIds(s.meta) })),
    outcomes: await queryShards(loaded, `SELECT * FROM synthesize_outcomes ORDER BY source_id, generator, outcome, reason, derived_id, details`),
  };
}

const PER_RUN = IMAGES * (1 + 1 + 2); // per caption image: recaption, teacher, a solver request per question

describe('model generators through the real stages', () => {
  let server: FakePolicyServer | null = null;
  afterAll(() => server?.close());

  it('ingest → synthesize → filter → difficulty → export: wrong teacher answers rejected, right ones kept and tiered, recaptions derived', async () => {
    const w = world();
    server = await startFakePolicyServer({ items: w.items, model: TEACHER, models: [SOLVER, CAPTIONER], seed: 5, respond: w.respond });
    const { ws, cfg } = await workspace(server.baseUrl);
    const all = await runCli(['run', 'all', '--config', cfg]);
    expect(all.code, all.stderr).toBe(0);
    const { samples, outcomes } = await synthesized(ws);
    const from = (s: Record<string, unknown>) => s.derived_from as { sample_id: string; generator: string; generator_version: number } | null;
    const questions = samples.filter((s) => from(s)?.generator === 'teacher_questions');
    const recaptions = samples.filter((s) => from(s)?.generator === 'recaption');
    const counts = samples.filter((s) => from(s)?.generator === 'count_boxes');
    expect(recaptions).toHaveLength(IMAGES);
    for (const r of recaptions) expect(r.task).toBeNull();
    expect(counts.length).toBeGreaterThan(0);
    // every right teacher answer kept (solver agrees 6/8 or more), every wrong one rejected
    const text = (s: Record<string, unknown>) => JSON.stringify(s.content);
    for (let i = 0; i < IMAGES; i++) {
      expect(questions.some((q) => text(q).includes(itemTag(`w${i}`)))).toBe(false);
    }
    const kept = questions.filter((q) => /\[\[item:t\d\]\]/.test(text(q)));
    expect(kept.length).toBe(questions.length);
    const rejected = outcomes.filter((o) => o.generator === 'teacher_questions' && o.outcome === 'skipped').map((o) => o.reason);
    expect(rejected.length + kept.length).toBe(IMAGES * 2);
    expect(rejected.length).toBeGreaterThanOrEqual(IMAGES);
    for (const r of rejected) expect(['solver_disagrees', 'no_clear_majority']).toContain(r);
    for (const q of kept) {
      const d = q.difficulty as { tier: string; per_model: { model: string }[] };
      expect(d.tier).not.toBe('unrated');
      expect(d.per_model.map((m) => m.model)).toEqual([`solver:${SOLVER}`]);
    }
    // difficulty keeps the solver's seeded rate and pools the policy's rollouts with it
    const loaded = await loadedOf(ws);
    const rated = await queryShards(loaded, `SELECT difficulty.n AS n, difficulty.per_model AS per_model, tier FROM difficulty_samples WHERE derived_from.generator = 'teacher_questions'`);
    expect(rated.length).toBeGreaterThan(0);
    for (const r of rated) {
      expect((r.per_model as { model: string }[]).map((m) => m.model)).toEqual([`solver:${SOLVER}`, SOLVER]);
      expect(r.n).toBe(16);
      expect(r.tier).not.toBe('unrated');
    }
    const exported = await queryShards(loaded, `SELECT count(*)::INT AS n FROM export_verl WHERE extra_info.question LIKE '%[[item:t%'`);
    expect(exported[0]!.n).toBe(rated.length);
  }, 400_000);

  it('SIGKILL mid-synthesize, rerun: nothing journalled is asked again and the output equals an uninterrupted run', async () => {
    const w = world();
    const clean = await startFakePolicyServer({ items: w.items, model: TEACHER, models: [SOLVER, CAPTIONER], seed: 5, respond: w.respond });
    let expected;
    try {
      const a = await workspace(clean.baseUrl);
      expect((await runCli(['run', 'ingest', '--config', a.cfg])).code).toBe(0);
      const ok = await runCli(['run', 'synthesize', '--config', a.cfg]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(clean.stats.requests).toBe(PER_RUN);
      expected = await synthesized(a.ws);
    } finally {
      await clean.close();
    }
    const s = await startFakePolicyServer({ items: w.items, model: TEACHER, models: [SOLVER, CAPTIONER], seed: 5, respond: w.respond });
    try {
      const b = await workspace(s.baseUrl);
      expect((await runCli(['run', 'ingest', '--config', b.cfg])).code).toBe(0);
      const KILL_AT = 7;
      const killed = await runCli(['run', 'synthesize', '--config', b.cfg], { env: { STRATUM_FAULT: `journal-append:${KILL_AT}` } });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const atKill = s.stats.requests;
      const resumed = await runCli(['run', 'synthesize', '--config', b.cfg]);
      expect(resumed.code, resumed.stderr).toBe(0);
      // the rerun asks only for what was not journalled before the kill
      expect(s.stats.requests - atKill).toBe(PER_RUN - KILL_AT);
      expect(await synthesized(b.ws)).toEqual(expected);
      const again = await runCli(['run', 'synthesize', '--config', b.cfg]);
      expect(again.code, again.stderr).toBe(0);
      expect(s.stats.requests - atKill).toBe(PER_RUN - KILL_AT);
    } finally {
      await s.close();
    }
  }, 400_000);

  it('no endpoint configured but the generators enabled: one plain message, skip reasons, the run completes', async () => {
    const { ws, cfg } = await workspace(null);
    expect((await runCli(['run', 'ingest', '--config', cfg])).code).toBe(0);
    const run = await runCli(['run', 'synthesize', '--config', cfg]);
    expect(run.code, run.stderr).toBe(0);
    // one message naming both generators and what to set
    expect(run.stderr.match(/no model endpoint/g)).toHaveLength(1);
    expect(run.stderr).toContain('no model endpoint for recaption needs synthesize.models.recaption.endpoint; teacher_questions needs synthesize.models.questions.teacher.endpoint and synthesize.models.questions.solver.endpoint');
    const { outcomes, samples } = await synthesized(ws);
    const reasons = outcomes.filter((o) => o.generator === 'recaption' || o.generator === 'teacher_questions').map((o) => o.reason);
    expect(reasons).toHaveLength(IMAGES * 2);
    expect(new Set(reasons)).toEqual(new Set(['no_endpoint']));
    expect(samples.some((s) => (s.derived_from as { generator: string } | null)?.generator === 'count_boxes')).toBe(true);
  }, 300_000);
});

describe('labels flow to derived tasks', () => {
  it('an open form made from a labelled multiple-choice row keeps its source and `level`, so difficulty.labels tiers it without a server', async () => {
    const ws = await createWorkspace('stratum-synth-labels-');
    workspaces.push(ws);
    const rows = [
      { id: 'm1', question: 'A train travels 60 km in 1.5 hours. What is its speed in km/h?', options: ['30', '40', '45', '90'], answer: 'B', level: 'Level 2' },
      { id: 'm2', question: 'A rectangle has sides 7 and 9. What is its area?', options: ['16', '32', '63', '79'], answer: 'C', level: 'Level 5' },
      { id: 'm3', question: 'What is 17 times 3?', options: ['41', '51', '54', '61'], answer: 'B' },
    ];
    await ws.write('mc.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await ws.config({
      datasets: {
        l: {
          sources: [{ name: 'mc', type: 'qa', path: 'mc.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer', choices: 'options' } }],
          synthesize: {},
          filter: { embed: { enabled: false } },
          difficulty: { labels: [{ field: 'level', sources: ['mc'], map: { '2': 'easy', '5': 'hard' } }] },
          export: { formats: ['verl'] },
        },
      },
    } as PipelineConfigInput);
    const all = await runCli(['run', 'all', '--config', ws.path('pipeline.config.ts')]);
    expect(all.code, all.stderr).toBe(0);
    const loaded = await loadedOf(ws);
    const rated = await queryShards(loaded, `SELECT task.answer_raw AS answer, tier, difficulty.source AS source FROM difficulty_samples WHERE derived_from.generator = 'mc_to_open' ORDER BY answer`);
    expect(rated).toEqual([
      { answer: '40', tier: 'easy', source: 'human' },
      { answer: '51', tier: 'unrated', source: null },
      { answer: '63', tier: 'hard', source: 'human' },
    ]);
  }, 300_000);
});
