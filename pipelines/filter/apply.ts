import type { DedupSignals, Sample } from '../../schemas/sample.js';
import { SAMPLE_COLUMNS, toSampleRow } from '../../schemas/sample.js';
import type { StageContext, WorkUnit } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';
import type { UpstreamUnit } from '../shared/runner/upstream.js';
import { sqlList, sqlString } from '../shared/store/duckdb.js';
import { readSamples } from '../shared/store/read-samples.js';
import { join } from 'node:path';
import { imagePolicies } from './image-policy.js';

interface MapRow {
  sample_id: string;
  /** The sample took part in text dedup (it has a text signature). */
  has_text: boolean;
  status: 'candidate' | 'dropped' | 'quarantined';
  reason: string | null;
  details: string | null;
  quality: Sample['signals']['quality'];
  nsfw: number | null;
  clip_score: number | null;
}

interface Decision {
  sample_id: string;
  action: 'drop' | 'drop_images' | 'keep';
  reason: string | null;
  dup_of: string | null;
  details: string | null;
  removed_media: string[];
  text_cluster: string | null;
  image_cluster: string | null;
  semantic_cluster: number | null;
}

async function rows<T>(ctx: StageContext, sql: string): Promise<T[]> {
  const reader = await ctx.conn.runAndReadAll(`SELECT to_json(t)::VARCHAR FROM (${sql}) t`);
  return reader.getRows().map((r) => JSON.parse(String(r[0])) as T);
}

/**
 * The apply step: every input sample gets its decision. Per-sample verdicts come from the unit's
 * map output, dedup verdicts from the reduce artifact; kept samples carry their quality and cluster
 * signals, and documents lose the images the policy removed.
 */
export async function applyUnit(
  unit: WorkUnit<UpstreamUnit>,
  ctx: StageContext,
  sink: UnitSink,
  step: { artifact: string; mapFiles: Record<string, string[]> },
  embeddingModel: string | null = null,
): Promise<void> {
  const samples = await readSamples(ctx.conn, unit.payload.files);
  sink.inputs(samples.length);
  const mapFiles = step.mapFiles.samples ?? [];
  const verdicts = new Map(
    (mapFiles.length ? await rows<MapRow>(ctx, `SELECT sample_id, status, reason, details, quality, nsfw, clip_score, text_hash IS NOT NULL AS has_text FROM read_parquet(${sqlList(mapFiles)}, union_by_name = true)`) : []).map((r) => [r.sample_id, r]),
  );
  const imageFiles = step.mapFiles.images ?? [];
  const withImages = new Set(
    imageFiles.length ? (await rows<{ sample_id: string }>(ctx, `SELECT DISTINCT sample_id FROM read_parquet(${sqlList(imageFiles)}, union_by_name = true)`)).map((r) => r.sample_id) : [],
  );
  const policies = imagePolicies(ctx.config.filter.nearImage.policy);
  const decisions = new Map(
    (await rows<Decision>(ctx, `SELECT * EXCLUDE (unit) FROM read_parquet(${sqlString(join(step.artifact, 'decisions.parquet'))}) WHERE unit = ${sqlString(unit.id)}`)).map((d) => [d.sample_id, d]),
  );
  for (const sample of samples) {
    const ref = { sample_id: sample.id, source_uri: sample.source.uri, locator: sample.source.locator };
    const verdict = verdicts.get(sample.id);
    if (!verdict) throw new Error(`filter: sample ${sample.id} of unit ${unit.id} has no map row (map output out of date)`);
    if (verdict.status === 'dropped') {
      sink.drop(ref, verdict.reason ?? 'filter', JSON.parse(verdict.details ?? '{}'));
      continue;
    }
    if (verdict.status === 'quarantined') {
      sink.quarantine(ref, verdict.reason ?? 'filter', JSON.parse(verdict.details ?? '{}'));
      continue;
    }
    const decision = decisions.get(sample.id);
    if (decision?.action === 'drop') {
      sink.drop(ref, decision.reason ?? 'duplicate', { ...JSON.parse(decision.details ?? '{}'), kept_sample_id: decision.dup_of });
      continue;
    }
    let kept = sample;
    const duplicates = decision?.action === 'drop_images' ? decision.removed_media : [];
    // a candidate's details name the images it loses for their CLIP score (docs/embeddings.md)
    const relevance = verdict.details ? (JSON.parse(verdict.details) as { clip_removed?: Array<{ media_id: string }> }) : null;
    const irrelevant = relevance?.clip_removed?.map((r) => r.media_id) ?? [];
    const removed = new Set([...duplicates, ...irrelevant]);
    if (removed.size) {
      kept = { ...sample, content: sample.content.filter((p) => !(p.media_id && removed.has(p.media_id))), media: sample.media.filter((m) => !removed.has(m.id)) };
      if (!kept.content.some((p) => (p.type === 'text' ? (p.text ?? '').trim() : true))) {
        if (duplicates.length) sink.drop(ref, 'near_dup:image', { removed: duplicates, kept_in: decision?.dup_of, note: 'nothing left after removing duplicate images', ...(irrelevant.length ? { clip: relevance } : {}) });
        else sink.drop(ref, 'clip_score', { ...relevance, note: 'nothing left after removing images unrelated to their text' });
        continue;
      }
    }
    // A kept sample is the kept member of its own clusters, with or without duplicates so far: the
    // value does not change when a duplicate arrives later, so no earlier unit is rewritten for it.
    // Cluster sizes are in the ledger (`kept_sample_id` of the drops).
    const imageCluster = withImages.has(sample.id) && kept.media.length > 0 && policies[sample.kind] !== 'keep' ? sample.id : null;
    const dedup: DedupSignals = { text_cluster: verdict.has_text ? sample.id : null, image_cluster: imageCluster, images_removed: duplicates.length };
    const semanticCluster = decision?.semantic_cluster ?? null;
    const nsfw = verdict.nsfw ?? null;
    const clipScore = verdict.clip_score ?? null;
    const embedding =
      embeddingModel && (nsfw !== null || semanticCluster !== null || clipScore !== null) ? { model: embeddingModel, nsfw, semantic_cluster: semanticCluster, clip_score: clipScore } : null;
    const row = toSampleRow({ ...kept, signals: { ...kept.signals, quality: verdict.quality, dedup, embedding } });
    if (duplicates.length) sink.keep(ref, row, 'kept_without_duplicate_images', { removed: duplicates, kept_in: decision?.dup_of, ...(irrelevant.length ? { clip: relevance } : {}) });
    else if (irrelevant.length) sink.keep(ref, row, 'kept_without_irrelevant_images', relevance ?? {});
    else sink.keep(ref, row);
  }
}

export const FILTER_DATA_COLUMNS = SAMPLE_COLUMNS;
