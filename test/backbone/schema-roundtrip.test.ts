import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_COLUMNS, SAMPLE_SCHEMA_VERSION, toSampleRow, type Sample } from '../../schemas/sample.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { writeParquet } from '../../pipelines/shared/store/parquet-writer.js';
import { readSamples } from '../../pipelines/shared/store/read-samples.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

const full: Sample = {
  id: 'a'.repeat(64),
  schema_version: SAMPLE_SCHEMA_VERSION,
  dataset: 'd',
  source: { name: 'src', uri: 'x/y.jsonl', locator: 'line:3' },
  kind: 'qa',
  domain: 'math',
  license: 'MIT',
  lang: 'en',
  content: [
    { type: 'image', text: null, media_id: 'b'.repeat(64) },
    { type: 'text', text: 'What is "x" in\n\\frac{1}{2}? 数学 🙂', media_id: null },
  ],
  media: [{ id: 'b'.repeat(64), mime: 'image/png', width: 640, height: 480, bytes: 12345, duration: null, frames: null, phash: '00ff00ff00ff00ff', dhash: 'ff00ff00ff00ff00' }],
  task: {
    question: 'q',
    answer: '<|begin_of_box|>B, D<|end_of_box|>',
    answer_raw: 'B,D',
    answer_type: 'choice',
    choices: ['1', '2', '3', '4'],
    boxes: [{ label: 'cat', x1: 0, y1: 10, x2: 999, y2: 500 }],
    verifier: 'multiple_choice',
    solution: null,
  },
  signals: {
    content_hash: 'c'.repeat(64),
    extra: '{"clip":0.31}',
    quality: { text_chars: 10, words: 2, lang: 'eng', symbol_ratio: 0.1, dup_ngram_ratio: 0, image_min_side: 480, image_max_aspect: 1.33, image_min_stddev: 40.5 },
    dedup: { text_cluster: null, image_cluster: 'd'.repeat(64), images_removed: 0 },
    embedding: { model: 'nsfw-mobilenet-v2@0123456789ab', nsfw: 0.01, semantic_cluster: 3, clip_score: 0.31 },
  },
  difficulty: {
    pass_rate: 0.375,
    k: 3,
    n: 8,
    tier: 'medium',
    per_model: [{ model: 'm1', k: 3, n: 8, pass_rate: 0.375 }],
    source: 'offline',
    rated_at: '2026-11-25 10:00:00',
    history: [{ at: '2026-11-25 10:00:00', source: 'offline', k: 3, n: 8 }],
  },
  meta: '{"level":5}',
  derived_from: { sample_id: 'b'.repeat(64), generator: 'count_boxes', generator_version: 1 },
};

describe('canonical sample schema', () => {
  it('round-trips every field through a real Parquet file', async () => {
    ws = await createWorkspace();
    const conn = await connect();
    const bare: Sample = { ...full, id: 'e'.repeat(64), task: null, media: [], content: [{ type: 'text', text: 't', media_id: null }], difficulty: { ...full.difficulty, pass_rate: null, per_model: [], history: [], rated_at: null, source: null, tier: 'unrated' } };
    const files = await writeParquet(conn, [toSampleRow(full), toSampleRow(bare)], { columns: SAMPLE_COLUMNS, dir: ws.dir, stem: 'part' });
    expect(files).toEqual(['part.parquet']);
    const back = await readSamples(conn, [ws.path('part.parquet')]);
    expect(back).toEqual([full, bare]);
    const types = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${ws.path('part.parquet')}')`);
    const described = Object.fromEntries(types.getRows().map((r) => [String(r[0]), String(r[1])]));
    expect(Object.keys(described)).toEqual(Object.keys(SAMPLE_COLUMNS));
    expect(described.media).toContain('phash VARCHAR');
    expect(described.task).toMatch(/boxes STRUCT\("?label"? VARCHAR, x1 SMALLINT/);
  });
});

describe('older shards', () => {
  it('reads a schema-2 shard (no derived_from column) beside a current one, as samples with derived_from null', async () => {
    ws ??= await createWorkspace();
    const conn = await connect();
    const { derived_from: _d, ...v2Columns } = SAMPLE_COLUMNS;
    const { derived_from: _x, ...v2 } = { ...full, id: 'f'.repeat(64), schema_version: 2 };
    await writeParquet(conn, [{ ...v2, tier: 'medium' }], { columns: v2Columns, dir: ws.path('v2'), stem: 'old' });
    await writeParquet(conn, [toSampleRow(full)], { columns: SAMPLE_COLUMNS, dir: ws.path('v2'), stem: 'new' });
    const back = await readSamples(conn, [ws.path('v2', 'new.parquet'), ws.path('v2', 'old.parquet')]);
    expect(back.map((s) => [s.schema_version, s.derived_from])).toEqual([
      [SAMPLE_SCHEMA_VERSION, full.derived_from],
      [2, null],
    ]);
  });
});
