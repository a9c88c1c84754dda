import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { ConfigError } from '../config/load.js';
import { readManifest } from './manifest.js';
import type { PlanContext, StageContext, WorkUnit } from './stage.js';

export interface UpstreamUnit {
  upstreamId: string;
  /** Absolute paths of the upstream unit's data files. */
  files: string[];
}

/**
 * One work unit per committed unit of the upstream stage; its fingerprint is the upstream output
 * hash, so a recomputed upstream unit with the same output leaves this stage's unit alone.
 */
export async function unitsFromUpstream(ctx: StageContext, plan: PlanContext): Promise<WorkUnit<UpstreamUnit>[]> {
  const upstream = plan.upstream;
  if (!upstream) throw new ConfigError('this stage reads an upstream stage, but none is configured');
  if (!existsSync(ctx.layout.manifest(upstream)) && !existsSync(ctx.layout.manifest(upstream).replace(/\.jsonl$/, '.json'))) {
    throw new UserError(`dataset ${ctx.dataset}: stage ${upstream} has not run yet; run \`pnpm pipeline run ${upstream}\` first (or \`run all\`)`);
  }
  const manifest = await readManifest(ctx.layout.manifest(upstream), upstream);
  const stageDir = ctx.layout.stageDir(upstream);
  return Object.entries(manifest.units)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, record]) => ({
      id,
      label: record.label,
      fingerprint: record.outputHash,
      configHash: plan.configHash,
      size: record.counts.kept,
      payload: { upstreamId: id, files: (record.files.data ?? []).map((f) => join(stageDir, f)) },
    }));
}
