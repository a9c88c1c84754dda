import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stableHash } from '../shared/hash.js';
import { readManifest } from '../shared/runner/manifest.js';
import type { DatasetLayout } from '../shared/store/layout.js';
import type { DatasetReport } from './collect.js';

/** What one state of a dataset's shards looked like, kept so the next report can say what changed. */
export interface Snapshot {
  at: string;
  /** Digest of the committed state (see `stateDigest`): equal digests, equal shards. */
  digest: string;
  stages: Record<string, { in: number; kept: number; dropped: number; quarantined: number }>;
  /** `stage|decision|reason` → rows */
  reasons: Record<string, number>;
  tiers: Record<string, number>;
  requests: number;
  /** What the run that produced this state did, when the report was written at the end of a run. */
  run?: { stage: string; processed: number; skipped: number; seconds: number }[];
}

export interface Change {
  what: string;
  before: number;
  after: number;
}

export function historyPath(layout: DatasetLayout): string {
  return join(layout.root, '_report', 'history.jsonl');
}

/**
 * A digest of what is committed for a dataset: every unit's output hash and commit time in every
 * stage's manifest (and map step), and each reduce artifact. Reading it costs one pass over the
 * manifests, which a run has read anyway; an unchanged digest means the report would be unchanged.
 */
export async function stateDigest(layout: DatasetLayout, stages: string[]): Promise<string> {
  const parts: unknown[] = [];
  for (const stage of stages) {
    for (const where of [`${stage}/_map`, stage]) {
      const units = (await readManifest(layout.manifest(where), where)).units;
      parts.push([where, Object.entries(units).map(([id, u]) => [id, u.outputHash, u.committedAt]).sort()]);
    }
    const current = join(layout.stageDir(stage), '_reduce', 'current.json');
    if (existsSync(current)) parts.push([stage, 'reduce', (JSON.parse(await readFile(current, 'utf8')) as { fingerprint: string; committedAt: string })]);
  }
  return stableHash(parts);
}

export function snapshotOf(report: DatasetReport, digest: string, run?: Snapshot['run']): Snapshot {
  const tiers: Record<string, number> = {};
  for (const t of report.tiers) tiers[t.tier] = (tiers[t.tier] ?? 0) + t.n;
  return {
    at: new Date().toISOString(),
    digest,
    stages: Object.fromEntries(report.funnel.map((f) => [f.stage, { in: f.in, kept: f.kept, dropped: f.dropped, quarantined: f.quarantined }])),
    reasons: Object.fromEntries(report.reasons.map((r) => [`${r.stage}|${r.decision}|${r.reason}`, r.n])),
    tiers,
    requests: report.rollouts.reduce((n, r) => n + r.requests, 0),
    ...(run ? { run } : {}),
  };
}

export async function readHistory(path: string): Promise<Snapshot[]> {
  if (!existsSync(path)) return [];
  const out: Snapshot[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Snapshot);
    } catch {
      // a line cut short by a crash: that snapshot is simply missing
    }
  }
  return out;
}

/**
 * Records `current` unless the last snapshot has the same digest (a report written twice over the
 * same shards), and returns the history with it and the snapshot to compare against: the latest
 * one of a different state.
 */
export async function recordSnapshot(path: string, current: Snapshot): Promise<{ history: Snapshot[]; previous: Snapshot | null }> {
  const history = await readHistory(path);
  const last = history.at(-1);
  if (last?.digest !== current.digest) {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, JSON.stringify(current) + '\n');
    history.push(current);
  }
  const previous = [...history].reverse().find((s) => s.digest !== current.digest) ?? null;
  return { history, previous };
}

/** Every counter that differs between two snapshots (stage funnels, reasons, tiers, paid requests). */
export function changesBetween(previous: Snapshot | null, current: Snapshot): Change[] {
  if (!previous) return [];
  const out: Change[] = [];
  const stages = new Set([...Object.keys(previous.stages), ...Object.keys(current.stages)]);
  for (const stage of stages) {
    for (const k of ['in', 'kept', 'dropped', 'quarantined'] as const) {
      const before = previous.stages[stage]?.[k] ?? 0;
      const after = current.stages[stage]?.[k] ?? 0;
      if (before !== after) out.push({ what: `${stage}: ${k}`, before, after });
    }
  }
  for (const key of [...new Set([...Object.keys(previous.reasons), ...Object.keys(current.reasons)])].sort()) {
    const before = previous.reasons[key] ?? 0;
    const after = current.reasons[key] ?? 0;
    if (before !== after) out.push({ what: `reason ${key.replaceAll('|', ' · ')}`, before, after });
  }
  for (const tier of [...new Set([...Object.keys(previous.tiers), ...Object.keys(current.tiers)])].sort()) {
    const before = previous.tiers[tier] ?? 0;
    const after = current.tiers[tier] ?? 0;
    if (before !== after) out.push({ what: `tier ${tier}`, before, after });
  }
  if (previous.requests !== current.requests) out.push({ what: 'rollout requests', before: previous.requests, after: current.requests });
  return out;
}
