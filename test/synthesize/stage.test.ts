import { afterAll, describe, expect, it } from 'vitest';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { cocoShapes, randomLayout, renderShapes, SHAPES, type ShapeObject } from '../support/shape-scenes.js';
import { createWorkspace, queryShards, runCli, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

const W = 320;
const H = 240;

/**
 * Eight shape images (two per unit) with random counts; image 2 has a crowd region of squares,
 * image 5 a tiny circle; plus multiple-choice QA rows. Returns the ground-truth counts per image.
 */
async function fixture(): Promise<{ ws: Workspace; cfg: string; truth: Map<string, number> }> {
  const ws = await createWorkspace('stratum-synth-');
  workspaces.push(ws);
  const rng = mulberry32(42);
  const images = [];
  const truth = new Map<string, number>();
  for (let id = 1; id <= 8; id++) {
    const counts = Object.fromEntries(SHAPES.map((s) => [s, Math.floor(rng() * 4)]));
    const objects: ShapeObject[] = randomLayout(100 + id, W, H, counts, { minSize: 20, maxSize: 40, gap: 8 });
    if (id === 2) objects.push({ category: 'square', bbox: [2, 2, 40, 30], crowd: true });
    if (id === 5) objects.push({ category: 'circle', bbox: [W - 5, H - 5, 3, 3] });
    for (const s of SHAPES) truth.set(`${id}/${s}`, objects.filter((o) => o.category === s && !o.crowd).length);
    const file_name = `s${id}.png`;
    await ws.write(`shapes/${file_name}`, await renderShapes(objects, W, H, id));
    images.push({ id, file_name, width: W, height: H, objects });
  }
  await ws.write('shapes/instances_shapes.json', JSON.stringify(cocoShapes(images)));
  const rows = [
    { id: 'm1', question: 'A train travels 60 km in 1.5 hours. What is its speed in km/h?', options: ['30', '40', '45', '90'], answer: 'B' },
    { id: 'm2', question: 'Which of the following is a prime number?', options: ['4', '6', '7', '9'], answer: 'C' },
    { id: 'm3', question: 'What is half of one?', options: ['0.5', '1/2', '2', '1'], answer: 'A' },
  ];
  await ws.write('mc.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const config: PipelineConfigInput = {
    datasets: {
      s: {
        sources: [
          { name: 'shapes', type: 'grounding', format: 'coco', path: 'shapes/instances_shapes.json', imageRoot: 'shapes', tasks: ['category'], imagesPerUnit: 2 },
          { name: 'mc', type: 'qa', path: 'mc.jsonl', format: 'jsonl', fields: { id: 'id', question: 'question', answer: 'answer', choices: 'options' } },
        ],
        synthesize: { seed: 3 },
      },
    },
  };
  await ws.config(config);
  const cfg = ws.path('pipeline.config.ts');
  const ingest = await runCli(['run', 'ingest', '--config', cfg]);
  expect(ingest.code, ingest.stderr).toBe(0);
  return { ws, cfg, truth };
}

async function snapshot(ws: Workspace) {
  const loaded = await ws.config(JSON.parse(JSON.stringify((await import(ws.path('pipeline.config.ts'))).default)));
  return {
    samples: await queryShards(loaded, `SELECT * EXCLUDE (source) , source.name AS source_name, source.locator AS locator FROM synthesize_samples ORDER BY id`),
    ledger: await queryShards(loaded, `SELECT sample_id, decision, reason, details FROM ledger WHERE stage = 'synthesize' ORDER BY sample_id`),
    outcomes: await queryShards(loaded, `SELECT * FROM synthesize_outcomes ORDER BY source_id, generator, outcome, reason, derived_id, details`),
  };
}

describe('synthesize stage', () => {
  it('passes every input through, adds derived samples whose counts equal the ground truth, skips planted crowd and tiny boxes with reasons, and is deterministic', async () => {
    const a = await fixture();
    const run = await runCli(['run', 'synthesize', '--config', a.cfg]);
    expect(run.code, run.stderr).toBe(0);
    const snap = await snapshot(a.ws);
    const ingested = await queryShards(await a.ws.config(JSON.parse(JSON.stringify((await import(a.ws.path('pipeline.config.ts'))).default))), `SELECT id FROM ingest_samples ORDER BY id`);
    // one ledger row per input, all kept; sources unchanged and present; derived rows carry derived_from
    expect(snap.ledger.map((r) => r.sample_id)).toEqual(ingested.map((r) => r.id));
    expect(snap.ledger.every((r) => r.decision === 'kept')).toBe(true);
    const sources = snap.samples.filter((s) => s.derived_from === null);
    const derived = snap.samples.filter((s) => s.derived_from !== null);
    expect(sources.length).toBe(ingested.length);
    expect(derived.length).toBe(snap.outcomes.filter((o) => o.outcome === 'generated').length);
    for (const d of derived) {
      const from = d.derived_from as { sample_id: string; generator: string; generator_version: number };
      expect(sources.some((s) => s.id === from.sample_id)).toBe(true);
      expect(from.generator_version).toBe(1);
    }
    // counts: every count question's answer is the ground truth for its image and shape
    const counts = derived.filter((d) => (d.derived_from as { generator: string }).generator === 'count_boxes');
    expect(counts.length).toBeGreaterThan(5);
    for (const c of counts) {
      const meta = JSON.parse(c.meta as string) as { image: string; category: string; count: number };
      const answer = Number(/box\|>(\d+)</.exec((c.task as { answer: string }).answer)![1]);
      expect(answer).toBe(a.truth.get(`${meta.image}/${meta.category}`));
    }
    const skips = snap.outcomes.filter((o) => o.generator === 'count_boxes' && o.outcome === 'skipped').map((o) => [o.reason, JSON.parse(o.details as string).category]);
    expect(skips).toEqual(expect.arrayContaining([['crowd_region', 'square'], ['tiny_boxes', 'circle']]));
    expect(counts.some((c) => JSON.parse(c.meta as string).image === '2' && JSON.parse(c.meta as string).category === 'square')).toBe(false);
    // MC → open: the speed question opens up; the "which of the following" and the 0.5 = 1/2 ones do not
    const open = snap.outcomes.filter((o) => o.generator === 'mc_to_open').map((o) => o.reason).sort();
    expect(open).toEqual(['ok', 'options_equivalent', 'question_refers_to_options']);
    // the ledger names what each generator made
    const made = snap.ledger.map((r) => JSON.parse(r.details as string) as Record<string, { made: number }>);
    expect(made.reduce((n, d) => n + Object.values(d).reduce((m, g) => m + g.made, 0), 0)).toBe(derived.length);

    const b = await fixture();
    const again = await runCli(['run', 'synthesize', '--config', b.cfg]);
    expect(again.code, again.stderr).toBe(0);
    expect(await snapshot(b.ws)).toEqual(snap);
  }, 240_000);

  it.each(['unit-committed:2', 'commit-rename:3'])('SIGKILL at %s, then rerun, equals an uninterrupted run', async (fault) => {
    const clean = await fixture();
    const ok = await runCli(['run', 'synthesize', '--config', clean.cfg]);
    expect(ok.code, ok.stderr).toBe(0);
    const expected = await snapshot(clean.ws);

    const crashed = await fixture();
    const killed = await runCli(['run', 'synthesize', '--config', crashed.cfg], { env: { STRATUM_FAULT: fault } });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const resumed = await runCli(['run', 'synthesize', '--config', crashed.cfg]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout + resumed.stderr).toMatch(/unchanged/);
    expect(await snapshot(crashed.ws)).toEqual(expected);
  }, 240_000);
});

describe('synthesised tasks through difficulty and export', () => {
  it('are rated by a policy server like any task (tiers from pass rates) and exported to verl with their verifier', async () => {
    const { startFakePolicyServer, FAKE_MODEL } = await import('../support/openai-server.js');
    // The count template carries the fake server's item tag: the server answers "2" to every count
    // question with probability 0.5, so images with two of a shape rate `medium`, the others `unsolved`.
    const server = await startFakePolicyServer({ items: [{ id: 'count', p: 0.5, answer: '2', wrongAnswer: '0' }], seed: 4 });
    try {
      const ws = await createWorkspace('stratum-synth-tiers-');
      workspaces.push(ws);
      const objects = [randomLayout(1, W, H, { circle: 2, square: 3 }), randomLayout(2, W, H, { circle: 2, triangle: 1 })];
      const images = objects.map((o, i) => ({ id: i + 1, file_name: `t${i + 1}.png`, width: W, height: H, objects: o }));
      for (const img of images) await ws.write(`shapes/${img.file_name}`, await renderShapes(img.objects, W, H, img.id));
      await ws.write('shapes/instances_shapes.json', JSON.stringify(cocoShapes(images)));
      await ws.config({
        datasets: {
          s: {
            sources: [{ name: 'shapes', type: 'grounding', format: 'coco', path: 'shapes/instances_shapes.json', imageRoot: 'shapes', tasks: ['category'] }],
            synthesize: { generators: { spatial_relations: { enabled: false } }, templates: { count: ['[[item:count]] How many {{category_plural}} are there?'] } },
            filter: { embed: { enabled: false } },
            difficulty: { endpoints: [{ name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL }], n: 16, maxTokens: 256, seed: 1 },
            export: { formats: ['verl'] },
          },
        },
      } as PipelineConfigInput);
      const all = await runCli(['run', 'all', '--config', ws.path('pipeline.config.ts')]);
      expect(all.code, all.stderr).toBe(0);
      const loaded = await ws.config(JSON.parse(JSON.stringify((await import(ws.path('pipeline.config.ts'))).default)));
      const rated = await queryShards(loaded, `SELECT task.answer_raw AS answer, tier, difficulty.n AS n FROM difficulty_samples WHERE derived_from.generator = 'count_boxes' ORDER BY answer, tier`);
      expect(rated.map((r) => r.answer)).toEqual(['1', '2', '2', '3']);
      for (const r of rated) expect([r.n, r.tier]).toEqual([16, r.answer === '2' ? 'medium' : 'unsolved']);
      const exported = await queryShards(loaded, `SELECT extra_info.domain AS domain, count(*)::INT AS n FROM export_verl WHERE extra_info.question LIKE '%How many%' GROUP BY ALL`);
      expect(exported).toEqual([{ domain: 'counting', n: 4 }]);
    } finally {
      await server.close();
    }
  }, 300_000);
});
