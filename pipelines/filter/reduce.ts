import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stableHash } from '../shared/hash.js';
import { log } from '../shared/log.js';
import type { ReduceInput, ReduceResult } from '../shared/runner/stage.js';
import { queryNumber, sqlList, sqlString } from '../shared/store/duckdb.js';
import type { FilterConfig } from './config.js';
import { clipScoreNote, semanticDedup, type SemanticInput } from '../embed/semdedup.js';
import { balanceConcepts } from '../embed/concepts.js';
import { imageBandPlan } from './image-hash.js';
import { imagePolicies } from './image-policy.js';
import { connectedComponents } from './components.js';
import { nearTextClusters } from './text-clusters.js';

/** Map outputs of one dataset that take part in this reduce, with its priority (earlier datasets keep their samples). */
export interface SignatureSet {
  rank: number;
  files: Record<string, string[]>;
}

const ARTIFACT_META = 'meta.json';

/** The part of the config that decides pairs; a previous artifact built under another is not reused. */
function pairConfig(config: FilterConfig): string {
  return stableHash({ t: config.nearText, i: config.nearImage, e: config.exact, v: 2 });
}

function orderBy(keep: 'largest' | 'first' | 'longest_text'): string {
  const first = 'rank, unit, row';
  if (keep === 'largest') return `pixels DESC NULLS LAST, ${first}`;
  if (keep === 'longest_text') return `text_chars DESC NULLS LAST, ${first}`;
  return first;
}

const parquet = (files: string[]): string => (files.length ? `read_parquet(${sqlList(files)})` : '');

// Keepers use first_value over an ordered window (with the sample id as the last tie-breaker): an
// ORDER BY inside a windowed aggregate is not honoured by every DuckDB version, and a keeper that
// changes between runs would make resumed runs differ from uninterrupted ones.

/**
 * The global step of the filter, in DuckDB SQL on a file-backed database that spills to disk
 * (memory bounded by `filter.reduceMemory`): exact text duplicates → MinHash bands, each bucket
 * verified against one representative → clusters whose drops are verified against their keeper
 * (text-clusters.ts); then images: exact (same sha256) and near (256-bit hash bands, each bucket
 * verified against one representative by Hamming distance, mirrored copies included) → components
 * (union-find) → keeper occurrence by policy → per-kind action. Writes `decisions.parquet` (this
 * dataset's samples), the verified pairs and the text drops, which the next run starts from. A
 * DuckDB out-of-memory error is rethrown naming `filter.reduceMemory` and the step.
 */
export async function reduceFilter(
  config: FilterConfig,
  own: SignatureSet,
  others: SignatureSet[],
  input: ReduceInput,
  semantic: Pick<SemanticInput, 'config' | 'model' | 'files' | 'textTower'> | null = null,
): Promise<ReduceResult> {
  const started = Date.now();
  const db = await DuckDBInstance.create(join(input.outDir, '_work.duckdb'), {
    memory_limit: config.reduceMemory,
    temp_directory: join(input.outDir, '_spill'),
    preserve_insertion_order: 'false',
  });
  const conn = await db.connect();
  // What the reduce is doing, for the error when DuckDB runs out of memory.
  let step = 'reading the map outputs (signatures)';
  // CPU seconds of this process per step (DuckDB's threads included), for the summary.
  const cpuPerStep: Record<string, number> = {};
  let stepCpu = process.cpuUsage();
  const enter = (next: string): void => {
    const used = process.cpuUsage(stepCpu);
    cpuPerStep[step] = Math.round((used.user + used.system) / 1e4) / 100;
    stepCpu = process.cpuUsage();
    step = next;
  };
  try {
    const pairHash = pairConfig(config);
    let previous = input.previous;
    if (previous && (!existsSync(join(previous, ARTIFACT_META)) || JSON.parse(await readFile(join(previous, ARTIFACT_META), 'utf8')).pairs !== pairHash || others.length)) previous = null;
    const changed = sqlList([...input.changed]);
    const live = sqlList([...input.units.keys()]);
    const sets = [own, ...others];
    const union = (output: string, extra = ''): string => {
      const parts = sets.filter((s) => (s.files[output] ?? []).length).map((s) => `SELECT *, ${s.rank} AS rank ${extra} FROM ${parquet(s.files[output] ?? [])}`);
      return parts.length ? parts.join(' UNION ALL BY NAME ') : '';
    };
    // Rows of this dataset (unit ids may repeat across datasets that share an index).
    const ownUnits = `rank = ${own.rank}`;
    await conn.run(`CREATE TABLE own_units AS SELECT unnest(${live}::VARCHAR[]) AS unit`);
    await conn.run(`CREATE TABLE changed_units AS SELECT unnest(${changed}::VARCHAR[]) AS unit`);
    // When no unit committed a signature table (no text, no images), an empty table of the right shape.
    const table = async (name: string, output: string, empty: string): Promise<void> => {
      const source = union(output);
      await conn.run(`CREATE TABLE ${name} AS ${source || `SELECT ${empty} LIMIT 0`}`);
    };
    // Candidates without their signatures (s); the MinHash lists are read once, by nearTextClusters,
    // for the exact-dedup keepers only.
    const samples = union('samples') || `SELECT NULL::VARCHAR AS unit, 0 AS row, NULL::VARCHAR AS sample_id, NULL::VARCHAR AS kind, NULL::VARCHAR AS status, NULL::VARCHAR AS text_hash, NULL::VARCHAR AS image_key, 0 AS text_chars, 0::BIGINT AS pixels, NULL::UINTEGER[] AS minhash, 0 AS rank LIMIT 0`;
    await conn.run(`CREATE TABLE s AS SELECT unit, row, sample_id, kind, status, text_hash, image_key, text_chars, pixels, rank FROM (${samples}) WHERE status = 'candidate'`);

    // ---- text: exact, then near (MinHash) among the exact keepers
    const textOrder = orderBy(config.nearText.keep);
    await conn.run(`CREATE TABLE t_exact AS SELECT unit, sample_id, rank,
      first_value(sample_id) OVER (PARTITION BY text_hash, image_key ORDER BY ${textOrder}, sample_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper FROM s WHERE text_hash IS NOT NULL`);
    if (!config.exact.text) await conn.run(`UPDATE t_exact SET keeper = sample_id`);
    enter('finding near-duplicate texts (MinHash bands)');
    const text = await nearTextClusters(conn, {
      threshold: config.nearText.threshold,
      bands: config.nearText.bands,
      enabled: config.nearText.enabled,
      keepOrder: textOrder,
      signatures: `SELECT unit, row, sample_id, image_key, text_chars, pixels, rank, minhash FROM (${samples}) WHERE status = 'candidate' AND text_hash IS NOT NULL`,
      incremental: !!previous,
      previousClusters: previous ? join(previous, 'text_clusters.parquet') : null,
    });
    await conn.run(`CREATE TABLE text_drop AS
      SELECT e.unit, e.rank, e.sample_id, 'exact_dup:text' AS reason, e.keeper AS dup_of, json_object('text', 'normalised text and image set equal') AS details
        FROM t_exact e WHERE e.keeper <> e.sample_id
      UNION ALL
      SELECT x.unit, x.rank, x.sample_id, 'near_dup:text', y.sample_id, json_object('similarity', n.sim, 'threshold', ${config.nearText.threshold})
        FROM t_near n JOIN tk x ON x.id = n.id JOIN tk y ON y.id = n.keeper`);

    // ---- images: occurrences of the samples still standing
    const hashCols = [...Array(8).keys()].map((i) => `h${i}, m${i}`).join(', ');
    await table('io_all', 'images', `NULL::VARCHAR AS unit, 0 AS row, NULL::VARCHAR AS sample_id, NULL::VARCHAR AS kind, NULL::VARCHAR AS media_id, 0 AS position, 0 AS width, 0 AS height, 0 AS text_chars, ${[...Array(8).keys()].map((i) => `0::UINTEGER AS h${i}, 0::UINTEGER AS m${i}`).join(', ')}, 0 AS rank`);
    enter('reading image occurrences');
    await conn.run(`CREATE TABLE io AS SELECT DISTINCT ON (sample_id, media_id) *, width::BIGINT * height AS pixels FROM io_all
      WHERE sample_id NOT IN (SELECT sample_id FROM text_drop) ORDER BY sample_id, media_id, position`);
    // One row per media id with a dense integer id (joins on integers, not sha256 strings), the first
    // unit it occurs in (recorded on its edges) and whether any occurrence is new (incremental runs).
    await conn.run(`CREATE TABLE media AS SELECT (row_number() OVER (ORDER BY media_id))::INTEGER AS id, * FROM (
        SELECT media_id, hash(media_id) AS hk, min(unit) AS unit, bool_or(unit IN (SELECT unit FROM changed_units)) AS changed, ${hashCols.split(', ').map((c) => `any_value(${c}) AS ${c}`).join(', ')}
        FROM io GROUP BY media_id)`);
    const mediaCount = await queryNumber(conn, `SELECT count(*)::BIGINT FROM media`);
    const plan = imageBandPlan(mediaCount, config.nearImage.radius, config.nearImage.recall, config.nearImage.flips);
    const hamming = (x: string, y: string, pre: 'h' | 'm'): string =>
      [...Array(8).keys()].map((i) => `bit_count(xor(${x}.h${i}, ${y}.${pre}${i}))::INTEGER`).join(' + ');
    const bandKey = (masks: number[], pre: 'h' | 'm'): string => `hash(${masks.map((m, i) => `${pre}${i} & ${m}::UINTEGER`).join(', ')})`;
    // Band by band, each bucket (equal band key, direct or mirrored hash) is linked to one
    // representative direct hash and every other member is verified against it alone (Hamming on
    // all 256 bits), so a cluster of k near-identical images costs k − 1 checks per band, not k²/2;
    // members that fail try again among themselves. A pair met in several bands is verified once.
    // Band width grows with log2 n, so random buckets stay small (image-hash.ts). An incremental run
    // searches only buckets holding a new image, preferring an old one as representative.
    const repOrder = previous ? '[changed::UBIGINT, hk]' : 'hk';
    await conn.run(`CREATE TABLE i_pairs (a INTEGER, b INTEGER, mirrored BOOLEAN, distance INTEGER)`);
    const bandsStarted = Date.now();
    const bandsCpu = process.cpuUsage();
    enter('finding near-duplicate images (hash bands)');
    for (const [band, masks] of (mediaCount > 1 ? plan.masks : []).entries()) {
      if (band && band % Math.max(1, Math.round(plan.bands / 20)) === 0) {
        const cpu = process.cpuUsage(bandsCpu);
        log.info({ band, bands: plan.bands, bits: plan.bits, media: mediaCount, seconds: (Date.now() - bandsStarted) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }, 'filter reduce: image bands');
      }
      const rows = [`SELECT id, changed, hk, false AS mirrored, ${bandKey(masks, 'h')} AS key FROM media`];
      if (config.nearImage.flips) rows.push(`SELECT id, changed, hk, true, ${bandKey(masks, 'm')} FROM media`);
      // Only buckets with a direct hash and another member (and, incremental, a new member) matter.
      await conn.run(`CREATE OR REPLACE TEMP TABLE _m AS SELECT r.* FROM (${rows.join(' UNION ALL ')}) r
        SEMI JOIN (SELECT key FROM (${rows.join(' UNION ALL ')}) GROUP BY key HAVING count(*) > 1 AND bool_or(NOT mirrored) ${previous ? 'AND bool_or(changed)' : ''}) k ON k.key = r.key`);
      for (let round = 0; round < 3; round++) {
        await conn.run(`CREATE OR REPLACE TEMP TABLE _c AS
          SELECT least(m.id, r.rep) AS a, greatest(m.id, r.rep) AS b, m.mirrored, m.id AS member, r.rep
          FROM _m m JOIN (SELECT key, arg_min(id, ${repOrder}) AS rep, arg_min(changed, ${repOrder}) AS rep_changed FROM _m WHERE NOT mirrored GROUP BY key) r ON r.key = m.key
          WHERE m.id <> r.rep ${previous ? 'AND (m.changed OR r.rep_changed)' : ''}`);
        await conn.run(`INSERT INTO i_pairs SELECT a, b, mirrored, min(distance) FROM (
            SELECT c.a, c.b, c.mirrored, CASE WHEN c.mirrored THEN ${hamming('r', 'q', 'm')} ELSE ${hamming('r', 'q', 'h')} END AS distance
            FROM _c c ANTI JOIN i_pairs p ON p.a = c.a AND p.b = c.b AND p.mirrored = c.mirrored
            JOIN media q ON q.id = c.member JOIN media r ON r.id = c.rep) GROUP BY a, b, mirrored`);
        await conn.run(`CREATE OR REPLACE TEMP TABLE _m AS SELECT m.* FROM _m m JOIN _c c ON c.member = m.id AND c.mirrored = m.mirrored
          JOIN i_pairs p ON p.a = c.a AND p.b = c.b AND p.mirrored = c.mirrored WHERE p.distance > ${config.nearImage.radius}`);
        const left = await conn.runAndReadAll(`SELECT count(*)::BIGINT, count(*) FILTER (WHERE NOT mirrored)::BIGINT FROM _m`);
        const [all, direct] = (left.getRows()[0] ?? [0, 0]).map(Number);
        if ((all ?? 0) < 2 || !direct) break;
      }
    }
    await conn.run(`DROP TABLE IF EXISTS _m; DROP TABLE IF EXISTS _c; DELETE FROM i_pairs WHERE distance > ${config.nearImage.radius}`);
    enter('clustering near-duplicate images');
    await conn.run(`CREATE TABLE i_edges AS SELECT x.media_id AS a, y.media_id AS b, x.unit AS unit_a, y.unit AS unit_b, min(p.distance)::INTEGER AS distance
      FROM i_pairs p JOIN media x ON x.id = p.a JOIN media y ON y.id = p.b GROUP BY ALL`);
    await conn.run(`DROP TABLE i_pairs`);
    if (previous) await reusePreviousEdges(conn, join(previous, 'image_edges.parquet'), 'i_edges', 'distance', 'SELECT media_id FROM media');
    if (!config.nearImage.enabled) await conn.run(`DELETE FROM i_edges`);
    // Every media id is a node: occurrences of one sha256 in several samples form a cluster even without edges.
    await conn.run(`INSERT INTO i_edges SELECT media_id, media_id, NULL, NULL, 0 FROM media`);
    await connectedComponents(conn, 'i_edges', 'i_comp');
    const policies = imagePolicies(config.nearImage.policy);
    const policyCase = `CASE io.kind ${Object.entries(policies).map(([k, p]) => `WHEN ${sqlString(k)} THEN ${sqlString(p)}`).join(' ')} ELSE 'keep' END`;
    const imageOrder = orderBy(config.nearImage.keep).replaceAll(/(rank|unit|row|pixels|text_chars)/g, 'io.$1');
    await conn.run(`CREATE TABLE i_occ AS SELECT io.unit, io.rank, io.sample_id, io.media_id, io.kind, ${policyCase} AS policy, c.comp,
        first_value(io.sample_id) OVER (PARTITION BY c.comp ORDER BY ${imageOrder}, io.position, io.sample_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper,
        first_value(io.media_id) OVER (PARTITION BY c.comp ORDER BY ${imageOrder}, io.position, io.sample_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper_media,
        count(*) OVER (PARTITION BY c.comp) AS size
      FROM io JOIN i_comp c ON c.node = io.media_id
      -- Kinds whose policy is 'keep' (a task on a picture) neither lose their image nor take it from others.
      WHERE ${policyCase} <> 'keep'`);
    if (!config.exact.media) await conn.run(`DELETE FROM i_occ WHERE media_id = keeper_media AND sample_id <> keeper`);
    await conn.run(`CREATE TABLE i_dup AS SELECT o.*, ${config.nearImage.flips ? `least(${hamming('x', 'y', 'h')}, ${hamming('x', 'y', 'm')}, ${hamming('y', 'x', 'm')})` : hamming('x', 'y', 'h')} AS distance
      FROM i_occ o JOIN media x ON x.media_id = o.media_id JOIN media y ON y.media_id = o.keeper_media
      WHERE o.sample_id <> o.keeper AND o.policy <> 'keep'`);

    // ---- decisions for this dataset's samples
    enter('writing decisions');
    await conn.run(`CREATE TABLE decisions AS
      SELECT unit, sample_id, 'drop' AS action, reason, dup_of, details::VARCHAR AS details, []::VARCHAR[] AS removed_media,
             NULL::VARCHAR AS text_cluster, NULL::VARCHAR AS image_cluster
        FROM text_drop WHERE ${ownUnits}
      UNION ALL
      SELECT unit, sample_id, 'drop', CASE WHEN min(media_id) = arg_min(keeper_media, media_id) THEN 'exact_dup:image' ELSE 'near_dup:image' END,
             arg_min(keeper, media_id), json_object('media_id', min(media_id), 'kept_media_id', arg_min(keeper_media, media_id), 'hamming', arg_min(distance, media_id),
                                        'radius', ${config.nearImage.radius})::VARCHAR,
             []::VARCHAR[], NULL, arg_min(keeper, media_id)
        FROM i_dup WHERE policy = 'drop_sample' AND ${ownUnits} GROUP BY unit, sample_id
      UNION ALL
      SELECT unit, sample_id, 'drop_images', 'near_dup:image_removed', min(keeper),
             json_object('removed', count(*), 'kept_in', list(DISTINCT keeper ORDER BY keeper))::VARCHAR, list(media_id ORDER BY media_id), NULL, NULL
        FROM i_dup d WHERE policy = 'drop_image' AND ${ownUnits}
          AND sample_id NOT IN (SELECT sample_id FROM i_dup WHERE policy = 'drop_sample') GROUP BY unit, sample_id`);
    // Keepers get no decision row: a kept sample is the kept member of its own cluster whether or not
    // it has duplicates yet (apply.ts), so a duplicate arriving later changes no earlier unit.
    const keepers = {
      text: await queryNumber(conn, `SELECT count(*)::BIGINT FROM t_keepers k JOIN tk USING (id) WHERE tk.${ownUnits}`),
      image: await queryNumber(conn, `SELECT count(DISTINCT sample_id)::BIGINT FROM i_occ WHERE sample_id = keeper AND size > 1 AND ${ownUnits}`),
    };
    // ---- semantic duplicates (SemDeDup) on image embeddings, among the media still standing
    const semanticOrder = orderBy(semantic?.config.semantic.keep ?? 'largest').replaceAll(/(rank|unit|row|pixels|text_chars)/g, 'io.$1');
    enter('finding semantic duplicates (embeddings)');
    const semanticSummary = semantic
      ? await semanticDedup(conn, { ...semantic, videoText: union('video_text'), previous: input.previous, outDir: input.outDir, keepOrder: semanticOrder, ownUnits }, connectedComponents)
      : (await conn.run(`ALTER TABLE decisions ADD COLUMN semantic_cluster INTEGER`), null);
    // ---- concept balancing (MetaCLIP) on what every duplicate step left standing
    enter('balancing concepts');
    const conceptRows = union('concepts');
    const vocabulary = config.concepts.vocabulary;
    const conceptSummary = conceptRows && (typeof vocabulary === 'string' || vocabulary.length) ? await balanceConcepts(conn, config.concepts, conceptRows, ownUnits, input.outDir) : null;
    enter('writing the reduce artifact');
    await conn.run(`COPY (SELECT * FROM decisions ORDER BY unit, sample_id) TO ${sqlString(join(input.outDir, 'decisions.parquet'))} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    // The text index an incremental run starts from: the drops with their keepers and similarity.
    await conn.run(`COPY (SELECT x.sample_id, x.unit, y.sample_id AS keeper, y.unit AS keeper_unit, n.sim FROM t_near n JOIN tk x ON x.id = n.id JOIN tk y ON y.id = n.keeper)
      TO ${sqlString(join(input.outDir, 'text_clusters.parquet'))} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    await conn.run(`COPY (SELECT DISTINCT a, b, unit_a, unit_b, distance FROM i_edges WHERE a <> b) TO ${sqlString(join(input.outDir, 'image_edges.parquet'))} (FORMAT PARQUET, COMPRESSION ZSTD)`);

    const digests = await conn.runAndReadAll(`SELECT unit, md5(string_agg(concat_ws('|', sample_id, action, reason, dup_of, details,
        array_to_string(removed_media, ','), text_cluster, image_cluster, semantic_cluster), chr(10) ORDER BY sample_id)) FROM decisions GROUP BY unit`);
    const unitDigests = new Map<string, string>();
    for (const id of input.units.keys()) unitDigests.set(id, 'none');
    for (const [unit, digest] of digests.getRows()) unitDigests.set(String(unit), String(digest));
    const counts = await conn.runAndReadAll(`SELECT reason, count(*)::INTEGER FROM decisions GROUP BY ALL ORDER BY 1`);
    const summary = {
      candidates: await queryNumber(conn, `SELECT count(*)::INTEGER FROM s WHERE ${ownUnits}`),
      decisions: Object.fromEntries(counts.getRows().map(([r, n]) => [String(r), Number(n)])),
      /** Kept samples with at least one duplicate dropped (or image taken) in their favour. */
      clusterKeepers: keepers,
      textEdges: text.edges,
      text,
      imageEdges: await queryNumber(conn, `SELECT count(*)::INTEGER FROM i_edges WHERE a <> b`),
      imageIndex: { media: mediaCount, bits: plan.bits, bands: plan.bands, recallAtRadius: plan.recallAt(config.nearImage.radius) },
      incremental: !!previous,
      semantic: semanticSummary,
      concepts: conceptSummary,
      notes: [...(semantic ? [await clipScoreNote(conn, semantic, ownUnits)].filter((n): n is string => !!n) : []), ...((semanticSummary?.notes as string[] | undefined) ?? [])],
      ms: Date.now() - started,
      cpuSeconds: (enter('done'), cpuPerStep),
    };
    await writeFile(join(input.outDir, ARTIFACT_META), JSON.stringify({ pairs: pairHash, summary }, null, 1));
    return { unitDigests, summary };
  } catch (err) {
    throw outOfMemoryError(err, config.reduceMemory, step);
  } finally {
    conn.closeSync();
    db.closeSync();
    const { rm } = await import('node:fs/promises');
    await rm(join(input.outDir, '_work.duckdb'), { force: true });
    await rm(join(input.outDir, '_work.duckdb.wal'), { force: true });
    await rm(join(input.outDir, '_spill'), { recursive: true, force: true });
  }
}

/**
 * DuckDB's out-of-memory error ("failed to pin block ...") says nothing a user can act on: name the
 * setting, its value and what the reduce was doing. Other errors pass through unchanged.
 */
export function outOfMemoryError(err: unknown, reduceMemory: string, step: string): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!/out of memory/i.test(message)) return err;
  return new Error(
    `filter reduce ran out of memory while ${step}: DuckDB's buffer pool is limited to filter.reduceMemory = '${reduceMemory}' ` +
      `and it could not spill enough to disk. Raise filter.reduceMemory in the dataset's filter section (e.g. '${suggestMore(reduceMemory)}'), ` +
      `or free disk space for the spill folder. DuckDB said: ${message.split('\n')[0]}`,
    { cause: err },
  );
}

function suggestMore(size: string): string {
  const m = /^\s*([\d.]+)\s*([KMGT]?i?B)\s*$/i.exec(size);
  return m ? `${Number(m[1]) * 2}${m[2]}` : '8GB';
}

/**
 * Verified pairs of the previous artifact between units that are unchanged and still planned, whose
 * nodes are still candidates: the part of the index a nightly run does not recompute.
 */
async function reusePreviousEdges(conn: DuckDBConnection, file: string, table: string, score: string, nodes: string): Promise<void> {
  if (!existsSync(file)) return;
  await conn.run(`INSERT INTO ${table} SELECT a, b, unit_a, unit_b, ${score} FROM read_parquet(${sqlString(file)})
    WHERE unit_a NOT IN (SELECT unit FROM changed_units) AND unit_b NOT IN (SELECT unit FROM changed_units)
      AND unit_a IN (SELECT unit FROM own_units) AND unit_b IN (SELECT unit FROM own_units)
      AND a IN (${nodes}) AND b IN (${nodes})`);
}
