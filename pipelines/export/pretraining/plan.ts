import type { StageContext, WorkUnit } from '../../shared/runner/stage.js';
import { unitsFromUpstream, type UpstreamUnit } from '../../shared/runner/upstream.js';
import { sqlList } from '../../shared/store/duckdb.js';
import type { RowRange } from '../../shared/store/read-samples.js';

/** Per-sample overhead counted on top of its image bytes (text, JSON, tar headers). */
const SAMPLE_OVERHEAD = 4096;

export interface SliceUnit extends UpstreamUnit {
  range: RowRange;
}

/**
 * Pre-training units: each upstream unit cut into slices of about `unitBytes` of image bytes, so
 * the memory of one unit (the Parquet writer buffers a unit's rows) stays bounded however large the
 * upstream units are. A slice is a row range of the upstream files in (file name, row) order; its
 * fingerprint is the upstream output hash plus the range, so a re-sliced unit is recomputed.
 */
export async function pretrainingUnits(ctx: StageContext, upstream: 'ingest' | 'filter' | 'difficulty', configHash: string, unitBytes: number, prefix: string): Promise<WorkUnit<SliceUnit>[]> {
  const units: WorkUnit<SliceUnit>[] = [];
  for (const unit of await unitsFromUpstream(ctx, { upstream, configHash })) {
    if (unit.payload.files.length === 0) continue;
    const rows = await ctx.conn.runAndReadAll(
      `SELECT (coalesce(list_sum([m.bytes FOR m IN media IF m.mime LIKE 'image/%']), 0) + ${SAMPLE_OVERHEAD})::BIGINT AS bytes
       FROM read_parquet(${sqlList(unit.payload.files)}, hive_partitioning = false, filename = true, file_row_number = true)
       ORDER BY filename, file_row_number`,
    );
    const sizes = rows.getRows().map((r) => Number(r[0]));
    let start = 0;
    let bytes = 0;
    const cut = (end: number): void => {
      const range = { start, end };
      const slice = `${range.start}-${range.end}`;
      units.push({
        id: `${prefix}${unit.id}#${slice}`,
        label: `pretraining ${unit.label} rows ${slice}`,
        fingerprint: `${unit.fingerprint}:${slice}`,
        configHash,
        size: end - start,
        payload: { ...unit.payload, range },
      });
      start = end;
      bytes = 0;
    };
    for (const [i, size] of sizes.entries()) {
      if (i > start && bytes + size > unitBytes) cut(i);
      bytes += size;
    }
    if (start < sizes.length) cut(sizes.length);
  }
  return units;
}
