import { join } from 'node:path';

export const STAGES = ['ingest', 'difficulty', 'export'] as const;
export type StageName = (typeof STAGES)[number];

/** Where everything of one dataset lives under the shards root. */
export class DatasetLayout {
  constructor(
    readonly shardsDir: string,
    readonly dataset: string,
  ) {}

  get root(): string {
    return join(this.shardsDir, this.dataset);
  }
  get blobs(): string {
    return join(this.root, 'blobs');
  }
  stageDir(stage: StageName): string {
    return join(this.root, stage);
  }
  manifest(stage: StageName): string {
    return join(this.stageDir(stage), '_manifest.json');
  }
  lock(stage: StageName): string {
    return join(this.stageDir(stage), '.lock');
  }
  tmp(stage: StageName): string {
    return join(this.stageDir(stage), '_tmp');
  }
  /** Durable per-stage scratch that survives a crash, e.g. the rollout journal. */
  journal(stage: StageName): string {
    return join(this.stageDir(stage), '_journal');
  }
}
