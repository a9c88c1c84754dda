import type { DuckDBConnection } from '@duckdb/node-api';
import { queryNumber, sqlList, sqlString } from '../shared/store/duckdb.js';

/** The text half of the video rule: applied with its threshold and the map's `video_text` rows, or not, with the reason. */
export type VideoTextRule = { applied: true; eps: number; rows: string } | { applied: false; why: string };

export interface VideoDedupInput {
  /** Clips whose mean frame embeddings have cosine ≥ 1 − eps are near-duplicates. */
  eps: number;
  /** …and so are clips sharing near-duplicate frames (256-bit hash) for at least this share of the shorter clip's frames. */
  minSharedFrames: number;
  /** The paper's rule: frames *and* texts close. Without a text tower, the frame half alone. */
  text: VideoTextRule;
  model: string;
  files: string[];
  dim: number;
  keepOrder: string;
  ownUnits: string;
}

/**
 * Near-duplicate video clips, inside the filter's reduce after SemDeDup (tables `io`, `i_occ`,
 * `cent`, `decisions`). Two rules, either suffices: (1) embeddings — each video sample's clip vector
 * is the normalised mean of its frames' embeddings (every stored frame, including frames other steps
 * removed, since those are the evidence), clips are assigned to the image centroids and pairs in
 * one cluster with cosine ≥ 1 − eps are duplicates; (2) hashes — clips sharing near-duplicate
 * frames (the image step's components) for at least `minSharedFrames` of the shorter clip's
 * distinct frames. Pairs are grouped by connected components; the kept clip follows the semantic `keep` order and
 * the others are dropped with reason `semantic_dup:video` (whatever frame-level decisions they had
 * are replaced). Frame order is not compared: a re-cut clip with the same frames in another order
 * counts as a duplicate.
 *
 * With the text half (a dual encoder with a text tower), a frame pair is a duplicate only when the
 * clips' texts (caption, transcript, question) embed with cosine ≥ 1 − text eps, or both clips have
 * no text; a clip's text vector missing (or only one clip with text) means different texts. Clips
 * are then judged whole: a clip keeps frames it shares with a clip it is not a duplicate of (two
 * questions on one video are two samples, each needing its frames).
 */
export async function videoClipDedup(conn: DuckDBConnection, input: VideoDedupInput, connectedComponents: (c: DuckDBConnection, e: string, o: string) => Promise<number>): Promise<Record<string, unknown>> {
  const d = input.dim;
  await conn.run(`CREATE TABLE v_vec AS SELECT media_id, any_value(vector)::FLOAT[${d}] AS vector FROM read_parquet(${sqlList(input.files)})
    WHERE media_id IN (SELECT media_id FROM io WHERE kind = 'video') GROUP BY media_id`);
  await conn.run(`CREATE TABLE v_frames AS SELECT io.sample_id, io.media_id FROM io JOIN v_vec USING (media_id)
    WHERE io.kind = 'video' AND io.sample_id NOT IN (SELECT sample_id FROM decisions WHERE action = 'drop')`);
  const clips = await queryNumber(conn, `SELECT count(DISTINCT sample_id) FROM v_frames`);
  const rule = input.text.applied ? 'frames+text' : 'frames_only';
  const note = input.text.applied ? null : `video near-duplicates: frames only, text half not applied: ${input.text.why}`;
  const summary = { clips, rule, ...(input.text.applied ? { textEps: input.text.eps } : { note }), eps: input.eps };
  if (clips < 2) return { ...summary, embeddingPairs: 0, framePairs: 0, pairs: 0, dropped: 0 };
  await conn.run(`CREATE TABLE v_mean AS SELECT f.sample_id, u.i, avg(u.x) AS m
    FROM v_frames f JOIN (SELECT media_id, unnest(vector::FLOAT[]) AS x, generate_subscripts(vector::FLOAT[], 1) AS i FROM v_vec) u USING (media_id)
    GROUP BY f.sample_id, u.i`);
  await conn.run(`CREATE TABLE v_clip AS SELECT a.sample_id, list(a.m / n.n ORDER BY a.i)::FLOAT[${d}] AS vector
    FROM v_mean a JOIN (SELECT sample_id, sqrt(sum(m * m)) AS n FROM v_mean GROUP BY sample_id HAVING sqrt(sum(m * m)) > 0) n USING (sample_id)
    GROUP BY a.sample_id`);
  await conn.run(`CREATE TABLE v_clipc AS SELECT v.sample_id, any_value(v.vector) AS vector, arg_max(c.cluster, array_inner_product(v.vector, c.centroid)) AS cluster
    FROM v_clip v CROSS JOIN cent c GROUP BY v.sample_id`);
  await conn.run(`CREATE TABLE v_emb_edges AS SELECT a.sample_id AS a, b.sample_id AS b FROM v_clipc a JOIN v_clipc b ON a.cluster = b.cluster AND a.sample_id < b.sample_id
    WHERE array_inner_product(a.vector, b.vector) >= ${1 - input.eps}`);
  // frames shared through the near-duplicate image step (its components: equal or near-equal 256-bit hashes)
  await conn.run(`CREATE TABLE v_comps AS SELECT DISTINCT sample_id, comp FROM i_occ WHERE kind = 'video' AND sample_id IN (SELECT sample_id FROM v_clip)`);
  await conn.run(`CREATE TABLE v_hash_edges AS WITH n AS (SELECT sample_id, count(*) AS n FROM v_comps GROUP BY sample_id)
    SELECT a.sample_id AS a, b.sample_id AS b, count(*) AS shared, least(any_value(na.n), any_value(nb.n)) AS fewer
    FROM v_comps a JOIN v_comps b ON a.comp = b.comp AND a.sample_id < b.sample_id JOIN n na ON na.sample_id = a.sample_id JOIN n nb ON nb.sample_id = b.sample_id
    GROUP BY a.sample_id, b.sample_id HAVING count(*) >= ${input.minSharedFrames} * least(any_value(na.n), any_value(nb.n))`);
  await conn.run(`CREATE TABLE v_frame_edges AS SELECT a, b FROM v_emb_edges UNION SELECT a, b FROM v_hash_edges`);
  if (input.text.applied) {
    const rows = input.text.rows || `SELECT NULL::VARCHAR AS sample_id, NULL::FLOAT[] AS vector LIMIT 0`;
    const td = (await queryNumber(conn, `SELECT max(len(vector)) FROM (${rows})`)) || 1;
    await conn.run(`CREATE TABLE v_text AS SELECT sample_id, any_value(vector)::FLOAT[${td}] AS vector FROM (${rows})
      WHERE sample_id IN (SELECT sample_id FROM v_clip) GROUP BY sample_id`);
    // both texts close, or both clips without text; a missing row or one text alone: different texts
    await conn.run(`CREATE TABLE v_edges AS SELECT f.a, f.b, array_inner_product(ta.vector, tb.vector) AS text_cosine
      FROM v_frame_edges f JOIN v_text ta ON ta.sample_id = f.a JOIN v_text tb ON tb.sample_id = f.b
      WHERE (ta.vector IS NULL AND tb.vector IS NULL) OR array_inner_product(ta.vector, tb.vector) >= ${1 - input.text.eps}`);
  } else {
    await conn.run(`CREATE TABLE v_edges AS SELECT a, b, NULL::FLOAT AS text_cosine FROM v_frame_edges`);
  }
  await connectedComponents(conn, 'v_edges', 'v_comp');
  // one row per clip with the columns the keep order reads
  await conn.run(`CREATE TABLE v_occ AS SELECT io.sample_id, any_value(io.unit) AS unit, min(io.rank) AS rank, min(io.row) AS row, max(io.pixels) AS pixels,
      max(io.text_chars) AS text_chars, 0 AS position, count(*) AS frames
    FROM io WHERE io.sample_id IN (SELECT sample_id FROM v_clip) GROUP BY io.sample_id`);
  await conn.run(`CREATE TABLE v_dup AS SELECT io.*, vc.comp,
      first_value(io.sample_id) OVER (PARTITION BY vc.comp ORDER BY ${input.keepOrder}, io.sample_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper
    FROM v_occ io JOIN v_comp vc ON vc.node = io.sample_id`);
  const textCosine = input.text.applied
    ? `(SELECT array_inner_product(ta.vector, tb.vector) FROM v_text ta, v_text tb WHERE ta.sample_id = d.sample_id AND tb.sample_id = d.keeper)`
    : 'NULL::FLOAT';
  await conn.run(`CREATE TABLE v_drop AS SELECT d.*, array_inner_product(x.vector, y.vector) AS cosine, k.frames AS kept_frames,
      coalesce(h1.shared, h2.shared, 0) AS shared_frames, ${textCosine} AS text_cosine
    FROM v_dup d JOIN v_clip x ON x.sample_id = d.sample_id JOIN v_clip y ON y.sample_id = d.keeper JOIN v_occ k ON k.sample_id = d.keeper
      LEFT JOIN v_hash_edges h1 ON h1.a = d.sample_id AND h1.b = d.keeper LEFT JOIN v_hash_edges h2 ON h2.a = d.keeper AND h2.b = d.sample_id
    WHERE d.sample_id <> d.keeper AND d.${input.ownUnits}`);
  await conn.run(`DELETE FROM decisions WHERE sample_id IN (SELECT sample_id FROM v_drop)`);
  const textDetails = input.text.applied
    ? `'rule', 'frames+text', 'text_cosine', text_cosine, 'text_eps', ${input.text.eps}`
    : `'rule', 'frames_only', 'text_rule', ${sqlString(`not applied: ${input.text.why}`)}`;
  await conn.run(`INSERT INTO decisions BY NAME
    SELECT unit, sample_id, 'drop' AS action, 'semantic_dup:video' AS reason, keeper AS dup_of,
           json_object('cosine', cosine, 'eps', ${input.eps}, 'frames', frames, 'kept_frames', kept_frames, 'shared_frames', shared_frames,
             'min_shared_frames', ${input.minSharedFrames}, ${textDetails}, 'model', ${sqlString(input.model)})::VARCHAR AS details,
           []::VARCHAR[] AS removed_media, NULL AS text_cluster, NULL AS image_cluster
      FROM v_drop`);
  let framesKept = 0;
  if (input.text.applied) {
    // judged whole: a clip that is not a duplicate keeps the frames it shares with other clips
    const whole = `action = 'drop_images' AND sample_id IN (SELECT sample_id FROM v_clip) AND sample_id NOT IN (SELECT sample_id FROM v_drop)`;
    framesKept = await queryNumber(conn, `SELECT count(*) FROM decisions WHERE ${whole}`);
    await conn.run(`UPDATE decisions SET action = 'keep', reason = NULL, dup_of = NULL, details = NULL, removed_media = []::VARCHAR[] WHERE ${whole}`);
  }
  const one = (sql: string): Promise<number> => queryNumber(conn, sql);
  return {
    ...summary,
    embeddingPairs: await one(`SELECT count(*) FROM v_emb_edges`),
    framePairs: await one(`SELECT count(*) FROM v_hash_edges`),
    pairs: await one(`SELECT count(*) FROM v_edges`),
    clipsKeepingSharedFrames: framesKept,
    dropped: await one(`SELECT count(*) FROM v_drop`),
  };
}
