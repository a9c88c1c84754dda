import { join } from 'node:path';
import type { StageName } from '../store/layout.js';
import { readManifest } from './manifest.js';
import type { StageContext, WorkUnit } from './stage.js';

export interface UpstreamUnit {
  upstreamId: string;
  /** Absolute paths of the upstream unit's data files. */
  files: string[];
}

/**
 * One work unit per committed unit of the upstream stage; its fingerprint is the upstream output
 * hash, so a recomputed upstream unit with the same output leaves this stage's unit alone.
 */
export async function unitsFromUpstream(ctx: StageContext, upstream: StageName, configHash: string): Promise<WorkUnit<UpstreamUnit>[]> {
  const manifest = await readManifest(ctx.layout.manifest(upstream), upstream);
  const stageDir = ctx.layout.stageDir(upstream);
  return Object.entries(manifest.units)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, record]) => ({
      id,
      label: record.label,
      fingerprint: record.outputHash,
      configHash,
      size: record.counts.kept,
      payload: { upstreamId: id, files: (record.files.data ?? []).map((f) => join(stageDir, f)) },
    }));
}
