/**
 * QA ingest throughput: one generated JSON array of many records (read as a stream, a unit from its
 * own offset), then on ../shared/corpora/math_stem_qa all text sets (~13k rows) and MathVision with images.
 *
 *   STRATUM_BENCH_QA_JSON_RECORDS=100000 pnpm bench ingest-qa
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';

const CORPUS = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora', 'math_stem_qa');

const TEXT_SETS: Array<[file: string, preset: string]> = [
  ['aime24_test.jsonl', 'qwen-eval'],
  ['amc23_test.jsonl', 'qwen-eval'],
  ['aqua_test.jsonl', 'aqua'],
  ['asdiv_test.jsonl', 'asdiv'],
  ['cmath_test.jsonl', 'qwen-eval'],
  ['college_math_test.jsonl', 'qwen-eval'],
  ['gaokao2023en_test.jsonl', 'qwen-eval'],
  ['gsm8k_test.jsonl', 'gsm8k'],
  ['gsm8k_test.qwen25math_copy.jsonl', 'gsm8k'],
  ['math500_test.jsonl', 'math500'],
  ['minerva_math_test.jsonl', 'minerva'],
  ['mmlu_stem_test.jsonl', 'mmlu'],
  ['olympiadbench_test.jsonl', 'olympiadbench'],
  ['sat_math_test.jsonl', 'sat'],
  ['svamp_test.jsonl', 'svamp'],
];

async function timedIngest(name: string, config: PipelineConfigInput, dir: string): Promise<void> {
  const loaded = validateConfig(config, join(dir, 'pipeline.config.ts'));
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const started = performance.now();
  const [summary] = await runCommand(loaded, 'ingest', {});
  const seconds = (performance.now() - started) / 1000;
  const c = summary!.counts;
  process.stdout.write(
    `${name}: ${c.in} rows in ${seconds.toFixed(2)} s = ${Math.round(c.in / seconds)} rows/s ` +
      `(kept ${c.kept}, quarantined ${c.quarantined}, dropped ${c.dropped}); peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`,
  );
  const conn = await connect();
  await createShardViews(conn, loaded.shardsDir, Object.keys(loaded.config.datasets));
  const reasons = await conn.runAndReadAll(`SELECT reason, count(*)::INT FROM ledger WHERE decision <> 'kept' GROUP BY 1 ORDER BY 2 DESC`);
  for (const [reason, n] of reasons.getRows()) process.stdout.write(`   ${String(reason)}: ${String(n)}\n`);
}

const JSON_RECORDS = Number(process.env.STRATUM_BENCH_QA_JSON_RECORDS ?? 100_000);

/** A JSON array (pretty-printed, as datasets ship them) of GSM8K-shaped records, written in batches; its size in MB. */
function writeJsonArray(file: string, records: number): number {
  let bytes = 0;
  const write = (text: string) => {
    appendFileSync(file, text);
    bytes += Buffer.byteLength(text);
  };
  writeFileSync(file, '');
  write('[\n');
  for (let from = 0; from < records; from += 10_000) {
    const batch = [];
    for (let i = from; i < Math.min(records, from + 10_000); i++) {
      const record = {
        id: `q-${i}`,
        question: `A baker has ${i % 97} trays of ${(i % 13) + 2} rolls and sells ${i % 7} trays. How many rolls are left? {"note": "[${i}]"}`,
        answer: `Left: ${(i % 97) - (i % 7)} trays.\n#### ${((i % 97) - (i % 7)) * ((i % 13) + 2)}`,
      };
      batch.push(JSON.stringify(record, null, 2).replace(/^/gm, '  '));
    }
    write(batch.join(',\n') + (from + 10_000 < records ? ',\n' : '\n'));
  }
  write(']\n');
  return bytes / 1e6;
}

export async function benchIngestQa(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-qa-'));
  try {
    const file = join(dir, 'records.json');
    const mb = writeJsonArray(file, JSON_RECORDS);
    await timedIngest(
      `one JSON array, ${JSON_RECORDS} records (${mb.toFixed(0)} MB), 1,000 records per unit`,
      {
        shardsDir: join(dir, 'json'),
        datasets: { json: { ingest: { unitRows: 1000 }, sources: [{ name: 'records', type: 'qa', path: file, format: 'json', preset: 'gsm8k' }] } },
      },
      dir,
    );
    if (!existsSync(CORPUS)) {
      process.stdout.write('corpora: skipped (../shared/corpora absent)\n');
      return;
    }
    await timedIngest(
      'math_stem_qa text sets',
      {
        shardsDir: join(dir, 'text'),
        datasets: {
          text: { sources: TEXT_SETS.map(([file, preset]) => ({ name: file.replace(/\.jsonl$/, '').replace('.', '-'), type: 'qa', path: join(CORPUS, 'text', file), format: 'jsonl', preset })) },
        },
      },
      dir,
    );
    await timedIngest(
      'MathVision testmini with images',
      {
        shardsDir: join(dir, 'mathvision'),
        datasets: { mv: { sources: [{ name: 'mathvision', type: 'qa', path: join(CORPUS, 'mathvision_testmini', 'testmini.jsonl'), format: 'jsonl', preset: 'mathvision' }] } },
      },
      dir,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchIngestQa();
