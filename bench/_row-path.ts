/**
 * Dev aid, not part of `pnpm bench`: the CPU of the runner's row path for difficulty-shaped output
 * (docs/difficulty.md, Throughput), and what DuckDB's appender would save on the rollout rows.
 *
 *   node --import tsx bench/_row-path.ts
 *
 * Per sample (1 sample row with its nested structs, 8 rollout rows, 1 ledger row), in units of 500
 * as the difficulty bench writes them: staging the rows (UnitSink → JSON lines) and the Parquet
 * writes of each output (DuckDB's read_json + ZSTD Parquet, process CPU of all threads). Then the 8
 * rollout rows of 2,000 samples in one table written both ways: JSON staging + read_json, and
 * `conn.createAppender` into a temporary table + COPY.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEDGER_COLUMNS } from '../schemas/ledger.js';
import { ROLLOUT_COLUMNS, type RolloutRow } from '../schemas/rollout.js';
import { SAMPLE_COLUMNS, toSampleRow, type Sample } from '../schemas/sample.js';
import { UnitSink } from '../pipelines/shared/runner/unit-sink.js';
import { columnsStruct, connect, sqlString } from '../pipelines/shared/store/duckdb.js';
import { writeStagedParquet } from '../pipelines/shared/store/parquet-writer.js';
import { StagedRows } from '../pipelines/shared/store/staged-rows.js';

const UNITS = 4;
const PER_UNIT = 500;
const SAMPLES = UNITS * PER_UNIT;
const now = new Date().toISOString();

function sample(i: number): Sample {
  return {
    id: `s${i}-0123456789abcdef0123456789abcdef`, schema_version: 3, dataset: 'b',
    source: { name: 'qa', uri: '/data/qa-1.jsonl', locator: `line:${i}` }, kind: 'qa', domain: 'math', license: 'unknown', lang: 'en',
    content: [{ type: 'text', text: `[[item:b${i}]] Compute it.`, media_id: null }], media: [],
    task: { question: `[[item:b${i}]] Compute it.`, answer: `\\frac{${i}}{7}`, answer_raw: `\\frac{${i}}{7}`, answer_type: 'expression', choices: null, boxes: null, verifier: 'math', solution: null },
    signals: { content_hash: '0123456789abcdef', extra: null, quality: { text_chars: 24, words: 3, lang: 'en', symbol_ratio: 0.1, dup_ngram_ratio: 0, image_min_side: null, image_max_aspect: null, image_min_stddev: null }, dedup: { text_cluster: 'c1', image_cluster: null, images_removed: 0 }, embedding: null },
    difficulty: { pass_rate: 0.5, k: 4, n: 8, tier: 'medium', per_model: [{ model: 'fake', k: 4, n: 8, pass_rate: 0.5 }], source: 'offline', rated_at: now, history: [{ at: now, source: 'offline', k: 4, n: 8 }] },
    meta: '{}', derived_from: null,
  } as unknown as Sample;
}

function rollout(i: number, c: number): RolloutRow {
  return {
    sample_id: `s${i}-0123456789abcdef0123456789abcdef`, endpoint: 'fake', model: 'fake-model', params_hash: '0123456789abcdef', request_id: `r${i}-0123456789abcdef`, choice_index: c,
    response: `<think>Working on item ${i}, step by step.</think><answer><|begin_of_box|>\\frac{${i}}{7}<|end_of_box|></answer>`,
    finish_reason: 'stop', prompt_tokens: 30, completion_tokens: 40, latency_ms: 1.5, score: c % 2, correct: c % 2 === 1, extracted: `\\frac{${i}}{7}`, reason: 'equivalent',
  };
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const f = (ms: number) => (ms / SAMPLES).toFixed(3);

const dir = await mkdtemp(join(tmpdir(), 'stratum-row-path-'));
const conn = await connect();
try {
  for (let run = 0; run < 3; run++) {
    let staging = 0;
    const writes: Record<string, number> = {};
    for (let u = 0; u < UNITS; u++) {
      const unitDir = join(dir, `r${run}u${u}`);
      let since = process.cpuUsage();
      const sink = new UnitSink('difficulty', `u${u}`, join(unitDir, 'staging'));
      sink.inputs(PER_UNIT);
      for (let i = u * PER_UNIT; i < (u + 1) * PER_UNIT; i++) {
        for (let c = 0; c < 8; c++) sink.emit('rollouts', rollout(i, c));
        const s = sample(i);
        sink.keep({ sample_id: s.id, source_uri: s.source.uri, locator: s.source.locator }, toSampleRow(s), 'rated_medium', { stops: { fake: 'fixed' }, requests: 1, replayed: 0 });
      }
      staging += cpuMs(since);
      const outputs = { data: { columns: SAMPLE_COLUMNS, partitionBy: ['domain', 'tier'] }, rollouts: { columns: ROLLOUT_COLUMNS }, ledger: { columns: LEDGER_COLUMNS } };
      for (const [name, spec] of Object.entries(outputs)) {
        since = process.cpuUsage();
        await writeStagedParquet(conn, sink.outputs.get(name)!, { ...spec, dir: join(unitDir, name), stem: 'part-x' });
        writes[name] = (writes[name] ?? 0) + cpuMs(since);
      }
    }
    const total = staging + Object.values(writes).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `run ${run}: row path ${f(total)} ms CPU per sample: staging JSON lines ${f(staging)}, Parquet writes ` +
        `${Object.entries(writes).map(([k, v]) => `${k} ${f(v)}`).join(', ')}\n`,
    );
  }
  const rows = Array.from({ length: SAMPLES * 8 }, (_, k) => rollout(Math.floor(k / 8), k % 8));
  const names = Object.keys(ROLLOUT_COLUMNS) as (keyof RolloutRow)[];
  for (let run = 0; run < 3; run++) {
    let since = process.cpuUsage();
    const staged = new StagedRows(join(dir, `rollouts-${run}.jsonl`));
    for (const r of rows) staged.add(r);
    staged.flush();
    await conn.run(
      `COPY (SELECT * FROM read_json(${sqlString(staged.path)}, format = 'newline_delimited', columns = ${columnsStruct(ROLLOUT_COLUMNS)})) TO ${sqlString(join(dir, `json-${run}.parquet`))} (FORMAT PARQUET, COMPRESSION ZSTD)`,
    );
    const viaJson = cpuMs(since);
    since = process.cpuUsage();
    await conn.run(`CREATE OR REPLACE TEMP TABLE appended (${names.map((c) => `"${c}" ${ROLLOUT_COLUMNS[c]}`).join(', ')})`);
    const appender = await conn.createAppender('appended');
    for (const r of rows) {
      appender.appendVarchar(r.sample_id);
      appender.appendVarchar(r.endpoint);
      appender.appendVarchar(r.model);
      appender.appendVarchar(r.params_hash);
      appender.appendVarchar(r.request_id);
      appender.appendInteger(r.choice_index);
      appender.appendVarchar(r.response);
      appender.appendVarchar(r.finish_reason ?? '');
      appender.appendInteger(r.prompt_tokens ?? 0);
      appender.appendInteger(r.completion_tokens ?? 0);
      appender.appendDouble(r.latency_ms);
      appender.appendDouble(r.score);
      appender.appendBoolean(r.correct ?? false);
      appender.appendVarchar(r.extracted ?? '');
      appender.appendVarchar(r.reason);
      appender.endRow();
    }
    appender.closeSync();
    await conn.run(`COPY appended TO ${sqlString(join(dir, `appender-${run}.parquet`))} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    const viaAppender = cpuMs(since);
    process.stdout.write(`run ${run}: 8 rollout rows per sample, one table of ${rows.length}: JSON staging + read_json ${f(viaJson)} ms CPU per sample, appender ${f(viaAppender)} ms\n`);
  }
} finally {
  conn.closeSync();
  await rm(dir, { recursive: true, force: true });
}
