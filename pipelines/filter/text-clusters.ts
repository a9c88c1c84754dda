import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { queryNumber, sqlString } from '../shared/store/duckdb.js';
import { UnionFind } from './components.js';

/** Residual rounds per band: members that fail against their bucket's representative try another one among themselves. */
const BUCKET_ROUNDS = 3;
/** Rounds of "verify against the keeper": members that fail are clustered again among themselves. */
const KEEPER_ROUNDS = 8;
/** Band rows (signatures × bands) one candidate query holds at most. */
const BAND_ROWS = 4_000_000;

export interface NearTextOptions {
  threshold: number;
  bands: number;
  enabled: boolean;
  /** ORDER BY over tk's columns (rank, unit, row, pixels, text_chars) that puts the keeper first. */
  keepOrder: string;
  /** Text candidates that are exact-dedup keepers' candidates (unit, row, sample_id, image_key, text_chars, pixels, rank, minhash), as SQL; joined with `t_exact`. */
  signatures: string;
  /** Keep the previous run's decisions for unchanged texts and search only the new ones (needs previousClusters). */
  incremental: boolean;
  /**
   * The previous artifact's text drops (sample_id, unit, keeper, keeper_unit, sim): the decisions an
   * incremental run keeps, and the verified member–keeper edges a reopened cluster starts from.
   */
  previousClusters: string | null;
}

export interface NearTextSummary {
  nodes: number;
  edges: number;
  verifications: number;
  keeperRounds: number;
  /** Members still in a multi-member component after the last keeper round (kept, not dropped). */
  unresolved: number;
  /** Clusters of an earlier run reopened because a new text has a better keep claim than their keeper. */
  reopened: number;
}

/** Estimated Jaccard of tk rows x and y: the share of equal MinHash values (0 for another image set). */
const similarity = (x: string, y: string): string =>
  `CASE WHEN ${x}.image_key IS NOT DISTINCT FROM ${y}.image_key AND len(${x}.minhash) = len(${y}.minhash)
     THEN list_sum(list_transform(range(1, len(${x}.minhash) + 1), i -> (${x}.minhash[i] = ${y}.minhash[i])::INTEGER)) / len(${x}.minhash) ELSE 0 END`;

/**
 * MinHash near-duplicates of the exact-dedup keepers (table `tc` rows kept by `t_exact`), with work
 * and memory linear in the number of signatures however they cluster:
 *
 * 1. candidates: per band, each bucket (band key + image set) is linked to one representative
 *    (the member with the smallest hash of its sample id, so the choice does not depend on the
 *    run) and every other member is verified against it alone: k − 1 checks for a bucket of k, not
 *    k²/2. Members that fail try again among themselves (up to BUCKET_ROUNDS), so two members that
 *    are close to each other but not to the representative are still found. A pair met in several
 *    bands is verified once;
 * 2. clusters: connected components of the verified edges (union-find, 4 bytes per signature);
 * 3. precision: a member is dropped only when its own estimated Jaccard with the cluster's keeper
 *    (by `keepOrder`) reaches the threshold. A chain A~B~C with A≁C therefore never drops C in
 *    A's place: members that fail against the keeper are clustered again among themselves, and
 *    what is left after KEEPER_ROUNDS is kept (counted as `unresolved`).
 *
 * Band keys are hashed from the signatures' slices in the reduce (the map's `text_bands` rows are not
 * read). Writes `tk` (candidates with dense ids), `t_pairs` (verified pairs, ids), `t_near` (id, keeper,
 * sim: the drops) and `t_keepers` (id, size).
 */
export async function nearTextClusters(conn: DuckDBConnection, o: NearTextOptions): Promise<NearTextSummary> {
  const incremental = o.enabled && o.incremental && !!o.previousClusters && existsSync(o.previousClusters);
  // Dense ids in any order (nothing persisted depends on them), and the keep order in a narrow
  // table of its own, so no sort carries the signatures. An incremental run leaves most texts
  // decided as they were, so it loads the MinHash lists only of those it searches or matches
  // against (loadSignatures): materialising every list is most of what a small append costs.
  await conn.run(`CREATE TABLE tk AS SELECT (row_number() OVER () - 1)::INTEGER AS id,
      tc.sample_id, tc.unit, tc.rank, tc.row, tc.text_chars, tc.pixels, tc.image_key, hash(coalesce(tc.image_key, '')) AS ik, hash(tc.sample_id) AS h,
      tc.unit IN (SELECT unit FROM changed_units) AS changed, ${incremental ? 'false AS signed, NULL::UINTEGER[] AS minhash' : 'true AS signed, tc.minhash'}
    FROM (${o.signatures}) tc SEMI JOIN (SELECT sample_id, unit, rank FROM t_exact WHERE keeper = sample_id) k ON k.sample_id = tc.sample_id AND k.unit = tc.unit AND k.rank = tc.rank`);
  const order = o.keepOrder.replaceAll(/\b(rank|unit|row|pixels|text_chars)\b/g, 'tk.$1');
  await conn.run(`CREATE TABLE tko AS SELECT id, row_number() OVER (ORDER BY ${order}, tk.sample_id)::BIGINT AS ord FROM tk`);
  const nodes = await queryNumber(conn, `SELECT count(*)::BIGINT FROM tk`);
  await conn.run(`CREATE TABLE t_pairs (a INTEGER, b INTEGER, sim DOUBLE)`);
  await conn.run(`CREATE TABLE t_near (id INTEGER, keeper INTEGER, sim DOUBLE)`);
  // _search: texts still undecided; _anchor: kept texts that undecided ones are matched against.
  await conn.run(`CREATE OR REPLACE TEMP TABLE _anchor (id INTEGER)`);
  if (incremental) {
    // The previous run's decisions stand for unchanged texts: its drops whose keeper is still an
    // unchanged candidate are kept as they are, every other unchanged text that was kept is an
    // anchor, and only new texts (and drops whose keeper went away) are searched.
    await conn.run(`INSERT INTO t_near SELECT x.id, y.id, p.sim FROM read_parquet(${sqlString(o.previousClusters!)}) p
      JOIN tk x ON x.sample_id = p.sample_id AND x.unit = p.unit JOIN tk y ON y.sample_id = p.keeper AND y.unit = p.keeper_unit
      WHERE NOT x.changed AND NOT y.changed`);
    await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT tk.id FROM tk WHERE tk.changed
      UNION ALL SELECT x.id FROM read_parquet(${sqlString(o.previousClusters!)}) p JOIN tk x ON x.sample_id = p.sample_id AND x.unit = p.unit
        WHERE NOT x.changed AND x.id NOT IN (SELECT id FROM t_near)`);
    await conn.run(`INSERT INTO _anchor SELECT id FROM tk WHERE NOT changed AND id NOT IN (SELECT id FROM t_near) AND id NOT IN (SELECT id FROM _search)`);
    await loadSignatures(conn, o.signatures);
  } else {
    await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT id FROM tk`);
  }
  let verifications = 0;
  let keeperRounds = 0;
  let unresolved = 0;
  let reopened = 0;
  const count = (sql: string): Promise<number> => queryNumber(conn, sql);
  const pass = `sim >= ${o.threshold}`;
  // Each round searches the undecided texts (all of them at first) against each other and against
  // the anchors (keepers of earlier rounds, and the kept texts of an earlier run): a text verified
  // against an anchor is dropped in its place; the rest are clustered by their verified pairs, and
  // each cluster's members verified against its keeper are dropped. Members that fail are searched
  // again in the next round.
  for (let round = 0; o.enabled && nodes > 1; round++) {
    if (!(await count(`SELECT count(*)::BIGINT FROM _search`))) break;
    if (round === KEEPER_ROUNDS) {
      unresolved = await count(`SELECT count(*)::BIGINT FROM (SELECT a FROM t_pairs SEMI JOIN _search x ON x.id = t_pairs.a SEMI JOIN _search y ON y.id = t_pairs.b WHERE ${pass}
        UNION SELECT b FROM t_pairs SEMI JOIN _search x ON x.id = t_pairs.a SEMI JOIN _search y ON y.id = t_pairs.b WHERE ${pass})`);
      break;
    }
    verifications += await candidatePairs(conn, o);
    if (await count(`SELECT count(*)::BIGINT FROM _anchor`)) {
      // The best anchor by keep order among those a searched text is verified against.
      await conn.run(`CREATE OR REPLACE TEMP TABLE _am AS SELECT f AS id, arg_min(an, ord) AS keeper, arg_min(sim, ord) AS sim FROM (
          SELECT p.a AS f, p.b AS an, p.sim FROM t_pairs p SEMI JOIN _search s ON s.id = p.a SEMI JOIN _anchor x ON x.id = p.b WHERE ${pass}
          UNION ALL SELECT p.b, p.a, p.sim FROM t_pairs p SEMI JOIN _search s ON s.id = p.b SEMI JOIN _anchor x ON x.id = p.a WHERE ${pass}) m
        JOIN tko ON tko.id = m.an GROUP BY f`);
      // A searched text with a better claim (earlier in keep order) than the anchor it matches
      // reopens that anchor's cluster: the anchor and its members are searched again with it.
      await conn.run(`CREATE OR REPLACE TEMP TABLE _claims AS SELECT DISTINCT am.keeper AS id FROM _am am JOIN tko n ON n.id = am.id JOIN tko k ON k.id = am.keeper WHERE n.ord < k.ord`);
      const claims = await count(`SELECT count(*)::BIGINT FROM _claims`);
      if (claims) {
        reopened += claims;
        await conn.run(`INSERT INTO _search SELECT id FROM _claims UNION ALL SELECT n.id FROM t_near n SEMI JOIN _claims c ON c.id = n.keeper`);
        await conn.run(`DELETE FROM t_near WHERE keeper IN (SELECT id FROM _claims)`);
        await conn.run(`DELETE FROM _anchor WHERE id IN (SELECT id FROM _claims)`);
        await conn.run(`DELETE FROM _am WHERE keeper IN (SELECT id FROM _claims)`);
        if (incremental) {
          await reusePreviousEdges(conn, o.previousClusters!);
          await loadSignatures(conn, o.signatures);
        }
      }
      await conn.run(`INSERT INTO t_near SELECT id, keeper, sim FROM _am`);
      await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT DISTINCT id FROM _search ANTI JOIN _am USING (id)`);
    }
    await conn.run(`CREATE OR REPLACE TEMP TABLE _ea AS SELECT a, b FROM t_pairs SEMI JOIN _search x ON x.id = t_pairs.a SEMI JOIN _search y ON y.id = t_pairs.b WHERE ${pass}`);
    if (!(await count(`SELECT count(*)::BIGINT FROM _ea`))) break;
    keeperRounds++;
    const uf = new UnionFind(nodes);
    await uf.addEdges(conn, `SELECT a, b FROM _ea`);
    await uf.writeRoots(conn, '_roots');
    await conn.run(`CREATE OR REPLACE TEMP TABLE _v AS SELECT k.id, k.keeper, CASE WHEN k.id = k.keeper THEN 1 ELSE ${similarity('x', 'y')} END AS sim
      FROM (SELECT r.node AS id, arg_min(tko.id, tko.ord) OVER (PARTITION BY r.root) AS keeper
            FROM _roots r JOIN tko ON tko.id = r.node) k
      JOIN tk x ON x.id = k.id JOIN tk y ON y.id = k.keeper`);
    await conn.run(`INSERT INTO t_near SELECT id, keeper, sim FROM _v WHERE id <> keeper AND ${pass}`);
    await conn.run(`INSERT INTO _anchor SELECT DISTINCT keeper FROM _v`);
    await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT id FROM _v WHERE NOT (${pass})`);
  }
  await conn.run(`CREATE TABLE t_keepers AS SELECT keeper AS id, (count(*) + 1)::INTEGER AS size FROM t_near GROUP BY keeper`);
  const edges = await count(`SELECT count(*)::BIGINT FROM t_pairs WHERE ${pass}`);
  await conn.run(`DROP TABLE IF EXISTS _ea; DROP TABLE IF EXISTS _v; DROP TABLE IF EXISTS _search; DROP TABLE IF EXISTS _anchor; DROP TABLE IF EXISTS _am; DROP TABLE IF EXISTS _claims; DROP TABLE IF EXISTS _roots`);
  return { nodes, edges, verifications, keeperRounds, unresolved, reopened };
}

/**
 * Loads the MinHash lists of the texts in `_search` and `_anchor` that have none loaded yet (an
 * incremental run starts with none; a reopened cluster adds earlier drops to the search).
 */
async function loadSignatures(conn: DuckDBConnection, signatures: string): Promise<void> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE _sig AS SELECT tk.id, m.minhash FROM (${signatures}) m
      JOIN tk ON tk.sample_id = m.sample_id AND tk.unit = m.unit AND tk.rank = m.rank
      WHERE NOT tk.signed AND (tk.id IN (SELECT id FROM _search) OR tk.id IN (SELECT id FROM _anchor))`);
  await conn.run(`UPDATE tk SET minhash = _sig.minhash, signed = true FROM _sig WHERE tk.id = _sig.id`);
  await conn.run(`DROP TABLE _sig`);
}

/**
 * The previous artifact's member–keeper pairs among the texts being searched again (a reopened
 * cluster), between unchanged units. Every member was verified against its keeper, so these edges
 * alone connect the old cluster; the new text's own pairs come from the band search.
 */
async function reusePreviousEdges(conn: DuckDBConnection, file: string): Promise<void> {
  await conn.run(`INSERT INTO t_pairs SELECT least(x.id, y.id), greatest(x.id, y.id), p.sim FROM read_parquet(${sqlString(file)}) p
      JOIN tk x ON x.sample_id = p.sample_id AND x.unit = p.unit JOIN tk y ON y.sample_id = p.keeper AND y.unit = p.keeper_unit
      WHERE NOT x.changed AND NOT y.changed AND x.id IN (SELECT id FROM _search) AND y.id IN (SELECT id FROM _search)
      AND NOT EXISTS (SELECT 1 FROM t_pairs q WHERE q.a = least(x.id, y.id) AND q.b = greatest(x.id, y.id))`);
}

/**
 * One pass over the bands for the texts in `_search`: in each bucket that holds one, the members
 * are verified against one representative (an anchor when the bucket has one, so undecided texts
 * meet the kept ones; else the searched member with the smallest hash), and the members that fail
 * against another one among themselves. Only buckets holding a searched text are read, so an
 * incremental run's work follows its new texts. New pairs go to `t_pairs` (passing or not, so no
 * pair is verified twice); returns how many were verified.
 */
async function candidatePairs(conn: DuckDBConnection, o: NearTextOptions): Promise<number> {
  const count = (sql: string): Promise<number> => queryNumber(conn, sql);
  const before = await count(`SELECT count(*)::BIGINT FROM t_pairs`);
  // A text compared without its signature would look unlike everything (similarity 0): never silently.
  const unsigned = await count(`SELECT count(*)::BIGINT FROM tk WHERE NOT signed AND (id IN (SELECT id FROM _search) OR id IN (SELECT id FROM _anchor))`);
  if (unsigned) throw new Error(`filter reduce: ${unsigned} texts to compare have no MinHash signature loaded (internal error)`);
  const repOrder = '[(NOT anchor)::UBIGINT, h]';
  // Several bands per query (one query per band costs a pass over the signatures each); the batch
  // shrinks as the index grows, so the band rows held at once stay near BAND_ROWS.
  const nodes = await count(`SELECT count(*)::BIGINT FROM tk`);
  const batch = Math.max(1, Math.min(o.bands, Math.floor(BAND_ROWS / Math.max(1, nodes))));
  for (let first = 0; first < o.bands; first += batch) {
    const bands = `range(${first}, ${Math.min(o.bands, first + batch)}) t(band)`;
    const key = `hash(band, minhash[band * (len(minhash) // ${o.bands}) + 1 : (band + 1) * (len(minhash) // ${o.bands})])`;
    await conn.run(`CREATE OR REPLACE TEMP TABLE _m AS SELECT id, band, ${key} AS key, ik, h, false AS anchor FROM tk SEMI JOIN _search s ON s.id = tk.id, ${bands}`);
    await conn.run(`INSERT INTO _m SELECT * FROM (SELECT id, band, ${key} AS key, ik, h, true FROM tk SEMI JOIN _anchor a ON a.id = tk.id, ${bands}) x
      SEMI JOIN (SELECT DISTINCT key, ik FROM _m) k ON k.key = x.key AND k.ik = x.ik`);
    for (let round = 0; round < BUCKET_ROUNDS; round++) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE _c AS
        SELECT least(m.id, r.rep) AS a, greatest(m.id, r.rep) AS b, m.id AS member, m.key, m.ik
        FROM _m m JOIN (SELECT key, ik, arg_min(id, ${repOrder}) AS rep FROM _m GROUP BY key, ik HAVING count(*) > 1 AND bool_or(NOT anchor)) r ON r.key = m.key AND r.ik = m.ik
        WHERE m.id <> r.rep AND NOT m.anchor`);
      await conn.run(`INSERT INTO t_pairs SELECT c.a, c.b, ${similarity('x', 'y')} AS sim
        FROM (SELECT DISTINCT a, b FROM _c) c ANTI JOIN t_pairs p ON p.a = c.a AND p.b = c.b
        JOIN tk x ON x.id = c.a JOIN tk y ON y.id = c.b`);
      await conn.run(`CREATE OR REPLACE TEMP TABLE _m AS SELECT m.* FROM _m m JOIN _c c ON c.member = m.id AND c.key = m.key AND c.ik = m.ik JOIN t_pairs p ON p.a = c.a AND p.b = c.b WHERE p.sim < ${o.threshold}`);
      if ((await count(`SELECT count(*)::BIGINT FROM _m`)) < 2) break;
    }
  }
  await conn.run(`DROP TABLE IF EXISTS _m; DROP TABLE IF EXISTS _c`);
  return (await count(`SELECT count(*)::BIGINT FROM t_pairs`)) - before;
}
