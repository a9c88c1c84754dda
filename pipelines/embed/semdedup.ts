import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { queryNumber, sqlList, sqlString } from '../shared/store/duckdb.js';
import type { StageContext } from '../shared/runner/stage.js';
import type { EmbedConfig } from './config.js';
import { modelId, modelsDir, resolveModel } from './registry.js';
import { EmbeddingStore } from './store.js';
import { kmeans } from './kmeans.js';
import { videoClipDedup, type VideoTextRule } from './video-dedup.js';

export interface SemanticInput {
  config: EmbedConfig;
  /** `<name>@<sha>` of the image model whose vectors are used. */
  model: string;
  /** The embedding store's part files of that model. */
  files: string[];
  /** Whether the model has a text tower (the video rule's text half needs one). */
  textTower: boolean;
  /** SQL source of the map's `video_text` rows (every dataset of the index); '' when none was written. */
  videoText: string;
  previous: string | null;
  outDir: string;
  /** SQL ORDER BY over io columns (rank, unit, row, pixels, text_chars) choosing the kept member. */
  keepOrder: string;
  ownUnits: string;
}

const CENTROIDS = 'centroids.parquet';
const CENTROIDS_META = 'centroids.json';

interface CentroidsMeta {
  model: string;
  k: number;
  dim: number;
  fittedOn: number;
  iterations: number;
  seed: number;
}

function autoClusters(n: number): number {
  return Math.max(1, Math.min(4096, Math.round(Math.sqrt(n / 2))));
}

/**
 * SemDeDup inside the filter's reduce, on tables the image step left (`io` occurrences, `i_occ` with
 * each occurrence's near-duplicate keeper and per-kind policy, `decisions`). Only the media that
 * survived exact and near-image dedup take part. Centroids: reused from the previous artifact when
 * it was fitted for the same model (and the same `clusters` setting) so new data is only assigned;
 * else spherical k-means on a seeded sample of at most `fitSample` vectors. Every vector is assigned
 * to its nearest centroid in SQL; pairs in one cluster with cosine ≥ 1 − eps are duplicates; groups
 * are connected components; the kept member follows `semantic.keep`. Adds `semantic_cluster` to
 * `decisions` (and a row for every embedded sample of this dataset, so apply can write the signal).
 */
export async function semanticDedup(conn: DuckDBConnection, input: SemanticInput, connectedComponents: (c: DuckDBConnection, e: string, o: string) => Promise<number>): Promise<Record<string, unknown>> {
  const cfg = input.config.semantic;
  await conn.run(`ALTER TABLE decisions ADD COLUMN semantic_cluster INTEGER`);
  if (!input.files.length) return { model: input.model, embedded: 0 };
  // Parquet stores FLOAT[d] as a list: back to a fixed-size array for DuckDB's array functions
  const dim = await queryNumber(conn, `SELECT len(vector) FROM read_parquet(${sqlString(input.files[0] as string)}) LIMIT 1`);
  await conn.run(`CREATE TABLE emb AS SELECT media_id, any_value(vector)::FLOAT[${dim}] AS vector FROM read_parquet(${sqlList(input.files)})
    WHERE media_id IN (SELECT DISTINCT keeper_media FROM i_occ) GROUP BY media_id`);
  const n = await queryNumber(conn, `SELECT count(*) FROM emb`);
  if (n === 0) return { model: input.model, embedded: 0 };

  // ---- centroids: reuse or fit
  const wanted = cfg.clusters === 'auto' ? null : cfg.clusters;
  let meta: CentroidsMeta | null = null;
  let reused = false;
  if (input.previous && !cfg.recluster && existsSync(join(input.previous, CENTROIDS_META))) {
    const prev = JSON.parse(await readFile(join(input.previous, CENTROIDS_META), 'utf8')) as CentroidsMeta;
    if (prev.model === input.model && prev.dim === dim && (wanted === null || wanted === prev.k)) {
      await conn.run(`CREATE TABLE cent AS SELECT cluster, centroid::FLOAT[${dim}] AS centroid FROM read_parquet(${sqlString(join(input.previous, CENTROIDS))})`);
      meta = prev;
      reused = true;
    }
  }
  if (!meta) {
    const sample = await conn.runAndReadAll(`SELECT vector FROM emb ORDER BY hash(media_id || ${sqlString(String(cfg.seed))}) LIMIT ${cfg.fitSample}`);
    const vectors = sample.getRows().map((r) => Float32Array.from((r[0] as { items: number[] }).items.map(Number)));
    const k = Math.min(wanted ?? autoClusters(n), vectors.length);
    const fit = kmeans(vectors, k, { iterations: cfg.iterations, seed: cfg.seed });
    // staged as JSON lines and copied by DuckDB (the reduce's memory limit is too small for the shard writer's 1 GiB JSON objects)
    const staging = join(input.outDir, '_centroids.jsonl');
    await writeFile(staging, fit.centroids.map((c, cluster) => JSON.stringify({ cluster, centroid: Array.from(c) })).join('\n'));
    await conn.run(`COPY (SELECT cluster, centroid::FLOAT[${dim}] AS centroid FROM read_json(${sqlString(staging)}, format = 'newline_delimited',
      columns = {'cluster': 'INTEGER', 'centroid': 'FLOAT[]'}, maximum_object_size = 67108864)) TO ${sqlString(join(input.outDir, CENTROIDS))} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    await rm(staging, { force: true });
    await conn.run(`CREATE TABLE cent AS SELECT cluster, centroid::FLOAT[${dim}] AS centroid FROM read_parquet(${sqlString(join(input.outDir, CENTROIDS))})`);
    meta = { model: input.model, k: fit.centroids.length, dim, fittedOn: vectors.length, iterations: fit.iterations, seed: cfg.seed };
  } else {
    await conn.run(`COPY cent TO ${sqlString(join(input.outDir, CENTROIDS))} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  }
  await writeFile(join(input.outDir, CENTROIDS_META), JSON.stringify(meta, null, 1));

  // ---- assign, pair inside clusters, group
  await conn.run(`CREATE TABLE embc AS SELECT e.media_id, any_value(e.vector) AS vector,
      arg_max(c.cluster, array_inner_product(e.vector, c.centroid)) AS cluster
    FROM emb e CROSS JOIN cent c GROUP BY e.media_id`);
  const threshold = 1 - cfg.eps;
  await conn.run(`CREATE TABLE s_edges AS SELECT a.media_id AS a, b.media_id AS b, array_inner_product(a.vector, b.vector) AS sim
    FROM embc a JOIN embc b ON a.cluster = b.cluster AND a.media_id < b.media_id
    WHERE array_inner_product(a.vector, b.vector) >= ${threshold}`);
  await connectedComponents(conn, 's_edges', 's_comp');
  // first_value over an ordered window, the sample id last: keepers must not change between runs.
  await conn.run(`CREATE TABLE s_occ AS SELECT io.unit, io.rank, io.sample_id, io.media_id, o.policy, sc.comp,
      first_value(io.sample_id) OVER (PARTITION BY sc.comp ORDER BY ${input.keepOrder}, io.position, io.sample_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper,
      first_value(io.media_id) OVER (PARTITION BY sc.comp ORDER BY ${input.keepOrder}, io.position, io.sample_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper_media,
      count(*) OVER (PARTITION BY sc.comp) AS size
    FROM i_occ o JOIN io ON io.sample_id = o.sample_id AND io.media_id = o.media_id JOIN s_comp sc ON sc.node = o.media_id
    WHERE o.media_id = o.keeper_media`);
  await conn.run(`CREATE TABLE s_dup AS SELECT d.*, array_inner_product(x.vector, y.vector) AS cosine, x.cluster AS kmeans_cluster
    FROM s_occ d JOIN embc x ON x.media_id = d.media_id JOIN embc y ON y.media_id = d.keeper_media
    WHERE d.sample_id <> d.keeper AND d.media_id <> d.keeper_media AND d.policy <> 'keep'
      AND d.sample_id NOT IN (SELECT sample_id FROM decisions WHERE action <> 'keep') AND d.${input.ownUnits}`);
  const details = `json_object('media_id', min(media_id), 'kept_media_id', arg_min(keeper_media, media_id), 'cosine', arg_min(cosine, media_id),
      'eps', ${cfg.eps}, 'kmeans_cluster', arg_min(kmeans_cluster, media_id), 'model', ${sqlString(input.model)})::VARCHAR`;
  await conn.run(`DELETE FROM decisions WHERE action = 'keep' AND sample_id IN (SELECT sample_id FROM s_dup)`);
  await conn.run(`INSERT INTO decisions BY NAME
    SELECT unit, sample_id, 'drop' AS action, 'semantic_dup:image' AS reason, arg_min(keeper, media_id) AS dup_of, ${details} AS details,
           []::VARCHAR[] AS removed_media, NULL AS text_cluster, arg_min(keeper, media_id) AS image_cluster
      FROM s_dup WHERE policy = 'drop_sample' GROUP BY unit, sample_id
    UNION ALL BY NAME
    SELECT unit, sample_id, 'drop_images' AS action, 'semantic_dup:image_removed' AS reason, min(keeper) AS dup_of,
           json_object('removed', count(*), 'kept_in', list(DISTINCT keeper ORDER BY keeper), 'eps', ${cfg.eps}, 'model', ${sqlString(input.model)})::VARCHAR AS details,
           list(media_id ORDER BY media_id) AS removed_media, NULL AS text_cluster, NULL AS image_cluster
      FROM s_dup WHERE policy = 'drop_image' AND sample_id NOT IN (SELECT sample_id FROM s_dup WHERE policy = 'drop_sample') GROUP BY unit, sample_id`);
  // the k-means cluster of each sample's first embedded image, as a typed signal
  await conn.run(`CREATE TABLE s_cluster AS SELECT io.unit, io.sample_id, arg_min(e.cluster, io.position) AS cluster
    FROM io JOIN embc e USING (media_id) WHERE io.${input.ownUnits} GROUP BY io.unit, io.sample_id`);
  await conn.run(`UPDATE decisions SET semantic_cluster = s.cluster FROM s_cluster s WHERE decisions.sample_id = s.sample_id`);
  await conn.run(`INSERT INTO decisions BY NAME SELECT unit, sample_id, 'keep' AS action, []::VARCHAR[] AS removed_media, cluster AS semantic_cluster
    FROM s_cluster WHERE sample_id NOT IN (SELECT sample_id FROM decisions)`);
  const one = (sql: string): Promise<number> => queryNumber(conn, sql);
  const video = cfg.video.enabled
    ? await videoClipDedup(
        conn,
        {
          eps: cfg.video.eps,
          minSharedFrames: cfg.video.minSharedFrames,
          text: videoTextRule(input, cfg.video),
          model: input.model,
          files: input.files,
          dim,
          keepOrder: input.keepOrder,
          ownUnits: input.ownUnits,
        },
        connectedComponents,
      )
    : null;
  return {
    model: input.model,
    embedded: n,
    clusters: meta.k,
    centroidsReused: reused,
    pairs: await one(`SELECT count(*) FROM s_edges`),
    dropped: await one(`SELECT count(DISTINCT sample_id) FROM s_dup`),
    video,
    // what a user must know about how the steps ran (`pnpm pipeline status` prints it)
    notes: video && Number(video.clips) > 0 && typeof video.note === 'string' ? [video.note] : [],
  };
}

/** The video rule's text half, or why it is not applied (said in the ledger and the reduce summary). */
function videoTextRule(input: SemanticInput, video: EmbedConfig['semantic']['video']): VideoTextRule {
  if (!video.text) return { applied: false, why: 'switched off (filter.embed.semantic.video.text: false)' };
  if (!input.textTower)
    return { applied: false, why: `no image–text model registered: ${input.model} has no text tower, so clips are judged by their frames only (register a CLIP-family model: pnpm pipeline models add)` };
  return { applied: true, eps: video.textEps, rows: input.videoText };
}

/**
 * Said in the reduce summary (and so by `pnpm pipeline status`) when CLIP scores are on but the model
 * has no text tower and this dataset has samples they would have scored (captions, documents).
 */
export async function clipScoreNote(conn: DuckDBConnection, input: Pick<SemanticInput, 'config' | 'model' | 'textTower'>, ownUnits: string): Promise<string | null> {
  if (input.textTower || !input.config.clipScore.enabled) return null;
  const n = await queryNumber(conn, `SELECT count(*) FROM s WHERE kind IN ('caption', 'interleaved') AND ${ownUnits}`);
  if (!n) return null;
  return `CLIP scores not computed for ${n} caption/interleaved samples: no image–text model registered (${input.model} has no text tower; register a CLIP-family model with pnpm pipeline models add and set filter.embed.imageModel)`;
}

/** What the filter's reduce needs for SemDeDup in this dataset's config (null when off). */
export async function semanticInputs(ctx: StageContext): Promise<Pick<SemanticInput, 'config' | 'model' | 'files' | 'textTower'> | null> {
  const embed = ctx.config.filter.embed;
  if (!embed.enabled || !embed.semantic.enabled) return null;
  const registered = await resolveModel(embed.imageModel, modelsDir(ctx.loaded.baseDir));
  const model = modelId(registered);
  return { config: embed, model, files: await new EmbeddingStore(ctx.loaded.shardsDir, model).files(), textTower: !!registered.textModel };
}
