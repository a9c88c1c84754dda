import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { sqlString } from '../shared/store/duckdb.js';
import { UnionFind } from './components.js';

/** Residual rounds per band: members that fail against their bucket's representative try another one among themselves. */
const BUCKET_ROUNDS = 3;
/** Rounds of "verify against the keeper": members that fail are clustered again among themselves. */
const KEEPER_ROUNDS = 8;

export interface NearTextOptions {
  threshold: number;
  bands: number;
  enabled: boolean;
  /** ORDER BY over tk's columns (rank, unit, row, pixels, text_chars) that puts the keeper first. */
  keepOrder: string;
  /** Only buckets with a member of a changed unit are searched; representatives prefer unchanged members. */
  incremental: boolean;
  /** The previous artifact's verified edges (sample ids), reused between unchanged units. */
  previousEdges: string | null;
}

export interface NearTextSummary {
  nodes: number;
  edges: number;
  verifications: number;
  keeperRounds: number;
  /** Members still in a multi-member component after the last keeper round (kept, not dropped). */
  unresolved: number;
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
 * Writes `tk` (candidates with dense ids), `t_pairs` (verified pairs, ids), `t_near` (id, keeper,
 * sim: the drops) and `t_keepers` (id, size).
 */
export async function nearTextClusters(conn: DuckDBConnection, o: NearTextOptions): Promise<NearTextSummary> {
  await conn.run(`CREATE TABLE tk AS SELECT (row_number() OVER (ORDER BY tc.sample_id, tc.unit, tc.rank) - 1)::INTEGER AS id,
      tc.sample_id, tc.unit, tc.rank, tc.row, tc.text_chars, tc.pixels, tc.image_key, hash(coalesce(tc.image_key, '')) AS ik, hash(tc.sample_id) AS h,
      tc.unit IN (SELECT unit FROM changed_units) AS changed, tc.minhash
    FROM tc JOIN (SELECT sample_id, unit, rank FROM t_exact WHERE keeper = sample_id) k ON k.sample_id = tc.sample_id AND k.unit = tc.unit AND k.rank = tc.rank`);
  const nodes = Number((await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM tk`)).getRows()[0]?.[0] ?? 0);
  // Band rows of the candidates, sorted by band so each band's query reads only its own row groups.
  await conn.run(`CREATE TABLE tb AS SELECT b.band, b.key, k.ik, k.id, k.h, k.changed FROM tb_all b JOIN tk k ON k.sample_id = b.sample_id AND k.unit = b.unit AND k.rank = b.rank ORDER BY b.band, b.key`);
  await conn.run(`CREATE TABLE t_pairs (a INTEGER, b INTEGER, sim DOUBLE)`);
  if (o.enabled && o.previousEdges && existsSync(o.previousEdges)) {
    await conn.run(`INSERT INTO t_pairs SELECT least(x.id, y.id), greatest(x.id, y.id), max(p.sim) FROM read_parquet(${sqlString(o.previousEdges)}) p
      JOIN tk x ON x.sample_id = p.a AND x.unit = p.unit_a JOIN tk y ON y.sample_id = p.b AND y.unit = p.unit_b
      WHERE NOT x.changed AND NOT y.changed AND p.unit_a IN (SELECT unit FROM own_units) AND p.unit_b IN (SELECT unit FROM own_units) GROUP BY ALL`);
  }
  await conn.run(`CREATE TABLE t_near (id INTEGER, keeper INTEGER, sim DOUBLE)`);
  // _search: texts still undecided; _anchor: texts kept as a cluster's keeper in an earlier round.
  await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT id FROM tk`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE _anchor (id INTEGER)`);
  let verifications = 0;
  let keeperRounds = 0;
  let unresolved = 0;
  const count = async (sql: string): Promise<number> => Number((await conn.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
  const pass = `sim >= ${o.threshold}`;
  // Each round searches the undecided texts (all of them at first) against each other and against
  // the keepers of earlier rounds: a text verified against a keeper is dropped in its place; the
  // rest are clustered by their verified pairs, and each cluster's members verified against its
  // keeper are dropped. Members that fail are searched again in the next round.
  for (let round = 0; o.enabled && nodes > 1; round++) {
    if (!(await count(`SELECT count(*)::BIGINT FROM _search`))) break;
    if (round === KEEPER_ROUNDS) {
      unresolved = await count(`SELECT count(*)::BIGINT FROM (SELECT a FROM t_pairs SEMI JOIN _search x ON x.id = t_pairs.a SEMI JOIN _search y ON y.id = t_pairs.b WHERE ${pass}
        UNION SELECT b FROM t_pairs SEMI JOIN _search x ON x.id = t_pairs.a SEMI JOIN _search y ON y.id = t_pairs.b WHERE ${pass})`);
      break;
    }
    verifications += await candidatePairs(conn, o, round === 0);
    if (round > 0) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE _am AS SELECT f AS id, arg_max(an, sim * 1e12 - an) AS keeper, max(sim) AS sim FROM (
          SELECT p.a AS f, p.b AS an, p.sim FROM t_pairs p SEMI JOIN _search s ON s.id = p.a SEMI JOIN _anchor x ON x.id = p.b WHERE ${pass}
          UNION ALL SELECT p.b, p.a, p.sim FROM t_pairs p SEMI JOIN _search s ON s.id = p.b SEMI JOIN _anchor x ON x.id = p.a WHERE ${pass}) GROUP BY f`);
      await conn.run(`INSERT INTO t_near SELECT id, keeper, sim FROM _am`);
      await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT id FROM _search ANTI JOIN _am USING (id)`);
    }
    await conn.run(`CREATE OR REPLACE TEMP TABLE _ea AS SELECT a, b FROM t_pairs SEMI JOIN _search x ON x.id = t_pairs.a SEMI JOIN _search y ON y.id = t_pairs.b WHERE ${pass}`);
    if (!(await count(`SELECT count(*)::BIGINT FROM _ea`))) break;
    keeperRounds++;
    const uf = new UnionFind(nodes);
    await uf.addEdges(conn, `SELECT a, b FROM _ea`);
    await uf.writeRoots(conn, '_roots');
    await conn.run(`CREATE OR REPLACE TEMP TABLE _v AS SELECT k.id, k.keeper, CASE WHEN k.id = k.keeper THEN 1 ELSE ${similarity('x', 'y')} END AS sim
      FROM (SELECT r.node AS id, first_value(tk.id) OVER (PARTITION BY r.root ORDER BY ${o.keepOrder.replaceAll(/\b(rank|unit|row|pixels|text_chars)\b/g, 'tk.$1')}, tk.sample_id
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS keeper
            FROM _roots r JOIN tk ON tk.id = r.node) k
      JOIN tk x ON x.id = k.id JOIN tk y ON y.id = k.keeper`);
    await conn.run(`INSERT INTO t_near SELECT id, keeper, sim FROM _v WHERE id <> keeper AND ${pass}`);
    await conn.run(`INSERT INTO _anchor SELECT DISTINCT keeper FROM _v`);
    await conn.run(`CREATE OR REPLACE TEMP TABLE _search AS SELECT id FROM _v WHERE NOT (${pass})`);
  }
  await conn.run(`CREATE TABLE t_keepers AS SELECT keeper AS id, (count(*) + 1)::INTEGER AS size FROM t_near GROUP BY keeper`);
  const edges = await count(`SELECT count(*)::BIGINT FROM t_pairs WHERE ${pass}`);
  await conn.run(`DROP TABLE IF EXISTS _ea; DROP TABLE IF EXISTS _v; DROP TABLE IF EXISTS _search; DROP TABLE IF EXISTS _anchor; DROP TABLE IF EXISTS _am; DROP TABLE IF EXISTS _roots`);
  return { nodes, edges, verifications, keeperRounds, unresolved };
}

/**
 * One pass over the bands for the texts in `_active`: each bucket's members are verified against
 * its representative (and, for the members that fail, against another one among them). New pairs
 * go to `t_pairs` (passing or not, so no pair is verified twice); returns how many were verified.
 */
async function candidatePairs(conn: DuckDBConnection, o: NearTextOptions, first: boolean): Promise<number> {
  const count = async (sql: string): Promise<number> => Number((await conn.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
  const before = await count(`SELECT count(*)::BIGINT FROM t_pairs`);
  // Keepers of earlier rounds are preferred as representatives (and are never checked themselves).
  // A first incremental pass searches only buckets holding a new member, preferring an unchanged
  // member as representative, so old members are not checked again against a newcomer.
  const incremental = first && o.incremental;
  const repOrder = incremental ? '[anchor::UBIGINT, changed::UBIGINT, h]' : '[anchor::UBIGINT, h]';
  for (let band = 0; band < o.bands; band++) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE _m AS
      SELECT tb.id, key, ik, h, changed, false AS anchor FROM tb SEMI JOIN _search s ON s.id = tb.id WHERE band = ${band}
      UNION ALL SELECT tb.id, key, ik, h, changed, true FROM tb SEMI JOIN _anchor a ON a.id = tb.id WHERE band = ${band}`);
    for (let round = 0; round < BUCKET_ROUNDS; round++) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE _c AS
        SELECT least(m.id, r.rep) AS a, greatest(m.id, r.rep) AS b, m.id AS member
        FROM _m m JOIN (SELECT key, ik, arg_min(id, ${repOrder.replace('anchor::', '(NOT anchor)::')}) AS rep, arg_min(changed, ${repOrder.replace('anchor::', '(NOT anchor)::')}) AS rep_changed FROM _m GROUP BY key, ik
                        HAVING count(*) > 1 AND bool_or(NOT anchor) ${incremental ? 'AND bool_or(changed)' : ''}) r ON r.key = m.key AND r.ik = m.ik
        WHERE m.id <> r.rep AND NOT m.anchor ${incremental ? 'AND (m.changed OR r.rep_changed)' : ''}`);
      await conn.run(`INSERT INTO t_pairs SELECT c.a, c.b, ${similarity('x', 'y')} AS sim
        FROM (SELECT DISTINCT a, b FROM _c) c ANTI JOIN t_pairs p ON p.a = c.a AND p.b = c.b
        JOIN tk x ON x.id = c.a JOIN tk y ON y.id = c.b`);
      await conn.run(`CREATE OR REPLACE TEMP TABLE _m AS SELECT m.* FROM _m m JOIN _c c ON c.member = m.id JOIN t_pairs p ON p.a = c.a AND p.b = c.b WHERE p.sim < ${o.threshold}`);
      if ((await count(`SELECT count(*)::BIGINT FROM _m`)) < 2) break;
    }
  }
  await conn.run(`DROP TABLE IF EXISTS _m; DROP TABLE IF EXISTS _c`);
  return (await count(`SELECT count(*)::BIGINT FROM t_pairs`)) - before;
}
