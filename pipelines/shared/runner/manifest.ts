import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StageName } from '../store/layout.js';

export interface UnitCounts {
  in: number;
  kept: number;
  dropped: number;
  quarantined: number;
}

export interface UnitRecord {
  /** Short stable key used in file names. */
  key: string;
  label: string;
  fingerprint: string;
  configHash: string;
  counts: UnitCounts;
  /** Output name → files relative to the stage folder. `ledger` is always present. */
  files: Record<string, string[]>;
  /** Hash of the unit's data files: downstream stages use it as their input fingerprint. */
  outputHash: string;
  committedAt: string;
  durationMs: number;
}

export interface StageManifest {
  version: 1;
  stage: StageName;
  units: Record<string, UnitRecord>;
}

export async function readManifest(path: string, stage: StageName): Promise<StageManifest> {
  if (!existsSync(path)) return { version: 1, stage, units: {} };
  return JSON.parse(await readFile(path, 'utf8')) as StageManifest;
}

/** Atomic replace: write a temp file, then rename over the old manifest. */
export async function writeManifest(path: string, manifest: StageManifest): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(manifest, null, 1));
  await rename(tmp, path);
}

export function manifestFiles(manifest: StageManifest, output: string): string[] {
  return Object.values(manifest.units).flatMap((u) => u.files[output] ?? []);
}
