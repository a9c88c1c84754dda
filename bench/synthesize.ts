/**
 * `pnpm bench synthesize`: per rule generator, generated tasks per CPU-second (generation plus the
 * self-check every task passes in the stage) and the keep rate with the skip reasons, on
 * ../shared/corpora (COCO-mini and COCO128 boxes, SROIE receipts, AQuA / MMLU-STEM / SAT multiple
 * choice, the video clips, through the real ingest; skipped cleanly when absent) and on generated fixtures
 * (random box layouts, OCR line layouts, arithmetic multiple choice).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import { mulberry32 } from '../pipelines/shared/random.js';
import { readManifest, manifestFiles } from '../pipelines/shared/runner/manifest.js';
import type { StageContext } from '../pipelines/shared/runner/stage.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { DatasetLayout } from '../pipelines/shared/store/layout.js';
import { readSamples } from '../pipelines/shared/store/read-samples.js';
import type { GeneratorEntry } from '../pipelines/synthesize/generator.js';
import { GENERATORS } from '../pipelines/synthesize/registry.js';
import { selfCheck } from '../pipelines/synthesize/self-check.js';
import { Templates } from '../pipelines/synthesize/templates.js';
import type { Sample } from '../schemas/sample.js';
import { sampleWith } from '../test/synthesize/support.js';

const CORPORA = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora');

interface Tally {
  offered: number;
  tasks: number;
  skips: Map<string, number>;
  cpuMs: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function measure(entry: GeneratorEntry<any, any>, samples: readonly Sample[], templates: Templates): Promise<Tally> {
  const tally: Tally = { offered: 0, tasks: 0, skips: new Map(), cpuMs: 0 };
  const options = entry.options.parse({});
  const g = entry.generator;
  const start = process.cpuUsage();
  for (const [i, sample] of samples.entries()) {
    if (!g.applies(sample)) continue;
    tally.offered++;
    const result = await g.generate(sample, { stage: {} as StageContext, seed: 0, rng: mulberry32(i + 1), templates, options, resources: undefined });
    for (const s of result.skipped) tally.skips.set(s.reason, (tally.skips.get(s.reason) ?? 0) + 1);
    for (const t of result.tasks) {
      if ((await selfCheck(t.task)).ok) tally.tasks++;
      else tally.skips.set('self_check_failed', (tally.skips.get('self_check_failed') ?? 0) + 1);
    }
  }
  const used = process.cpuUsage(start);
  tally.cpuMs = (used.user + used.system) / 1000;
  return tally;
}

async function report(label: string, samples: readonly Sample[]): Promise<void> {
  const templates = Templates.load();
  process.stdout.write(`\n${label}: ${samples.length} samples\n`);
  process.stdout.write('generator          offered  tasks  tasks/CPU-s  samples/CPU-s  keep rate  skips (reason: n)\n');
  for (const entry of GENERATORS.filter((e) => e.generator.mode === 'rule')) {
    const t = await measure(entry, samples, templates);
    if (t.offered === 0) continue;
    const skipped = [...t.skips.values()].reduce((a, b) => a + b, 0);
    const cpuS = Math.max(t.cpuMs, 0.001) / 1000;
    const reasons = [...t.skips].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r}: ${n}`).join(', ') || '-';
    process.stdout.write(
      `${entry.generator.name.padEnd(18)} ${String(t.offered).padStart(7)} ${String(t.tasks).padStart(6)} ${(t.tasks / cpuS).toFixed(0).padStart(12)} ${(t.offered / cpuS).toFixed(0).padStart(14)} ${((100 * t.tasks) / Math.max(1, t.tasks + skipped)).toFixed(1).padStart(9)}%  ${reasons}\n`,
    );
  }
}

/** The test fixtures' sample, numbered so ids and places differ. */
function base(i: number, parts: Partial<Sample>): Sample {
  return sampleWith({ id: `${i}`.padStart(64, '0'), dataset: 'bench', source: { name: 'gen', uri: 'gen', locator: `item:${i}` }, ...parts });
}

/** Random layouts of 2–12 boxes over 6 categories, some tiny, some overlapping, some crowd regions. */
function generatedSamples(n: number): Sample[] {
  const rng = mulberry32(2026);
  const cats = ['dog', 'cat', 'car', 'person', 'cup', 'chair'];
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const boxes = Array.from({ length: 2 + Math.floor(rng() * 11) }, () => {
      const x = Math.floor(rng() * 900);
      const y = Math.floor(rng() * 900);
      const s = 3 + Math.floor(rng() * 200);
      return { category: cats[Math.floor(rng() * cats.length)]!, box: [x, y, Math.min(999, x + s), Math.min(999, y + s)] };
    });
    const crowd = rng() < 0.1 ? { [cats[Math.floor(rng() * cats.length)]!]: 1 } : {};
    out.push(base(i, { meta: JSON.stringify({ image_objects: { boxes, crowd } }) }));
    const lines = Array.from({ length: 1 + Math.floor(rng() * 6) }, (_, k) => {
      const y = 40 + k * 120 + Math.floor(rng() * 80);
      const x = Math.floor(rng() * 500);
      return { label: `Line ${k} code ${Math.floor(rng() * 1e6)}`, x1: x, y1: y, x2: x + 200 + Math.floor(rng() * 250), y2: y + 30 + Math.floor(rng() * 60) };
    });
    out.push(
      base(n + i, {
        kind: 'ocr',
        signals: { content_hash: 'h', extra: JSON.stringify({ text_origin: 'synthetic' }), quality: null, dedup: null, embedding: null },
        task: { question: 'Read the text.', answer: '', answer_raw: '', answer_type: 'text', choices: [], boxes: lines, verifier: 'ocr', solution: null },
      }),
    );
    const a = 2 + Math.floor(rng() * 50);
    const b = 2 + Math.floor(rng() * 50);
    const choices = [a * b, a * b + 1, a * b - a, a + b].map(String);
    out.push(
      base(2 * n + i, {
        kind: 'qa',
        content: [{ type: 'text', text: `What is ${a} times ${b}?`, media_id: null }],
        media: [],
        task: { question: `What is ${a} times ${b}?`, answer: '<|begin_of_box|>A<|end_of_box|>', answer_raw: 'A', answer_type: 'choice', choices, boxes: [], verifier: 'multiple_choice', solution: null },
      }),
    );
  }
  return out;
}

async function corpusSamples(): Promise<Sample[] | null> {
  if (!existsSync(CORPORA)) return null;
  const q = (p: string) => join(CORPORA, p);
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-synth-'));
  try {
    const sources = [
      { name: 'coco-boxes', type: 'grounding', format: 'coco', path: q('grounding/coco_mini/annotations/instances_val2017.json'), tasks: ['category'] },
      { name: 'coco128', type: 'grounding', format: 'yolo', path: q('grounding/coco128_yolo_val_subset'), labelsDir: 'labels_detection', classes: 'object_detection_config.yaml', tasks: ['category'] },
      { name: 'sroie', type: 'ocr', mode: 'pairs', path: q('ocr/sroie_receipts/img'), groundTruth: q('ocr/sroie_receipts/box') },
      { name: 'aqua', type: 'qa', path: q('math_stem_qa/text/aqua_test.jsonl'), format: 'jsonl', preset: 'aqua' },
      { name: 'mmlu', type: 'qa', path: q('math_stem_qa/text/mmlu_stem_test.jsonl'), format: 'jsonl', preset: 'mmlu' },
      { name: 'sat', type: 'qa', path: q('math_stem_qa/text/sat_math_test.jsonl'), format: 'jsonl', preset: 'sat' },
      { name: 'video', type: 'video', path: q('video') },
    ].filter((s) => existsSync(s.path));
    const loaded = validateConfig({ shardsDir: join(dir, 'shards'), datasets: { c: { sources } } }, join(dir, 'pipeline.config.ts'));
    await runCommand(loaded, 'ingest', {});
    const layout = new DatasetLayout(loaded.shardsDir, 'c');
    const manifest = await readManifest(layout.manifest('ingest'), 'ingest');
    const files = manifestFiles(manifest, 'data').map((f) => join(layout.stageDir('ingest'), f));
    const conn = await connect();
    return await readSamples(conn, files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchSynthesize(): Promise<void> {
  const corpus = await corpusSamples();
  if (corpus) await report('corpora (COCO-mini, COCO128, SROIE, AQuA, MMLU-STEM, SAT, video clips through ingest)', corpus);
  else process.stdout.write('skipped corpora: ../shared/corpora absent\n');
  await report('generated fixtures (random box layouts, OCR line layouts, arithmetic multiple choice)', generatedSamples(Number(process.env.STRATUM_BENCH_SYNTH_N ?? 3000)));
}
