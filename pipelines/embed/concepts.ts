import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { normaliseText, words } from '../filter/text.js';
import type { ConceptsConfig } from './concepts-config.js';

export type { ConceptsConfig } from './concepts-config.js';
export { FILTER_CONCEPT_COLUMNS } from '../../schemas/filter.js';

/** Entries indexed by their normalised word sequence; a caption is matched by looking up its word n-grams. */
export class ConceptMatcher {
  private readonly entries = new Map<string, string>();
  private maxWords = 0;

  constructor(config: ConceptsConfig, baseDir: string) {
    const list =
      typeof config.vocabulary === 'string'
        ? readFileSync(isAbsolute(config.vocabulary) ? config.vocabulary : join(baseDir, config.vocabulary), 'utf8').split('\n')
        : config.vocabulary;
    for (const raw of list) {
      const key = words(normaliseText(raw)).join(' ');
      if (!key) continue;
      this.entries.set(key, raw.trim());
      this.maxWords = Math.max(this.maxWords, key.split(' ').length);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The distinct concepts a text mentions. */
  match(text: string): string[] {
    if (!this.entries.size) return [];
    const tokens = words(normaliseText(text));
    const found = new Set<string>();
    for (let i = 0; i < tokens.length; i++)
      for (let n = 1; n <= this.maxWords && i + n <= tokens.length; n++) {
        const hit = this.entries.get(tokens.slice(i, i + n).join(' '));
        if (hit) found.add(hit);
      }
    return [...found].sort();
  }
}

/**
 * The balancing block of the filter's reduce: runs after every duplicate decision, on this
 * dataset's samples still standing; adds `concept_balance` drops to `decisions` and writes
 * `concepts.parquet` (concept, before, after) into the artifact.
 */
export async function balanceConcepts(
  conn: import('@duckdb/node-api').DuckDBConnection,
  config: ConceptsConfig,
  conceptsSource: string,
  ownUnits: string,
  outDir: string,
): Promise<Record<string, unknown>> {
  const { queryNumber, sqlString } = await import('../shared/store/duckdb.js');
  await conn.run(`CREATE TABLE c_live AS SELECT unit, sample_id, concept FROM (${conceptsSource}) WHERE ${ownUnits}
    AND sample_id NOT IN (SELECT sample_id FROM decisions WHERE action = 'drop')`);
  await conn.run(`CREATE TABLE c_count AS SELECT concept, count(DISTINCT sample_id) AS n FROM c_live GROUP BY concept`);
  // a seeded uniform draw per (sample, concept): hash → [0, 1)
  await conn.run(`CREATE TABLE c_draw AS SELECT l.unit, l.sample_id, l.concept, c.n,
      (hash(l.sample_id || '|' || l.concept || '|' || ${sqlString(String(config.seed))}) % 1000000007) / 1000000007.0 < ${config.maxPerConcept} / c.n AS keep
    FROM c_live l JOIN c_count c USING (concept)`);
  await conn.run(`CREATE TABLE c_drop AS SELECT unit, sample_id, json_object('concepts', list(concept ORDER BY concept), 'counts', list(n ORDER BY concept),
      'max_per_concept', ${config.maxPerConcept})::VARCHAR AS details
    FROM c_draw GROUP BY unit, sample_id HAVING NOT bool_or(keep)`);
  if (config.unmatched === 'drop') {
    await conn.run(`INSERT INTO c_drop SELECT unit, sample_id, json_object('concepts', []::VARCHAR[], 'unmatched', true)::VARCHAR FROM s
      WHERE ${ownUnits} AND kind IN (SELECT unnest(${`[${config.kinds.map(sqlString).join(', ')}]`}::VARCHAR[]))
        AND sample_id NOT IN (SELECT sample_id FROM c_live) AND sample_id NOT IN (SELECT sample_id FROM decisions WHERE action = 'drop')`);
  }
  await conn.run(`DELETE FROM decisions WHERE action <> 'drop' AND sample_id IN (SELECT sample_id FROM c_drop)`);
  await conn.run(`INSERT INTO decisions BY NAME SELECT unit, sample_id, 'drop' AS action, 'concept_balance' AS reason, details, []::VARCHAR[] AS removed_media FROM c_drop`);
  await conn.run(`COPY (SELECT c.concept, c.n::INTEGER AS before, (c.n - count(d.sample_id))::INTEGER AS after FROM c_count c
      LEFT JOIN c_draw d ON d.concept = c.concept AND d.sample_id IN (SELECT sample_id FROM c_drop) GROUP BY c.concept, c.n ORDER BY c.concept)
    TO ${sqlString(`${outDir}/concepts.parquet`)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  const one = (sql: string): Promise<number> => queryNumber(conn, sql);
  return { concepts: await one(`SELECT count(*) FROM c_count`), matched: await one(`SELECT count(DISTINCT sample_id) FROM c_live`), dropped: await one(`SELECT count(*) FROM c_drop`) };
}
