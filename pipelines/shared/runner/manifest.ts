import { existsSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

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
  version: 2;
  stage: string;
  units: Record<string, UnitRecord>;
}

type LogEntry = { op: 'commit'; id: string; record: UnitRecord } | { op: 'remove'; id: string };

/**
 * The stage manifest as an append-only log (`_manifest.jsonl`): a commit appends one line, so the
 * cost of a commit does not grow with the number of units (100,000 units stay cheap). A line cut
 * short by a crash is ignored (that unit simply was not committed). Compaction rewrites the log
 * atomically (temp file + rename) when it holds many superseded lines. A v1 `_manifest.json`
 * from an earlier version is read once and migrated.
 */
export class ManifestLog {
  private lines = 0;

  private constructor(
    readonly path: string,
    readonly manifest: StageManifest,
  ) {}

  static async open(path: string, stage: string): Promise<ManifestLog> {
    const { manifest, lines } = await loadLog(path, stage);
    const log = new ManifestLog(path, manifest);
    log.lines = lines;
    const legacy = legacyPath(path);
    if (existsSync(legacy) && lines === 0) {
      const old = JSON.parse(await readFile(legacy, 'utf8')) as { units: Record<string, UnitRecord> };
      Object.assign(log.manifest.units, old.units);
      await log.compact();
      await rm(legacy, { force: true });
    }
    return log;
  }

  get units(): Record<string, UnitRecord> {
    return this.manifest.units;
  }

  async commit(id: string, record: UnitRecord): Promise<void> {
    this.manifest.units[id] = record;
    await this.append({ op: 'commit', id, record });
  }

  async remove(id: string): Promise<void> {
    if (!(id in this.manifest.units)) return;
    delete this.manifest.units[id];
    await this.append({ op: 'remove', id });
  }

  /** Rewrites the log with one line per live unit when superseded lines dominate. */
  async compactIfWorthIt(): Promise<void> {
    const live = Object.keys(this.manifest.units).length;
    if (this.lines > 2 * live + 64) await this.compact();
  }

  async compact(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const body = Object.entries(this.manifest.units)
      .map(([id, record]) => JSON.stringify({ op: 'commit', id, record } satisfies LogEntry) + '\n')
      .join('');
    const handle = await open(tmp, 'w');
    await handle.writeFile(body);
    await handle.sync();
    await handle.close();
    await rename(tmp, this.path);
    this.lines = Object.keys(this.manifest.units).length;
  }

  private async append(entry: LogEntry): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, JSON.stringify(entry) + '\n');
    this.lines++;
  }
}

function legacyPath(path: string): string {
  return path.replace(/\.jsonl$/, '.json');
}

async function loadLog(path: string, stage: string): Promise<{ manifest: StageManifest; lines: number }> {
  const manifest: StageManifest = { version: 2, stage, units: {} };
  if (!existsSync(path)) {
    const legacy = legacyPath(path);
    if (existsSync(legacy)) Object.assign(manifest.units, (JSON.parse(await readFile(legacy, 'utf8')) as StageManifest).units);
    return { manifest, lines: 0 };
  }
  const text = await readFile(path, 'utf8');
  let lines = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      continue; // the last line of a log cut short by a crash: that commit never happened
    }
    lines++;
    if (entry.op === 'commit') manifest.units[entry.id] = entry.record;
    else delete manifest.units[entry.id];
  }
  return { manifest, lines };
}

/** The committed units of a stage, read-only. */
export async function readManifest(path: string, stage: string): Promise<StageManifest> {
  return (await loadLog(path, stage)).manifest;
}

export function manifestFiles(manifest: StageManifest, output: string): string[] {
  return Object.values(manifest.units).flatMap((u) => u.files[output] ?? []);
}

/** Writes a small JSON document atomically (temp file, fsync, rename). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 1));
  await rename(tmp, path);
}
