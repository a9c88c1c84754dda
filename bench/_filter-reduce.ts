/**
 * Part 3 of `pnpm bench filter`: the filter reduce (pipelines/filter/reduce.ts) on synthetic map
 * outputs. Per-unit Parquet files in the shapes of schemas/filter.ts are generated directly with
 * DuckDB: text samples (QA) with random 128-value MinHash signatures and their 16 band keys, and
 * caption samples (half of all by default) with random 256-bit hashes (and mirrored hashes; the reduce
 * derives its band layout from the number of images). Planted clusters of three: a base and two
 * copies, the text copies sharing 13 of 16 bands with the base (estimated Jaccard 104/128 = 0.81), the
 * image copies of cluster c differing from the base in random bits, each flipped with probability
 * 8·(1 + c mod 8)/256 (so distances spread over ~0–80 around 8, 16, …, 64): the recall measured per
 * distance is printed beside the recall the band layout predicts at that distance. The reduce runs
 * in a fresh child process, which reports its wall time and peak RSS (`process.resourceUsage()`,
 * DuckDB included); the parent then checks the planted clusters against `decisions.parquet`.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILTER_IMAGE_COLUMNS, FILTER_SAMPLE_COLUMNS } from '../schemas/filter.js';
import { filterSchema } from '../pipelines/filter/config.js';
import { imageBandPlan } from '../pipelines/filter/image-hash.js';
import { reduceFilter } from '../pipelines/filter/reduce.js';
import type { ReduceInput } from '../pipelines/shared/runner/stage.js';
import { sqlString } from '../pipelines/shared/store/duckdb.js';

const CHILD_ENV = 'STRATUM_BENCH_FILTER_REDUCE_CHILD';
const SELF = fileURLToPath(import.meta.url);
const UNIT_ROWS = 10_000;
const PERMS = 128;
const TEXT_BANDS = 16;
const ROWS = PERMS / TEXT_BANDS;
/** Share of each third of the samples that starts a planted cluster (so 3 × this share of samples are in clusters). */
const PLANTED_SHARE = 0.01;
/** Planted image copies of cluster c flip each bit with probability 8·(1 + c mod DISTANCE_CLASSES)/256. */
const DISTANCE_CLASSES = 8;
const U32 = '4294967296';
/** Disjoint integer ranges per random stream: DuckDB's one-argument hash of an integer mixes well (its multi-argument combine does not, in the low bits). */
const seed = (stream: number): string => `${stream * 2 ** 40}::UBIGINT`;

interface ChildSpec {
  dir: string;
  reduceMemory: string;
}

interface ChildResult {
  seconds: number;
  /** User + system CPU seconds of the reduce process (all DuckDB threads). */
  cpuSeconds: number;
  maxRssMiB: number;
  summary: Record<string, unknown>;
}

export interface ReduceBenchOptions {
  sizes: number[];
  reduceMemory: string;
  /** Share of the samples that are caption samples with an image (the rest are text samples). */
  imageShare: number;
}

export async function reduceBench(options: ReduceBenchOptions): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'stratum-bench-reduce-'));
  try {
    for (const size of options.sizes) {
      const dir = join(root, `n${size}`);
      await mkdir(dir, { recursive: true });
      const started = performance.now();
      const plan = await generate(dir, size, options.imageShare);
      const genSeconds = (performance.now() - started) / 1000;
      process.stdout.write(
        `   ${fmt(size)} samples (${fmt(plan.text)} text with ${PERMS}-value MinHash, ${fmt(plan.images)} images with 256-bit hashes) in ${plan.units} unit${plan.units === 1 ? "" : "s"}: ` +
          `${(plan.bytes / 1e6).toFixed(0)} MB of map Parquet generated in ${genSeconds.toFixed(0)} s\n`,
      );
      const reduceStarted = performance.now();
      let result: ChildResult;
      try {
        result = await runChild({ dir, reduceMemory: options.reduceMemory });
      } catch (err) {
        // A reduce that dies (DuckDB out of memory, disk full) is a result too: say so and go on.
        process.stdout.write(`   reduce FAILED after ${((performance.now() - reduceStarted) / 1000).toFixed(0)} s: ${(err as Error).message.split('\n')[0]} (its error is above)\n`);
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const check = await checkPlanted(dir, plan);
      const s = result.summary as { textEdges?: number; imageEdges?: number; decisions?: Record<string, number> };
      process.stdout.write(
        `   reduce: ${result.seconds.toFixed(1)} s wall, ${result.cpuSeconds.toFixed(1)} s CPU, peak RSS ${result.maxRssMiB} MiB (reduceMemory ${options.reduceMemory}); ` +
          `${fmt(s.textEdges ?? 0)} text edges, ${fmt(s.imageEdges ?? 0)} image edges; decisions ${JSON.stringify(s.decisions ?? {})}\n`,
      );
      process.stdout.write(
        `   planted: text copies dropped as near_dup:text of their base ${check.textFound}/${check.textPlanted}, ` +
          `image copies dropped as near_dup:image of their base ${check.imageFound}/${check.imagePlanted}; ` +
          `samples outside planted clusters dropped: ${check.falseDrops}\n`,
      );
      printRecallByDistance(check.byDistance, plan.images);
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

interface Plan {
  text: number;
  images: number;
  textThird: number;
  imageThird: number;
  textClusters: number;
  imageClusters: number;
  units: number;
  bytes: number;
}

const fmt = (n: number): string => (n >= 999_500 ? `${(n / 1e6).toFixed(n % 1e6 ? 1 : 0)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : String(n));

const OPTIONAL_COLUMNS = new Set(['nsfw', 'clip_score']);

/** `expr::TYPE AS name` for every column of a schema, in order, from a map of expressions. */
function select(columns: Record<string, string>, exprs: Record<string, string>): string {
  return Object.entries(columns)
    .map(([name, type]) => {
      // Columns the synthetic signatures do not model (scores of optional steps) are NULL.
      const expr = exprs[name] ?? (OPTIONAL_COLUMNS.has(name) ? 'NULL' : undefined);
      if (expr === undefined) throw new Error(`no generator for column ${name}`);
      return `(${expr})::${type} AS ${name}`;
    })
    .join(', ');
}

async function generate(dir: string, size: number, imageShare: number): Promise<Plan> {
  const text = Math.floor((size * (1 - imageShare)) / 3) * 3;
  const images = Math.floor((size - text) / 3) * 3;
  const textThird = text / 3;
  const imageThird = images / 3;
  const plan: Plan = {
    text,
    images,
    textThird,
    imageThird,
    textClusters: Math.floor(textThird * PLANTED_SHARE),
    imageClusters: Math.floor(imageThird * PLANTED_SHARE),
    units: Math.ceil(text / UNIT_ROWS) + Math.ceil(images / UNIT_ROWS),
    bytes: 0,
  };
  const db = await DuckDBInstance.create(join(dir, 'gen.duckdb'), { memory_limit: '1GB', temp_directory: join(dir, 'gen-spill'), preserve_insertion_order: 'false' });
  const conn = await db.connect();
  try {
    for (const out of ['samples', 'images']) await mkdir(join(dir, 'map', out), { recursive: true });
    for (let start = 0; start < text; start += UNIT_ROWS) await textUnit(conn, dir, plan, start, Math.min(text, start + UNIT_ROWS));
    for (let start = 0; start < images; start += UNIT_ROWS) await imageUnit(conn, dir, plan, start, Math.min(images, start + UNIT_ROWS));
  } finally {
    conn.closeSync();
    db.closeSync();
    await rm(join(dir, 'gen.duckdb'), { force: true });
    await rm(join(dir, 'gen.duckdb.wal'), { force: true });
    await rm(join(dir, 'gen-spill'), { recursive: true, force: true });
  }
  for (const out of ['samples', 'images']) {
    for (const f of await readdir(join(dir, 'map', out))) plan.bytes += (await stat(join(dir, 'map', out, f))).size;
  }
  return plan;
}

const unitName = (prefix: string, start: number): string => `${prefix}${String(start / UNIT_ROWS).padStart(5, '0')}`;

/**
 * Text sample i: member m = i div third of cluster c = i mod third; planted when c < textClusters.
 * Its MinHash value k is the cluster's, except in the three bands the member alters (the base, m = 0, alters none).
 */
async function textUnit(conn: DuckDBConnection, dir: string, plan: Plan, start: number, end: number): Promise<void> {
  const unit = unitName('t', start);
  const planted = `(i % ${plan.textThird}) < ${plan.textClusters}`;
  const altered = `(i // ${plan.textThird}) > 0 AND (((k // ${ROWS}) - (i % ${plan.textThird}) - 3 * (i // ${plan.textThird})) % ${TEXT_BANDS} + ${TEXT_BANDS}) % ${TEXT_BANDS} < 3`;
  const value = `CASE WHEN ${planted} AND NOT (${altered}) THEN hash(${seed(1)} + (i % ${plan.textThird}) * ${PERMS} + k) ELSE hash(${seed(0)} + i * ${PERMS} + k) END % ${U32}`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE t AS SELECT ${select(FILTER_SAMPLE_COLUMNS, {
    unit: sqlString(unit),
    row: `i - ${start}`,
    sample_id: `'t' || i`,
    kind: `'qa'`,
    status: `'candidate'`,
    reason: 'NULL',
    details: 'NULL',
    quality: 'NULL',
    text_hash: `md5('text' || i)`,
    image_key: `''`,
    text_chars: '600',
    pixels: '0',
    minhash: `list_transform(range(${PERMS}), k -> (${value}))`,
  })} FROM range(${start}, ${end}) r(i)`);
  await conn.run(`COPY t TO ${sqlString(join(dir, 'map', 'samples', `${unit}.parquet`))} (FORMAT PARQUET, COMPRESSION SNAPPY)`);
}

/** Image sample j: planted like text; a copy's hash word w is the base's XOR a mask with each bit set with p = 8·(1 + c mod 8)/256. */
async function imageUnit(conn: DuckDBConnection, dir: string, plan: Plan, start: number, end: number): Promise<void> {
  const unit = unitName('i', start);
  const c = `(j % ${plan.imageThird})`;
  const m = `(j // ${plan.imageThird})`;
  const planted = `${c} < ${plan.imageClusters}`;
  const mask = (w: number): string =>
    `list_sum(list_transform(range(32), b -> CASE WHEN hash(${seed(2)} + j * 256 + ${w * 32} + b) % 256 < 8 * (1 + ${c} % ${DISTANCE_CLASSES}) THEN (1::UBIGINT << (31 - b)) ELSE 0::UBIGINT END))::UBIGINT`;
  const word = (w: number): string =>
    `CASE WHEN ${planted} THEN xor(hash(${seed(1)} + ${c} * 8 + ${w}) % ${U32}, CASE WHEN ${m} > 0 THEN (${mask(w)}) % ${U32} ELSE 0 END) ELSE hash(${seed(0)} + j * 8 + ${w}) % ${U32} END`;
  const exprs: Record<string, string> = {
    unit: sqlString(unit),
    row: `j - ${start}`,
    sample_id: `'i' || j`,
    kind: `'caption'`,
    media_id: `md5('media' || j)`,
    position: '0',
    width: `CASE WHEN ${planted} AND ${m} = 0 THEN 1024 ELSE 512 END`,
    height: `CASE WHEN ${planted} AND ${m} = 0 THEN 768 ELSE 384 END`,
    text_chars: '60',
  };
  for (let w = 0; w < 8; w++) {
    exprs[`h${w}`] = word(w);
    exprs[`m${w}`] = `hash(${seed(8)} + j * 8 + ${w}) % ${U32}`;
  }
  await conn.run(`CREATE OR REPLACE TEMP TABLE im AS SELECT ${select(FILTER_IMAGE_COLUMNS, exprs)} FROM range(${start}, ${end}) r(j)`);
  await conn.run(`COPY im TO ${sqlString(join(dir, 'map', 'images', `${unit}.parquet`))} (FORMAT PARQUET, COMPRESSION SNAPPY)`);
  await conn.run(`COPY (SELECT ${select(FILTER_SAMPLE_COLUMNS, {
    unit: 'unit',
    row: 'row',
    sample_id: 'sample_id',
    kind: 'kind',
    status: `'candidate'`,
    reason: 'NULL',
    details: 'NULL',
    quality: 'NULL',
    text_hash: 'NULL',
    image_key: 'media_id',
    text_chars: 'text_chars',
    pixels: 'width::BIGINT * height',
    minhash: 'NULL',
  })} FROM im) TO ${sqlString(join(dir, 'map', 'samples', `${unit}.parquet`))} (FORMAT PARQUET, COMPRESSION SNAPPY)`);
}

/** Planted image copies by their Hamming distance to their base, and how many of them were dropped as its near-duplicate. */
interface DistanceRow {
  distance: number;
  planted: number;
  found: number;
}

/** Every planted text copy (member 1 and 2) should be dropped with its cluster's base (member 0) as `dup_of`, image copies within the radius too; nothing else dropped. */
async function checkPlanted(dir: string, plan: Plan): Promise<{ textFound: number; textPlanted: number; imageFound: number; imagePlanted: number; falseDrops: number; byDistance: DistanceRow[] }> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  plan = { ...plan, textThird: Math.max(1, plan.textThird), imageThird: Math.max(1, plan.imageThird) };
  try {
    const decisions = `read_parquet(${sqlString(join(dir, 'out', 'decisions.parquet'))})`;
    const row = (
      await conn.runAndReadAll(`WITH d AS (SELECT sample_id, reason, dup_of, substr(sample_id, 1, 1) AS k, substr(sample_id, 2)::BIGINT AS n,
          substr(dup_of, 2)::BIGINT AS base FROM ${decisions} WHERE action = 'drop')
        SELECT
          count(*) FILTER (WHERE k = 't' AND reason = 'near_dup:text' AND n % ${plan.textThird} < ${plan.textClusters} AND n >= ${plan.textThird} AND base = n % ${plan.textThird})::INTEGER,
          count(*) FILTER (WHERE k = 'i' AND reason = 'near_dup:image' AND n % ${plan.imageThird} < ${plan.imageClusters} AND n >= ${plan.imageThird} AND base = n % ${plan.imageThird})::INTEGER,
          count(*) FILTER (WHERE (k = 't' AND n % ${plan.textThird} >= ${plan.textClusters}) OR (k = 'i' AND n % ${plan.imageThird} >= ${plan.imageClusters})
                             OR (k = 't' AND n < ${plan.textThird}) OR (k = 'i' AND n < ${plan.imageThird}))::INTEGER
        FROM d`)
    ).getRows()[0] as number[];
    let byDistance: DistanceRow[] = [];
    if (plan.imageClusters > 0) {
      const words = [...Array(8).keys()].map((w) => `h${w}`).join(', ');
      const hamming = [...Array(8).keys()].map((w) => `bit_count(xor(c.h${w}, b.h${w}))::INTEGER`).join(' + ');
      const rows = await conn.runAndReadAll(`WITH im AS (SELECT substr(sample_id, 2)::BIGINT AS j, ${words} FROM read_parquet(${sqlString(join(dir, 'map', 'images', '*.parquet'))})
            WHERE substr(sample_id, 2)::BIGINT % ${plan.imageThird} < ${plan.imageClusters}),
          p AS (SELECT c.j, c.j % ${plan.imageThird} AS base, ${hamming} AS distance FROM im c JOIN im b ON b.j = c.j % ${plan.imageThird} WHERE c.j >= ${plan.imageThird}),
          d AS (SELECT substr(sample_id, 2)::BIGINT AS j, substr(dup_of, 2)::BIGINT AS base FROM ${decisions} WHERE reason = 'near_dup:image')
        SELECT p.distance, count(*)::INTEGER, count(d.j)::INTEGER FROM p LEFT JOIN d ON d.j = p.j AND d.base = p.base GROUP BY ALL ORDER BY 1`);
      byDistance = rows.getRows().map(([distance, planted, found]) => ({ distance: Number(distance), planted: Number(planted), found: Number(found) }));
    }
    return { textFound: row[0] as number, textPlanted: plan.textClusters * 2, imageFound: row[1] as number, imagePlanted: plan.imageClusters * 2, falseDrops: row[2] as number, byDistance };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Measured recall per distance band beside the recall the reduce's band layout predicts for those pairs. */
function printRecallByDistance(rows: DistanceRow[], images: number): void {
  if (!rows.length) return;
  const defaults = filterSchema.parse({}).nearImage;
  const index = imageBandPlan(images, defaults.radius, defaults.recall, defaults.flips);
  process.stdout.write(
    `   image index for ${fmt(images)} hashes: ${index.bands} bands × ${index.bits} sampled bits (recall target ${defaults.recall} at radius ${defaults.radius}; ` +
      `~${fmt(Math.round(index.randomCandidatesPerBand))} random candidates per band)
   planted copies by Hamming distance to their base: found / planted (measured) vs expected
`,
  );
  const width = 8;
  const buckets = new Map<number, { planted: number; found: number; expected: number }>();
  for (const r of rows) {
    const key = Math.floor(r.distance / width);
    const b = buckets.get(key) ?? { planted: 0, found: 0, expected: 0 };
    b.planted += r.planted;
    b.found += r.found;
    b.expected += r.planted * (r.distance <= defaults.radius ? index.recallAt(r.distance) : 0);
    buckets.set(key, b);
  }
  for (const [key, b] of [...buckets.entries()].sort((x, y) => x[0] - y[0])) {
    const lo = key * width;
    const hi = lo + width - 1;
    const where = hi <= defaults.radius ? '' : lo > defaults.radius ? ' (beyond the radius: expected 0)' : ` (partly beyond the radius ${defaults.radius})`;
    process.stdout.write(
      `     d ${String(lo).padStart(2)}–${String(hi).padEnd(3)} ${String(b.found).padStart(6)} / ${String(b.planted).padEnd(6)} measured ${pct(b.found, b.planted).padStart(6)}, expected ${pct(b.expected, b.planted).padStart(6)}${where}\n`,
    );
  }
}

const pct = (x: number, n: number): string => (n ? `${((100 * x) / n).toFixed(1)}%` : '–');

function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(spec), STRATUM_LOG_LEVEL: process.env.STRATUM_BENCH_FILTER_PROGRESS === '1' ? 'info' : 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`reduce child exited with ${code}: ${out.slice(-500)}`));
      else resolvePromise(JSON.parse(last) as ChildResult);
    });
  });
}

/** In the child: one reduce over every generated map file, as the filter stage calls it for a dataset with no shared index. */
async function childMain(spec: ChildSpec): Promise<void> {
  const config = filterSchema.parse({ reduceMemory: spec.reduceMemory });
  const units: ReduceInput['units'] = new Map();
  for (const output of ['samples', 'images']) {
    for (const f of (await readdir(join(spec.dir, 'map', output))).sort()) {
      const id = f.replace(/\.parquet$/, '');
      let unit = units.get(id);
      if (!unit) units.set(id, (unit = { files: {}, outputHash: id }));
      (unit.files[output] ??= []).push(join(spec.dir, 'map', output, f));
    }
  }
  const files: Record<string, string[]> = {};
  for (const unit of units.values()) for (const [output, list] of Object.entries(unit.files)) (files[output] ??= []).push(...list);
  const outDir = join(spec.dir, 'out');
  await mkdir(outDir, { recursive: true });
  const started = performance.now();
  const cpu = process.resourceUsage();
  const result = await reduceFilter(config, { rank: 0, files }, [], { units, changed: new Set(units.keys()), previous: null, outDir });
  const seconds = (performance.now() - started) / 1000;
  const after = process.resourceUsage();
  const cpuSeconds = (after.userCPUTime - cpu.userCPUTime + after.systemCPUTime - cpu.systemCPUTime) / 1e6;
  const out: ChildResult = { seconds, cpuSeconds, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), summary: result.summary };
  process.stdout.write(`\n${JSON.stringify(out)}\n`);
}

if (process.env[CHILD_ENV]) {
  const spec = JSON.parse(process.env[CHILD_ENV] as string) as ChildSpec;
  delete process.env[CHILD_ENV];
  await childMain(spec);
}
