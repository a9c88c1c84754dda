import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The numbers of a report: every `data-k` cell with its exact `data-v` value and the text shown. */
export function reportNumbers(html: string): Map<string, { value: number | null; text: string }> {
  const unescape = (s: string): string => s.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
  const out = new Map<string, { value: number | null; text: string }>();
  for (const m of html.matchAll(/data-k="([^"]*)"(?: data-v="([^"]*)")?>([^<]*)</g)) {
    const key = unescape(m[1]!);
    if (out.has(key)) throw new Error(`report key ${key} appears twice`);
    out.set(key, { value: m[2] === undefined ? null : Number(m[2]), text: unescape(m[3]!) });
  }
  return out;
}

/**
 * A DuckDB connection of its own (not the pipeline's helper or views) over a dataset's files by
 * glob: the ledgers of every stage, the difficulty stage's samples and rollouts.
 */
export async function independentSql(shardsDir: string, dataset: string): Promise<{ conn: DuckDBConnection; close(): void }> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const root = join(shardsDir, dataset);
  const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;
  await conn.run(`CREATE VIEW l AS SELECT * FROM read_parquet(${quote(`${root}/*/_ledger/*.parquet`)}, union_by_name = true)`);
  const difficulty = `${root}/difficulty/domain=*/tier=*/*.parquet`;
  const hasDifficulty = existsSync(join(root, 'difficulty'));
  await conn.run(
    hasDifficulty
      ? `CREATE VIEW d AS SELECT * FROM read_parquet(${quote(difficulty)}, hive_partitioning = false, union_by_name = true)`
      : `CREATE VIEW d AS SELECT NULL::VARCHAR AS domain, NULL::VARCHAR AS tier, NULL::STRUCT(pass_rate DOUBLE) AS difficulty LIMIT 0`,
  );
  const rollouts = `${root}/difficulty/_rollouts/*.parquet`;
  const hasRollouts = existsSync(join(root, 'difficulty', '_rollouts'));
  await conn.run(
    hasRollouts
      ? `CREATE VIEW r AS SELECT * FROM read_parquet(${quote(rollouts)})`
      : `CREATE VIEW r AS SELECT NULL::VARCHAR AS endpoint, NULL::VARCHAR AS model, NULL::VARCHAR AS request_id, NULL::BOOLEAN AS correct, NULL::INTEGER AS prompt_tokens, NULL::INTEGER AS completion_tokens LIMIT 0`,
  );
  return { conn, close: () => (conn.closeSync(), db.closeSync()) };
}

export async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const v = (await conn.runAndReadAll(sql)).getRows()[0]?.[0];
  return v === null || v === undefined ? 0 : Number(v);
}

const q = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * The SQL that must give each number of the report, by the key's shape. Returns null for keys that
 * are not counts over the shards (run timings, history). Throws for a key it does not know, so a
 * new number in the report cannot go unchecked.
 */
export function expectedSql(key: string, stages: string[]): string | null {
  const [, kind, ...rest] = key.split('/');
  const first = q(stages[0]!);
  const last = q(stages.at(-1)!);
  switch (kind) {
    case 'overview': {
      const [what] = rest;
      if (what === 'in') return `SELECT count(*) FROM l WHERE stage = ${first}`;
      if (what === 'kept') return `SELECT count(*) FROM l WHERE stage = ${last} AND decision = 'kept'`;
      return `SELECT count(*) FROM l WHERE decision = ${q(what!)}`;
    }
    case 'funnel': {
      const [stage, what] = rest;
      return what === 'in' ? `SELECT count(*) FROM l WHERE stage = ${q(stage!)}` : `SELECT count(*) FROM l WHERE stage = ${q(stage!)} AND decision = ${q(what!)}`;
    }
    case 'step': {
      const [stage, step, what] = rest;
      if (what === 'remaining') return null; // checked as a running total by the test
      return `SELECT count(*) FROM l WHERE stage = ${q(stage!)} AND decision = ${q(what!)} AND split_part(reason, ':', 1) = ${q(step!)}`;
    }
    case 'reason': {
      const [stage, decision, ...reason] = rest;
      return `SELECT count(*) FROM l WHERE stage = ${q(stage!)} AND decision = ${q(decision!)} AND reason = ${q(reason.join('/'))}`;
    }
    case 'source': {
      // source URIs contain '/': the stage and decision are the last two parts, or the last is in/kept
      const tail = rest.at(-1)!;
      if (tail === 'in' || tail === 'kept') {
        const uri = rest.slice(0, -1).join('/');
        return tail === 'in' ? `SELECT count(*) FROM l WHERE stage = ${first} AND source_uri = ${q(uri)}` : `SELECT count(*) FROM l WHERE stage = ${last} AND decision = 'kept' AND source_uri = ${q(uri)}`;
      }
      const stage = rest.at(-2)!;
      const uri = rest.slice(0, -2).join('/');
      return `SELECT count(*) FROM l WHERE stage = ${q(stage)} AND decision = ${q(tail)} AND source_uri = ${q(uri)}`;
    }
    case 'tier': {
      const [domain, tier] = rest;
      return tier === 'total' ? `SELECT count(*) FROM d WHERE domain = ${q(domain!)}` : `SELECT count(*) FROM d WHERE domain = ${q(domain!)} AND tier = ${q(tier!)}`;
    }
    case 'passrate':
      return `SELECT count(*) FROM d WHERE difficulty.pass_rate IS NOT NULL AND least(floor(difficulty.pass_rate * 10), 9) = ${Number(rest[0])}`;
    case 'dup': {
      const [reason, what] = rest;
      const dups = `FROM l WHERE stage = 'filter' AND decision = 'dropped' AND reason = ${q(reason!)} AND json_extract_string(details, '$.kept_sample_id') IS NOT NULL`;
      return what === 'clusters' ? `SELECT count(DISTINCT json_extract_string(details, '$.kept_sample_id')) ${dups}` : `SELECT count(*) ${dups}`;
    }
    case 'rollouts': {
      const what = rest.at(-1)!;
      const [endpoint, ...model] = rest.slice(0, -1);
      const where = `WHERE endpoint = ${q(endpoint!)} AND model = ${q(model.join('/'))}`;
      switch (what) {
        case 'requests':
          return `SELECT count(DISTINCT request_id) FROM r ${where}`;
        case 'rollouts':
          return `SELECT count(*) FROM r ${where}`;
        case 'correct':
          return `SELECT count(*) FROM r ${where} AND correct`;
        case 'undecided':
          return `SELECT count(*) FROM r ${where} AND correct IS NULL`;
        case 'prompt_tokens':
          return `SELECT sum(p) FROM (SELECT request_id, any_value(prompt_tokens) AS p FROM r ${where} GROUP BY request_id)`;
        case 'completion_tokens':
          return `SELECT sum(completion_tokens) FROM r ${where}`;
        case 'latency_ms':
          return null; // a mean, rounded for display
      }
      throw new Error(`unknown rollout number ${key}`);
    }
    case 'journal':
      return `SELECT sum(try_cast(json_extract(details, '$.${rest[0] === 'new_requests' ? 'requests' : 'replayed'}') AS BIGINT)) FROM l WHERE stage = 'difficulty'`;
    case 'timing':
    case 'run':
    case 'change':
      return null;
  }
  throw new Error(`the report shows a number the test does not know how to check: ${key}`);
}
