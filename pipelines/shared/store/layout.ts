import { join } from 'node:path';

/** A registered stage's name (see pipelines/stages.ts). */
export type StageName = string;

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
    return join(this.stageDir(stage), '_manifest.jsonl');
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
