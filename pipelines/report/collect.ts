import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DECISIONS } from '../../schemas/ledger.js';
import { TIERS } from '../../schemas/tier.js';
import { readManifest } from '../shared/runner/manifest.js';
import { sqlList, sqlString } from '../shared/store/duckdb.js';
import { DatasetLayout } from '../shared/store/layout.js';
import { createShardViews } from '../shared/store/views.js';

/** Everything the report shows about one dataset, read from its ledgers, shards and manifests. */
export interface DatasetReport {
  dataset: string;
  stages: string[];
  funnel: StageFunnel[];
  reasons: ReasonRow[];
  sources: SourceRow[];
  tiers: { domain: string; tier: string; n: number }[];
  tierSource: string | null;
  passRates: { bin: number; n: number }[];
  rollouts: RolloutModelRow[];
  journal: { newRequests: number | null; replayedRollouts: number | null };
  clusters: DuplicateCluster[];
  duplicateTotals: { reason: string; clusters: number; dropped: number }[];
  imagesRemoved: number;
  gallery: GalleryItem[];
  timing: TimingRow[];
}

export interface StageFunnel {
  stage: string;
  in: number;
  kept: number;
  dropped: number;
  quarantined: number;
  /** Non-kept rows grouped by step (the reason up to its first ':'), in pipeline order. */
  steps: { step: string; dropped: number; quarantined: number }[];
}

export interface ReasonRow {
  stage: string;
  decision: string;
  reason: string;
  n: number;
  example: string | null;
  details: string | null;
}

export interface SourceRow {
  source: string;
  /** stage → decision → count */
  counts: Record<string, Record<string, number>>;
}

export interface RolloutModelRow {
  model: string;
  endpoint: string;
  requests: number;
  rollouts: number;
  correct: number;
  undecided: number;
  promptTokens: number;
  completionTokens: number;
  meanLatencyMs: number | null;
}

export interface ClusterMember {
  id: string;
  text: string;
  media: string | null;
  details: string;
}

export interface DuplicateCluster {
  reason: string;
  size: number;
  keeper: ClusterMember;
  members: ClusterMember[];
}

export interface GalleryItem {
  kind: string;
  id: string;
  text: string;
  media: string;
}

export interface TimingRow {
  step: string;
  units: number;
  items: number;
  unitSeconds: number;
  lastCommit: string | null;
}

/** Order of the filter's steps (reason prefixes) as the samples meet them; others follow alphabetically. */
const STEP_ORDER = ['filter', 'heuristic', 'decontaminated', 'nsfw', 'clip_score', 'exact_dup', 'near_dup', 'semantic_dup', 'concept_balance'];

export function stepOf(reason: string): string {
  return reason.split(':')[0] ?? reason;
}

function stepRank(step: string): [number, string] {
  const i = STEP_ORDER.indexOf(step);
  return [i < 0 ? STEP_ORDER.length : i, step];
}

export function compareSteps(a: string, b: string): number {
  const [ra, sa] = stepRank(a);
  const [rb, sb] = stepRank(b);
  return ra - rb || sa.localeCompare(sb);
}

async function rows<T>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await conn.runAndReadAll(`SELECT to_json(t)::VARCHAR FROM (${sql}) t`);
  return reader.getRows().map((r) => JSON.parse(String(r[0])) as T);
}

/** First text of a sample: the question when it has a task, else its first text part. */
const SAMPLE_TEXT = `coalesce(nullif(task.question, ''), list_filter(content, p -> p.type = 'text' AND coalesce(p.text, '') <> '')[1].text, '')`;
const FIRST_IMAGE = `list_filter(media, m -> m.mime LIKE 'image/%')[1].id`;

/** Reads one dataset's report data. The connection's views are replaced by this dataset's. */
export async function collectDataset(conn: DuckDBConnection, shardsDir: string, dataset: string, stages: string[]): Promise<DatasetReport> {
  const views = new Set(await createShardViews(conn, shardsDir, [dataset], stages));
  const layout = new DatasetLayout(shardsDir, dataset);
  // The ledger is read once: every count below runs on this table, not on the Parquet files again.
  await conn.run(`CREATE OR REPLACE TEMP TABLE report_ledger AS
    SELECT stage, sample_id, source_uri, locator, decision, reason, left(details, 400) AS details,
      CASE WHEN stage = 'filter' AND decision = 'dropped' THEN json_extract_string(details, '$.kept_sample_id') END AS keeper,
      CASE WHEN stage = 'difficulty' THEN try_cast(json_extract(details, '$.requests') AS BIGINT) END AS new_requests,
      CASE WHEN stage = 'difficulty' THEN try_cast(json_extract(details, '$.replayed') AS BIGINT) END AS replayed
    FROM ledger`);
  try {
    return await collectFrom(conn, layout, dataset, stages, views);
  } finally {
    await conn.run(`DROP TABLE IF EXISTS report_ledger`);
  }
}

async function collectFrom(conn: DuckDBConnection, layout: DatasetLayout, dataset: string, stages: string[], views: Set<string>): Promise<DatasetReport> {

  const decisionRows = await rows<{ stage: string; decision: string; reason: string; n: number }>(
    conn,
    `SELECT stage, decision, reason, count(*)::INTEGER AS n FROM report_ledger GROUP BY ALL`,
  );
  const funnel: StageFunnel[] = [];
  for (const stage of stages) {
    const mine = decisionRows.filter((r) => r.stage === stage);
    if (!mine.length) continue;
    const total = (d: string): number => mine.filter((r) => r.decision === d).reduce((n, r) => n + r.n, 0);
    const steps = new Map<string, { step: string; dropped: number; quarantined: number }>();
    for (const r of mine) {
      if (r.decision === 'kept') continue;
      const step = stepOf(r.reason);
      const entry = steps.get(step) ?? { step, dropped: 0, quarantined: 0 };
      if (r.decision === 'dropped') entry.dropped += r.n;
      else entry.quarantined += r.n;
      steps.set(step, entry);
    }
    funnel.push({
      stage,
      in: mine.reduce((n, r) => n + r.n, 0),
      kept: total('kept'),
      dropped: total('dropped'),
      quarantined: total('quarantined'),
      steps: [...steps.values()].sort((a, b) => compareSteps(a.step, b.step)),
    });
  }

  const reasons = await rows<ReasonRow>(
    conn,
    `SELECT stage, decision, reason, count(*)::INTEGER AS n,
        arg_min(coalesce(sample_id, source_uri || ' ' || locator), coalesce(sample_id, source_uri || ' ' || locator)) AS example,
        arg_min(details, coalesce(sample_id, source_uri || ' ' || locator)) AS details
      FROM report_ledger GROUP BY ALL`,
  );
  const stageIndex = (s: string): number => stages.indexOf(s);
  reasons.sort((a, b) => stageIndex(a.stage) - stageIndex(b.stage) || DECISIONS.indexOf(a.decision as never) - DECISIONS.indexOf(b.decision as never) || b.n - a.n || a.reason.localeCompare(b.reason));

  const sourceCells = await rows<{ source: string; stage: string; decision: string; n: number }>(
    conn,
    `SELECT source_uri AS source, stage, decision, count(*)::INTEGER AS n FROM report_ledger GROUP BY ALL ORDER BY source`,
  );
  const bySource = new Map<string, SourceRow>();
  for (const c of sourceCells) {
    const row = bySource.get(c.source) ?? { source: c.source, counts: {} };
    (row.counts[c.stage] ??= {})[c.decision] = c.n;
    bySource.set(c.source, row);
  }

  // Tiers come from the difficulty stage's output when it ran, else from the latest stage's samples.
  const tierView = views.has('difficulty_samples') && (await count(conn, 'difficulty_samples')) > 0 ? 'difficulty_samples' : (await count(conn, 'samples')) > 0 ? 'samples' : null;
  const tiers = tierView ? await rows<{ domain: string; tier: string; n: number }>(conn, `SELECT coalesce(domain, '?') AS domain, tier, count(*)::INTEGER AS n FROM ${tierView} GROUP BY ALL ORDER BY domain, tier`) : [];
  tiers.sort((a, b) => a.domain.localeCompare(b.domain) || TIERS.indexOf(a.tier as never) - TIERS.indexOf(b.tier as never));
  const passRates = tierView
    ? await rows<{ bin: number; n: number }>(
        conn,
        `SELECT least(floor(difficulty.pass_rate * 10), 9)::INTEGER AS bin, count(*)::INTEGER AS n FROM ${tierView} WHERE difficulty.pass_rate IS NOT NULL GROUP BY ALL ORDER BY bin`,
      )
    : [];

  const rollouts = views.has('rollouts')
    ? await rows<RolloutModelRow>(
        conn,
        `WITH per_request AS (SELECT model, endpoint, request_id, any_value(prompt_tokens) AS prompt_tokens, any_value(latency_ms) AS latency_ms FROM rollouts GROUP BY ALL)
         SELECT r.model, r.endpoint, count(DISTINCT r.request_id)::INTEGER AS requests, count(*)::INTEGER AS rollouts,
                count(*) FILTER (WHERE r.correct)::INTEGER AS correct, count(*) FILTER (WHERE r.correct IS NULL)::INTEGER AS undecided,
                (SELECT coalesce(sum(p.prompt_tokens), 0) FROM per_request p WHERE p.model = r.model AND p.endpoint = r.endpoint)::BIGINT AS "promptTokens",
                coalesce(sum(r.completion_tokens), 0)::BIGINT AS "completionTokens",
                (SELECT avg(p.latency_ms) FROM per_request p WHERE p.model = r.model AND p.endpoint = r.endpoint) AS "meanLatencyMs"
         FROM rollouts r GROUP BY r.model, r.endpoint ORDER BY r.model, r.endpoint`,
      )
    : [];
  for (const r of rollouts) {
    r.promptTokens = Number(r.promptTokens);
    r.completionTokens = Number(r.completionTokens);
  }
  const [journal] = await rows<{ newRequests: number | null; replayedRollouts: number | null }>(
    conn,
    `SELECT sum(new_requests)::BIGINT AS "newRequests", sum(replayed)::BIGINT AS "replayedRollouts" FROM report_ledger WHERE stage = 'difficulty'`,
  );

  const { clusters, totals } = await duplicateClusters(conn, views);
  const imagesRemoved = views.has('filter_samples') ? Number((await conn.runAndReadAll(`SELECT coalesce(sum(signals.dedup.images_removed), 0)::BIGINT FROM filter_samples`)).getRows()[0]?.[0] ?? 0) : 0;

  const gallery = (await count(conn, 'samples')) > 0
    ? await rows<GalleryItem>(
        conn,
        `SELECT kind, id, left(${SAMPLE_TEXT}, 160) AS text, ${FIRST_IMAGE} AS media FROM samples
          WHERE ${FIRST_IMAGE} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY kind ORDER BY id) <= 6 ORDER BY kind, id`,
      )
    : [];

  return {
    dataset,
    stages,
    funnel,
    reasons,
    sources: [...bySource.values()],
    tiers,
    tierSource: tierView,
    passRates,
    rollouts,
    journal: { newRequests: numOrNull(journal?.newRequests), replayedRollouts: numOrNull(journal?.replayedRollouts) },
    clusters,
    duplicateTotals: totals,
    imagesRemoved,
    gallery,
    timing: await timing(layout, stages),
  };
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

async function count(conn: DuckDBConnection, view: string): Promise<number> {
  try {
    return Number((await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM ${view}`)).getRows()[0]?.[0] ?? 0);
  } catch {
    return 0;
  }
}

/** Filter drops that name the sample kept in their place, grouped by that sample: the largest clusters with their members. */
async function duplicateClusters(conn: DuckDBConnection, views: Set<string>): Promise<{ clusters: DuplicateCluster[]; totals: DatasetReport['duplicateTotals'] }> {
  const dupRows = `SELECT reason, sample_id, keeper, details FROM report_ledger WHERE keeper IS NOT NULL`;
  const totals = await rows<{ reason: string; clusters: number; dropped: number }>(
    conn,
    `SELECT reason, count(DISTINCT keeper)::INTEGER AS clusters, count(*)::INTEGER AS dropped FROM (${dupRows}) GROUP BY ALL ORDER BY dropped DESC, reason`,
  );
  if (!totals.length) return { clusters: [], totals };
  const top = await rows<{ reason: string; keeper: string; size: number }>(
    conn,
    `SELECT reason, keeper, (count(*) + 1)::INTEGER AS size FROM (${dupRows}) GROUP BY ALL ORDER BY size DESC, reason, keeper LIMIT 12`,
  );
  const contentView = views.has('ingest_samples') ? 'ingest_samples' : 'samples';
  const describe = async (ids: string[]): Promise<Map<string, { text: string; media: string | null }>> => {
    if (!ids.length) return new Map();
    const found = await rows<{ id: string; text: string; media: string | null }>(
      conn,
      `SELECT id, left(${SAMPLE_TEXT}, 200) AS text, ${FIRST_IMAGE} AS media FROM ${contentView} WHERE id IN (SELECT unnest(${sqlList(ids)}::VARCHAR[]))`,
    );
    return new Map(found.map((f) => [f.id, { text: f.text, media: f.media }]));
  };
  // Members and sample texts of every shown cluster in one query each (each is a scan of the shards).
  const topList = `[${top.map((t) => `{'reason': ${sqlString(t.reason)}, 'keeper': ${sqlString(t.keeper)}}`).join(', ')}]`;
  const members = await rows<{ reason: string; keeper: string; sample_id: string; details: string }>(
    conn,
    `SELECT d.reason, d.keeper, d.sample_id, d.details FROM (${dupRows}) d JOIN (SELECT unnest(${topList}, recursive := true)) t USING (reason, keeper)
      QUALIFY row_number() OVER (PARTITION BY d.reason, d.keeper ORDER BY d.sample_id) <= 4 ORDER BY d.reason, d.keeper, d.sample_id`,
  );
  const info = await describe([...new Set([...top.map((t) => t.keeper), ...members.map((m) => m.sample_id)])]);
  const member = (id: string, details: string): ClusterMember => ({ id, text: info.get(id)?.text ?? '', media: info.get(id)?.media ?? null, details });
  const clusters: DuplicateCluster[] = top.map((t) => ({
    reason: t.reason,
    size: t.size,
    keeper: member(t.keeper, ''),
    members: members.filter((m) => m.reason === t.reason && m.keeper === t.keeper).map((m) => member(m.sample_id, m.details)),
  }));
  return { clusters, totals };
}

/** Per stage (and per step of a global stage): units, items and the summed unit time from the manifests. */
async function timing(layout: DatasetLayout, stages: string[]): Promise<TimingRow[]> {
  const out: TimingRow[] = [];
  const fromManifest = async (where: string, itemsOf?: string): Promise<void> => {
    const units = Object.values((await readManifest(layout.manifest(where), where)).units);
    if (!units.length) return;
    // A map step records no decisions; its items are the inputs of the same units in the stage.
    const counted = itemsOf ? Object.values((await readManifest(layout.manifest(itemsOf), itemsOf)).units) : units;
    out.push({
      step: where.replace('/_map', ' (map)'),
      units: units.length,
      items: counted.reduce((n, u) => n + u.counts.in, 0),
      unitSeconds: units.reduce((s, u) => s + (u.durationMs ?? 0), 0) / 1000,
      lastCommit: units.reduce<string | null>((m, u) => (m === null || u.committedAt > m ? u.committedAt : m), null),
    });
  };
  for (const stage of stages) {
    await fromManifest(`${stage}/_map`, stage);
    const current = join(layout.stageDir(stage), '_reduce', 'current.json');
    if (existsSync(current)) {
      const record = JSON.parse(await readFile(current, 'utf8')) as { summary: { seconds?: number; candidates?: number }; committedAt: string };
      out.push({ step: `${stage} (reduce)`, units: 1, items: Number(record.summary.candidates ?? 0), unitSeconds: Number(record.summary.seconds ?? 0), lastCommit: record.committedAt });
    }
    await fromManifest(stage);
  }
  return out;
}
