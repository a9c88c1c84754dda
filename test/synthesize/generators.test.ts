import { describe, expect, it } from 'vitest';
import type { Task } from '../../schemas/sample.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { validateConfig } from '../../pipelines/shared/config/validate.js';
import { verifyDeterministic } from '../../pipelines/verify/deterministic.js';
import { countBoxes } from '../../pipelines/synthesize/rule/count-boxes.js';
import { mcToOpen } from '../../pipelines/synthesize/rule/mc-to-open.js';
import { readText } from '../../pipelines/synthesize/rule/read-text.js';
import { spatialRelations } from '../../pipelines/synthesize/rule/spatial.js';
import { selfCheck } from '../../pipelines/synthesize/self-check.js';
import { Templates } from '../../pipelines/synthesize/templates.js';
import { contextFor, sampleWith } from './support.js';

type B = [number, number, number, number];
const objectsSample = (boxes: Array<{ category: string; box: B }>, crowd: Record<string, number> = {}) =>
  sampleWith({ meta: JSON.stringify({ image: '1', image_objects: { boxes, crowd } }) });

const area = (b: Task['boxes'][number]) => (b.x2 - b.x1) * (b.y2 - b.y1);
const inner = (answer: string) => /<\|begin_of_box\|>([\s\S]*)<\|end_of_box\|>/.exec(answer)![1]!;

describe('count_boxes', () => {
  it('counts every category as the boxes say and skips crowd, tiny and overlapping categories with their numbers', async () => {
    const sample = objectsSample(
      [
        { category: 'dog', box: [10, 10, 100, 100] },
        { category: 'dog', box: [200, 10, 300, 100] },
        { category: 'dog', box: [400, 10, 500, 100] },
        { category: 'cat', box: [10, 500, 100, 600] },
        { category: 'cat', box: [600, 600, 610, 608] }, // 80 units²: 0.00008 of the image
        { category: 'car', box: [100, 300, 300, 400] },
        { category: 'car', box: [110, 305, 310, 405] }, // IoU ≈ 0.82 with the one before
        { category: 'bus', box: [700, 700, 900, 900] },
        { category: 'person', box: [500, 300, 550, 400] },
      ],
      { person: 2, kite: 1 },
    );
    const { tasks, skipped } = await countBoxes.generator.generate(sample, contextFor(countBoxes, 1));
    expect(tasks.map((t) => [t.key, inner(t.task.answer)])).toEqual([['count:dog', '3'], ['count:bus', '1']]);
    expect(tasks.every((t) => t.task.verifier === 'counting' && t.task.boxes.length === Number(inner(t.task.answer)))).toBe(true);
    expect(tasks[0]!.task.question).toMatch(/dogs/);
    const byReason = Object.fromEntries(skipped.map((s) => [`${s.reason}:${s.detail.category}`, s.detail]));
    expect(Object.keys(byReason).sort()).toEqual(['crowd_region:kite', 'crowd_region:person', 'overlapping_boxes:car', 'tiny_boxes:cat']);
    expect(byReason['tiny_boxes:cat']).toMatchObject({ tiny: 1, boxes: 2, min_area: 0.0005 });
    expect(byReason['overlapping_boxes:car']!.max_iou).toBeGreaterThan(0.5);
    expect(byReason['crowd_region:person']).toMatchObject({ crowd_regions: 2, boxes: 1 });
    for (const t of tasks) expect((await selfCheck(t.task)).ok).toBe(true);
  });

  it('on 300 random images the count of every emitted question equals the number of boxes of its category', async () => {
    const rng = mulberry32(7);
    for (let n = 0; n < 300; n++) {
      const boxes: Array<{ category: string; box: B }> = [];
      const truth = new Map<string, number>();
      for (const category of ['apple', 'boat', 'sheep']) {
        const k = Math.floor(rng() * 6);
        for (let i = 0; i < k; i++) {
          const x = Math.floor(rng() * 900);
          const y = Math.floor(rng() * 900);
          const s = 2 + Math.floor(rng() * 95);
          boxes.push({ category, box: [x, y, x + s, y + s] });
        }
        truth.set(category, k);
      }
      const { tasks, skipped } = await countBoxes.generator.generate(objectsSample(boxes), contextFor(countBoxes, n));
      for (const t of tasks) expect(Number(inner(t.task.answer))).toBe(truth.get(t.key.slice('count:'.length)));
      // every category present is either asked or skipped with a reason
      const present = [...truth].filter(([, k]) => k > 0).map(([c]) => c).sort();
      expect([...tasks.map((t) => t.key.slice(6)), ...skipped.map((s) => String(s.detail.category))].sort()).toEqual(present);
    }
  });
});

/** What a spatial question claims, checked against the two boxes with the generator's default margins (independently of its code). */
function checkSpatial(task: Task, margin = 30, ratio = 1.5, minOverlap = 0.5): void {
  const [a, b] = task.boxes as [Task['boxes'][number], Task['boxes'][number]];
  const holds = (rel: string, m: number) =>
    rel === 'left' ? b.x1 - a.x2 >= m : rel === 'right' ? a.x1 - b.x2 >= m : rel === 'above' ? b.y1 - a.y2 >= m : a.y1 - b.y2 >= m;
  const opposite: Record<string, string> = { left: 'right', right: 'left', above: 'below', below: 'above' };
  const answer = inner(task.answer);
  const q = task.question;
  const overlap = (a1: number, a2: number, b1: number, b2: number) => Math.max(0, Math.min(a2, b2) - Math.max(a1, b1)) / Math.min(a2 - a1, b2 - b1);
  if (task.verifier === 'multiple_choice') {
    const picked = task.choices['ABCD'.indexOf(answer)]!;
    if (/larger|more of the image/.test(q)) {
      const [big, small] = picked === a.label ? [a, b] : [b, a];
      expect(area(big)).toBeGreaterThanOrEqual(ratio * area(small));
      return;
    }
    const rel = { 'to the left of': 'left', 'to the right of': 'right', above: 'above', below: 'below' }[picked]!;
    expect(holds(rel, margin), `${q} → ${picked}`).toBe(true);
    const horizontal = rel === 'left' || rel === 'right';
    expect(horizontal ? overlap(a.y1, a.y2, b.y1, b.y2) : overlap(a.x1, a.x2, b.x1, b.x2)).toBeGreaterThanOrEqual(minOverlap);
    for (const other of ['left', 'right', 'above', 'below'].filter((r) => r !== rel)) expect(holds(other, 0), `${q}: option ${other} is also true`).toBe(false);
    return;
  }
  expect(['yes', 'no']).toContain(answer);
  if (/larger/.test(q)) {
    const [big, small] = answer === 'yes' ? [a, b] : [b, a];
    expect(area(big)).toBeGreaterThanOrEqual(ratio * area(small));
    return;
  }
  const asked = /to the left of/.test(q) ? 'left' : /to the right of/.test(q) ? 'right' : / above /.test(q) ? 'above' : 'below';
  expect(holds(answer === 'yes' ? asked : opposite[asked]!, margin), `${q} → ${answer}`).toBe(true);
}

describe('spatial_relations', () => {
  it('on 2,000 random layouts every emitted question is decided by the geometry with its margin, and passes its own verifier', async () => {
    const rng = mulberry32(11);
    let emitted = 0;
    let ambiguous = 0;
    const names = ['ball', 'vase', 'lamp', 'chair', 'clock'];
    for (let n = 0; n < 2000; n++) {
      const boxes: Array<{ category: string; box: B }> = [];
      const count = 2 + Math.floor(rng() * 3);
      for (let i = 0; i < count; i++) {
        // Boxes clustered in a small area so that near-margin gaps and overlaps are common.
        const x = Math.floor(rng() * 400);
        const y = Math.floor(rng() * 400);
        const w = 10 + Math.floor(rng() * 150);
        const h = 10 + Math.floor(rng() * 150);
        boxes.push({ category: names[i]!, box: [x, y, x + w, y + h] });
      }
      if (rng() < 0.2) boxes.push({ category: names[0]!, box: [900, 900, 950, 950] }); // a second ball: never a subject
      const { tasks, skipped } = await spatialRelations.generator.generate(objectsSample(boxes), contextFor(spatialRelations, n));
      ambiguous += skipped.filter((s) => s.reason === 'ambiguous_layout').length;
      for (const t of tasks) {
        emitted++;
        checkSpatial(t.task);
        expect(t.task.boxes.some((b) => b.label === 'ball') && boxes.filter((b) => b.category === 'ball').length > 1).toBe(false);
      }
      for (const t of tasks.slice(0, 2)) expect((await selfCheck(t.task)).ok).toBe(true);
    }
    expect(emitted).toBeGreaterThan(1000);
    expect(ambiguous).toBeGreaterThan(50);
  });

  it('asks nothing about touching, overlapping or same-sized objects', async () => {
    const sample = objectsSample([
      { category: 'cup', box: [100, 100, 200, 200] },
      { category: 'plate', box: [210, 120, 310, 220] }, // 10 apart: under the 30 margin; same size
    ]);
    const { tasks, skipped } = await spatialRelations.generator.generate(sample, contextFor(spatialRelations, 3));
    expect(tasks).toEqual([]);
    expect(skipped).toEqual([{ reason: 'ambiguous_layout', detail: expect.objectContaining({ gap_x: 10, margin: 30 }) }]);
  });
});

describe('read_text', () => {
  const ocr = (origin: string, boxes: Task['boxes']) =>
    sampleWith({
      kind: 'ocr',
      signals: { content_hash: 'h', extra: JSON.stringify({ text_origin: origin }), quality: null, dedup: null, embedding: null },
      content: [{ type: 'image', text: null, media_id: 'a'.repeat(64) }, { type: 'text', text: boxes.map((b) => b.label).join('\n'), media_id: null }],
      task: { question: 'Read all the text in the image.', answer: '', answer_raw: '', answer_type: 'text', choices: [], boxes, verifier: 'ocr', solution: null },
    });

  it('asks for the text of separate regions of exact transcriptions only, without the transcription in the prompt', async () => {
    const boxes = [
      { label: 'Exit only', x1: 10, y1: 10, x2: 200, y2: 60 },
      { label: 'Gate B7', x1: 10, y1: 100, x2: 200, y2: 150 },
      { label: 'Overlap', x1: 150, y1: 120, x2: 300, y2: 170 },
      { label: 'x', x1: 500, y1: 500, x2: 520, y2: 520 },
    ];
    const { tasks, skipped } = await readText.generator.generate(ocr('synthetic', boxes), contextFor(readText, 1));
    expect(tasks.map((t) => inner(t.task.answer))).toEqual(['Exit only']);
    expect(skipped.map((s) => s.reason).sort()).toEqual(['overlapping_regions', 'overlapping_regions', 'text_too_short']);
    expect(tasks[0]!.overrides!.content!.map((p) => p.text ?? p.type)).toEqual(['image', tasks[0]!.task.question]);
    expect((await selfCheck(tasks[0]!.task)).ok).toBe(true);
    const pseudo = await readText.generator.generate(ocr('tesseract', boxes), contextFor(readText, 1));
    expect(pseudo).toEqual({ tasks: [], skipped: [{ reason: 'pseudo_label_text', detail: { text_origin: 'tesseract' } }] });
  });
});

describe('mc_to_open', () => {
  const mc = (question: string, choices: string[], letter: string) =>
    sampleWith({
      kind: 'qa',
      domain: 'math',
      content: [{ type: 'text', text: question, media_id: null }],
      media: [],
      task: { question, answer: `<|begin_of_box|>${letter}<|end_of_box|>`, answer_raw: letter, answer_type: 'choice', choices, boxes: [], verifier: 'multiple_choice', solution: null },
    });
  const run = (s: ReturnType<typeof mc>) => mcToOpen.generator.generate(s, contextFor(mcToOpen, 0));

  it('turns a number, an expression or a short span into the open answer, keeping the original options as provenance', async () => {
    for (const [choices, letter, expected, verifier] of [
      [['12', '15', '18', '21'], 'C', '18', 'math'],
      [['$\\frac{1}{3}$', '$\\frac{2}{3}$', '$\\sqrt{2}$', '$\\pi$'], 'C', '\\sqrt{2}', 'math'],
      [['5(√3 + 1)', '6(√3 + √2)', '7(√3 – 1)'], 'A', '5(√3 + 1)', 'math'],
      [['Paris', 'Lyon', 'Marseille'], 'B', 'Lyon', 'vqa'],
    ] as const) {
      const { tasks, skipped } = await run(mc('What is the value?', [...choices], letter));
      expect(skipped).toEqual([]);
      expect(tasks).toHaveLength(1);
      const t = tasks[0]!.task;
      expect([inner(t.answer), t.verifier, t.choices]).toEqual([expected, verifier, []]);
      expect(JSON.parse(tasks[0]!.overrides!.meta!).original).toMatchObject({ choices, answer: letter });
      expect((await selfCheck(t)).ok).toBe(true);
      // none of the wrong options verifies as the open answer
      for (const other of choices.filter((_, i) => 'ABCD'[i] !== letter)) {
        expect(verifyDeterministic({ domain: t.verifier as 'math', response: other, groundTruth: t.answer, format: 'none' }, 5000).result.score).toBe(0);
      }
    }
  });

  it('skips, with the reason, what has no single open answer', async () => {
    const cases: Array<[ReturnType<typeof mc>, string]> = [
      [mc('What is x?', ['0.5', '1/2', '2', '3'], 'A'), 'options_equivalent'],
      [mc('What is x?', ['1', '2', '3', 'None of these'], 'D'), 'option_refers_to_others'],
      [mc('Which of the following is prime?', ['4', '6', '7', '9'], 'C'), 'question_refers_to_options'],
      [mc('Pick the right figure.', ['A', 'B', 'C', 'D'], 'B'), 'options_in_image'],
      [mc('Why?', ['because the sum of the angles of a triangle is 180 degrees', 'no', 'maybe'], 'A'), 'option_not_short'],
      [mc('Which are even?', ['2', '3', '4'], 'A, C'), 'several_correct_options'],
      [mc('Solve: A) 1 B) 2', ['1', '2'], 'A'), 'options_in_question'],
    ];
    for (const [sample, reason] of cases) {
      const { tasks, skipped } = await run(sample);
      expect([tasks.length, skipped.map((s) => s.reason)], sample.task!.question).toEqual([0, [reason]]);
    }
  });
});

describe('synthesize config and templates', () => {
  const base = { sources: [{ name: 'q', type: 'qa', path: 'a.jsonl', format: 'jsonl' }] };
  it('refuses a misspelt generator name at load time with the valid names, and bad options with their path', () => {
    expect(() => validateConfig({ datasets: { d: { ...base, synthesize: { generators: { count_box: { enabled: true } } } } } }, '/x/pipeline.config.ts')).toThrow(
      /datasets\.d\.synthesize\.generators\.count_box: unknown generator "count_box" \(generators: count_boxes, spatial_relations, read_text, mc_to_open, video_order/,
    );
    expect(() => validateConfig({ datasets: { d: { ...base, synthesize: { generators: { count_boxes: { maxIoU: 2 } } } } } }, '/x/pipeline.config.ts')).toThrow(/generators\.count_boxes\.maxIoU/);
    expect(() => validateConfig({ datasets: { d: { ...base, synthesize: { templates: { count: ['How many {{thing}}?'] } } } } }, '/x/pipeline.config.ts')).toThrow(/must use exactly \{category_plural\}/);
    const ok = validateConfig({ datasets: { d: { ...base, synthesize: { generators: { spatial_relations: { enabled: false } } } } } }, '/x/pipeline.config.ts');
    const gens = ok.config.datasets.d!.synthesize!.generators;
    expect([gens.spatial_relations!.enabled, gens.count_boxes!.enabled, gens.count_boxes!.maxIoU]).toEqual([false, true, 0.5]);
  });

  it('uses an overriding phrasing, and the same seed gives the same tasks', async () => {
    const sample = objectsSample([{ category: 'mouse', box: [10, 10, 100, 100] }, { category: 'mouse', box: [300, 10, 400, 100] }]);
    const ctx = { ...contextFor(countBoxes, 5), templates: Templates.load({ count: ['Tell me the number of {{category_plural}}.'] }) };
    const { tasks } = await countBoxes.generator.generate(sample, ctx);
    expect(tasks[0]!.task.question).toBe('Tell me the number of mice.');
    const layout = objectsSample([{ category: 'ball', box: [10, 10, 100, 100] }, { category: 'vase', box: [300, 10, 400, 100] }, { category: 'lamp', box: [10, 400, 90, 480] }]);
    const once = await spatialRelations.generator.generate(layout, contextFor(spatialRelations, 9));
    const twice = await spatialRelations.generator.generate(layout, contextFor(spatialRelations, 9));
    expect(once.tasks.length).toBeGreaterThan(0);
    expect(twice).toEqual(once);
  });
});

describe('video_order', () => {
  const frameMedia = (i: number, phash: string) => ({ id: `${i}`.padStart(64, 'f'), mime: 'image/jpeg', width: 64, height: 48, bytes: 1, duration: null, frames: null, phash, dhash: null });
  const video = (times: number[], hashes: string[]) => {
    const frames = times.map((_, i) => frameMedia(i, hashes[i]!));
    return sampleWith({
      kind: 'video',
      media: [{ ...frameMedia(99, '0'.repeat(16)), mime: 'video/mp4' }, ...frames],
      content: frames.flatMap((f, i) => [{ type: 'image' as const, text: null, media_id: f.id }, { type: 'text' as const, text: `[t=${times[i]}s]`, media_id: null }]),
      signals: { content_hash: 'h', extra: JSON.stringify({ frame_times: times }), quality: null, dedup: null, embedding: null },
    });
  };
  const distinct = ['0000000000000000', 'ffff00000000ffff', '00ffff0000ffff00', 'f0f0f0f0f0f0f0f0', '0f0f0f0f0f0f0f0f', 'ffffffffffffffff'];

  it('shows distinct frames shuffled without their times and asks which came first and last; the answers point at the true extremes', async () => {
    const { videoOrder } = await import('../../pipelines/synthesize/rule/video-order.js');
    for (let seed = 0; seed < 50; seed++) {
      const times = [0, 1.5, 3, 4.5, 6, 7.5];
      const sample = video(times, distinct);
      const { tasks, skipped } = await videoOrder.generator.generate(sample, contextFor(videoOrder, seed));
      expect(skipped).toEqual([]);
      expect(tasks.map((t) => JSON.parse(t.overrides!.meta!).asked)).toEqual(['earliest', 'latest']);
      for (const t of tasks) {
        const shown = JSON.parse(t.overrides!.meta!).shown_times as number[];
        expect(t.overrides!.content!.some((p) => p.type === 'text' && /t=/.test(p.text))).toBe(false);
        const index = 'ABCDEFGH'.indexOf(inner(t.task.answer));
        expect(shown[index]).toBe(JSON.parse(t.overrides!.meta!).asked === 'earliest' ? Math.min(...shown) : Math.max(...shown));
        expect(t.task.choices).toHaveLength(shown.length);
        expect((await selfCheck(t.task)).ok).toBe(true);
      }
    }
  });

  it('skips a static shot (frames that look the same) and a clip without frame times', async () => {
    const { videoOrder } = await import('../../pipelines/synthesize/rule/video-order.js');
    const still = await videoOrder.generator.generate(video([0, 2, 4, 6], ['0000000000000000', '0000000000000001', '0000000000000003', '0000000000000000']), contextFor(videoOrder, 1));
    expect(still.skipped.map((s) => s.reason)).toEqual(['too_few_distinct_frames']);
    const noTimes = { ...video([0, 2, 4], distinct), signals: { content_hash: 'h', extra: '{}', quality: null, dedup: null, embedding: null } };
    expect((await videoOrder.generator.generate(noTimes, contextFor(videoOrder, 1))).skipped.map((s) => s.reason)).toEqual(['no_frame_times']);
  });
});

describe('read_text on GUI text elements', () => {
  it('asks for the text of a text element from its comprehension sample, and nothing for other elements', async () => {
    const gui = (kind: string, task: string) =>
      sampleWith({
        kind: 'gui',
        meta: JSON.stringify({ task, element: { kind, role: 'heading', name: 'Installation guide' } }),
        task: { question: 'Locate heading "Installation guide".', answer: '', answer_raw: '', answer_type: 'boxes', choices: [], boxes: [{ label: 'heading: Installation guide', x1: 100, y1: 50, x2: 600, y2: 90 }], verifier: 'grounding', solution: null },
      });
    expect(readText.generator.applies(gui('interactive', 'comprehension'))).toBe(false);
    expect(readText.generator.applies(gui('text', 'generation'))).toBe(false);
    const { tasks } = await readText.generator.generate(gui('text', 'comprehension'), contextFor(readText, 2));
    expect(tasks.map((t) => [inner(t.task.answer), t.task.question.includes('[100,50,600,90]'), t.overrides!.kind])).toEqual([['Installation guide', true, 'gui']]);
    const off = await readText.generator.generate(gui('text', 'comprehension'), contextFor(readText, 2, { gui: false }));
    expect(off.tasks).toEqual([]);
  });
});

describe('per-worker resources for generators', () => {
  it('sets up (and tears down) only enabled generators, so a disabled model generator loads nothing, and hands each its own resources', async () => {
    const { z } = await import('zod');
    const { setupGenerators, teardownGenerators } = await import('../../pipelines/synthesize/stage.js');
    const { synthesizeSchema } = await import('../../pipelines/synthesize/config.js');
    const calls: string[] = [];
    const fakeModel = {
      options: z.object({ enabled: z.boolean().default(false), endpoint: z.string().default('none') }).strict(),
      setup: async (_ctx: unknown, options: { endpoint: string }) => (calls.push(`setup:${options.endpoint}`), { client: options.endpoint }),
      teardown: async (r: { client: string }) => void calls.push(`teardown:${r.client}`),
      generator: { name: 'fake_model', version: 1, mode: 'model' as const, applies: () => true, generate: async () => ({ tasks: [], skipped: [] }) },
    };
    const section = synthesizeSchema.parse({});
    const registry = [countBoxes, fakeModel];
    const off = await setupGenerators({} as never, { ...section, generators: { ...section.generators, fake_model: { enabled: false } } }, registry);
    expect(off.generators.map((g) => g.entry.generator.name)).toEqual(['count_boxes']);
    await teardownGenerators(off);
    expect(calls).toEqual([]);
    const on = await setupGenerators({} as never, { ...section, generators: { ...section.generators, count_boxes: { enabled: false }, fake_model: { enabled: true, endpoint: 'http://127.0.0.1:9/v1' } } }, registry);
    expect(on.generators.map((g) => [g.entry.generator.name, g.resources])).toEqual([['fake_model', { client: 'http://127.0.0.1:9/v1' }]]);
    await teardownGenerators(on);
    expect(calls).toEqual(['setup:http://127.0.0.1:9/v1', 'teardown:http://127.0.0.1:9/v1']);
  });
});

describe('the stage around the generators', () => {
  it('emits only tasks that pass their own verifier and are unique within the source, derived rows first, one ledger row per input with the reasons', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { z } = await import('zod');
    const { UnitSink } = await import('../../pipelines/shared/runner/unit-sink.js');
    const { synthesizeFrom } = await import('../../pipelines/synthesize/stage.js');
    const dir = await mkdtemp(join(tmpdir(), 'stratum-synth-sink-'));
    try {
      const count = (n: string): Task => ({ question: 'How many?', answer: `<|begin_of_box|>${n}<|end_of_box|>`, answer_raw: n, answer_type: 'numeric', choices: [], boxes: [], verifier: 'counting', solution: null });
      const planted = {
        options: z.object({ enabled: z.boolean().default(true) }),
        generator: {
          name: 'planted', version: 2, mode: 'rule' as const, applies: () => true,
          generate: async () => ({
            tasks: [
              { key: 'good', task: count('3') },
              { key: 'empty-answer', task: count('') },
              { key: 'same-again', task: count('3') },
              { key: 'two-same-options', task: { ...count('A'), verifier: 'multiple_choice', answer_type: 'choice' as const, choices: ['left', 'Left '] } },
            ],
            skipped: [{ reason: 'planted_skip', detail: { value: 7 } }],
          }),
        },
      };
      const broken = { options: planted.options, generator: { ...planted.generator, name: 'broken', generate: async () => { throw new Error('boom'); } } };
      const sink = new UnitSink('synthesize', 'u', dir, () => {}, ['data', 'outcomes', 'ledger']);
      sink.inputs(1);
      const source = sampleWith({});
      const res = { templates: Templates.load(), generators: [planted, broken].map((entry) => ({ entry, options: { enabled: true }, resources: undefined })) };
      await synthesizeFrom(source, {} as never, sink, res as never, 0);
      sink.assertBalanced();
      const rows = async (name: string) => {
        const staged = sink.outputs.get(name)!;
        staged.flush();
        return (await readFile(staged.path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      };
      const data = await rows('data');
      expect(data.map((d) => d.derived_from?.generator ?? 'source')).toEqual(['planted', 'source']);
      expect(data[0].derived_from).toEqual({ sample_id: source.id, generator: 'planted', generator_version: 2 });
      const outcomes = (await rows('outcomes')).map((o) => [o.generator, o.outcome, o.reason]);
      expect(outcomes).toEqual([
        ['planted', 'generated', 'ok'],
        ['planted', 'skipped', 'planted_skip'],
        ['planted', 'skipped', 'self_check_failed'],
        ['planted', 'skipped', 'duplicate_question'],
        ['planted', 'skipped', 'duplicate_options'],
        ['broken', 'skipped', 'generator_error'],
      ]);
      const [ledger] = await rows('ledger');
      expect([ledger.decision, ledger.reason, JSON.parse(ledger.details)]).toEqual([
        'kept',
        'synthesized',
        { planted: { made: 1, skipped: { planted_skip: 1, self_check_failed: 1, duplicate_question: 1, duplicate_options: 1 } }, broken: { made: 0, skipped: { generator_error: 1 } } },
      ]);
      // An endpoint still failing after its retries fails the unit (a rerun resumes from the journal); a rejected request does not.
      const { RolloutError } = await import('../../pipelines/difficulty/rollout-client.js');
      const down = { options: planted.options, generator: { ...planted.generator, name: 'down', generate: async () => { throw new RolloutError('503 after retries', 'e', true, 503, 3); } } };
      const sink2 = new UnitSink('synthesize', 'u2', dir, () => {}, ['data', 'outcomes', 'ledger']);
      await expect(synthesizeFrom(source, {} as never, sink2, { templates: Templates.load(), generators: [{ entry: down, options: { enabled: true }, resources: undefined }] } as never, 0)).rejects.toThrow('503 after retries');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
