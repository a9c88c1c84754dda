import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { stableHash } from '../hash.js';
import { log } from '../log.js';
import { InProcessExecutor, type Executor } from './executor.js';
import { faultPoint } from './fault.js';
import { UnitsFailedError, writeFailures } from './failures.js';
import { acquireLock } from './lock.js';
import { ManifestLog, writeJsonAtomic, type UnitCounts, type UnitRecord } from './manifest.js';
import { createProgress } from './progress.js';
import type { AnyStage, GlobalStage, StageContext, WorkUnit } from './stage.js';
import { phaseStage, type Phase, type UnitJob, type UnitResult } from './unit-work.js';

export { unitKey } from './unit-work.js';

export interface RunOptions {
  /** Redo every unit even when committed and unchanged. */
  force?: boolean;
  /** Process at most this many pending units; the rest stay pending for the next run. */
  limitUnits?: number;
  /** The stage whose output is the input (resolved by the registry from the config); default: the stage's declared input. */
  upstream?: string | null;
  executor?: Executor;
}

export interface StageRunSummary {
  stage: string;
  planned: number;
  skipped: number;
  processed: number;
  removed: number;
  pending: number;
  counts: UnitCounts;
  seconds: number;
  /** Global stages: whether the reduce ran (false: its inputs were unchanged). */
  reduced?: boolean;
  /** Global stages: CPU seconds of this process spent in the reduce (0 when it did not run). */
  reduceCpuSeconds?: number;
}

/** The record of the current reduce artifact of a global stage (`_reduce/current.json`). */
export interface ReduceRecord {
  fingerprint: string;
  /** Folder name under `_reduce/`. */
  dir: string;
  /** Map unit id → the map output hash the artifact was built from. */
  built: Record<string, string>;
  unitDigests: Record<string, string>;
  summary: Record<string, unknown>;
  committedAt: string;
}

/**
 * Plans a stage's units with the fingerprints the runner compares against the manifest: the stage's
 * version enters every config hash, and a global stage's units carry the reduce digest of their
 * decisions (so `status` and `run` agree on what is pending).
 */
export async function planStage(stage: AnyStage, ctx: StageContext, upstream: string | null = stage.input): Promise<WorkUnit<unknown>[]> {
  const configHash = stableHash({ config: stage.config(ctx) ?? null, version: stage.version });
  const units = await stage.plan(ctx, { upstream, configHash });
  await ctx.files.save();
  return units.map((u) => ({ ...u, configHash: stableHash([u.configHash, stage.version]) }));
}

export async function readReduceRecord(ctx: StageContext, stage: string): Promise<ReduceRecord | null> {
  const path = join(ctx.layout.stageDir(stage), '_reduce', 'current.json');
  if (!existsSync(path)) return null;
  return JSON.parse(await readFile(path, 'utf8')) as ReduceRecord;
}

/** A global stage's apply units: fingerprinted by their input and by the reduce's digest of their decisions. */
export function applyUnits(units: WorkUnit<unknown>[], record: ReduceRecord | null): WorkUnit<unknown>[] {
  return units.map((u) => ({ ...u, fingerprint: stableHash([u.fingerprint, record?.unitDigests[u.id] ?? 'no-artifact']) }));
}

/**
 * The shared stage runner: plan → skip committed units whose fingerprint and config hash match →
 * hand the rest to the executor → commit each finished unit atomically (rename, then one manifest
 * line). A global stage runs map → reduce → apply, each step skipping what is unchanged. Files that
 * no manifest entry names (left by a killed run) are deleted before work starts.
 */
export async function runStage(stage: AnyStage, ctx: StageContext, options: RunOptions = {}): Promise<StageRunSummary> {
  const started = Date.now();
  const release = await acquireLock(ctx.layout.lock(stage.name), `stage ${stage.name} of dataset ${ctx.dataset}`);
  const executor = options.executor ?? new InProcessExecutor();
  try {
    const units = await planStage(stage, ctx, options.upstream === undefined ? stage.input : options.upstream);
    let summary: StageRunSummary;
    if (stage.kind !== 'global') {
      summary = await runPhase(stage, ctx, 'unit', units, executor, options);
    } else {
      const map = await runPhase(stage, ctx, 'map', units, executor, options);
      if (map.pending > 0 || ctx.signal.aborted) {
        summary = { ...map, processed: 0, counts: zeroCounts() };
      } else {
        const cpu = process.cpuUsage();
        const { record, reduced } = await reduceStep(stage, ctx, units);
        const used = process.cpuUsage(cpu);
        const applied = await runPhase(stage, ctx, 'apply', applyUnits(units, record), executor, options, record);
        summary = { ...applied, reduced, reduceCpuSeconds: reduced ? (used.user + used.system) / 1e6 : 0 };
      }
    }
    summary.seconds = (Date.now() - started) / 1000;
    log.info({ dataset: ctx.dataset, ...summary }, 'stage finished');
    return summary;
  } finally {
    await release();
  }
}

function zeroCounts(): UnitCounts {
  return { in: 0, kept: 0, dropped: 0, quarantined: 0 };
}

async function runPhase(
  stage: AnyStage,
  ctx: StageContext,
  phase: Phase,
  units: WorkUnit<unknown>[],
  executor: Executor,
  options: RunOptions,
  reduce?: ReduceRecord | null,
): Promise<StageRunSummary> {
  const where = phaseStage(stage.name, phase);
  const stageDir = ctx.layout.stageDir(where);
  const manifest = await ManifestLog.open(ctx.layout.manifest(where), where);
  const planned = new Set(units.map((u) => u.id));
  let removed = 0;
  for (const [id, record] of Object.entries(manifest.units)) {
    if (planned.has(id)) continue;
    await manifest.remove(id);
    await deleteFiles(stageDir, record);
    removed++;
  }
  await manifest.compactIfWorthIt();
  await collectGarbage(stageDir, manifest.units);

  const isCurrent = (u: WorkUnit<unknown>): boolean => {
    const r = manifest.units[u.id];
    return !options.force && !!r && r.fingerprint === u.fingerprint && r.configHash === u.configHash;
  };
  const stale = units.filter((u) => !isCurrent(u));
  const todo = options.limitUnits !== undefined ? stale.slice(0, options.limitUnits) : stale;
  const skipped = units.length - stale.length;
  log.info({ stage: stage.name, phase, dataset: ctx.dataset, units: units.length, skipped, todo: todo.length }, 'planned');
  if (phase !== 'map') await stage.beforeRun?.(ctx, todo.length);

  const counts = zeroCounts();
  const progress = createProgress(`${ctx.dataset}/${where}`, todo.reduce((n, u) => n + u.size, 0));
  let commits = Promise.resolve();
  const commit = (job: UnitJob, result: UnitResult): Promise<void> => {
    // Commits are serialised: renames, then one manifest line, then the old files go.
    commits = commits.then(async () => {
      for (const { from, to } of result.staged) {
        await mkdir(dirname(join(stageDir, to)), { recursive: true });
        await rename(from, join(stageDir, to));
        faultPoint('commit-rename');
      }
      await rm(result.tmpDir, { recursive: true, force: true });
      const record: UnitRecord = {
        key: result.key,
        label: job.unit.label,
        fingerprint: job.unit.fingerprint,
        configHash: job.unit.configHash,
        counts: result.counts,
        files: result.files,
        outputHash: result.outputHash,
        committedAt: new Date().toISOString(),
        durationMs: result.durationMs,
      };
      const previous = manifest.units[job.unit.id];
      await manifest.commit(job.unit.id, record);
      faultPoint(phase === 'map' ? 'map-committed' : 'unit-committed');
      if (previous) await deleteFiles(stageDir, previous, record);
      for (const k of Object.keys(counts) as (keyof UnitCounts)[]) counts[k] += record.counts[k];
    });
    return commits;
  };
  const step = reduce ? { artifact: join(ctx.layout.stageDir(stage.name), '_reduce', reduce.dir) } : null;
  const mapManifest = phase === 'apply' ? await ManifestLog.open(ctx.layout.manifest(phaseStage(stage.name, 'map')), phaseStage(stage.name, 'map')) : null;
  const jobs: UnitJob[] = todo.map((unit) => {
    if (phase !== 'apply' || !step || !mapManifest) return { phase, unit };
    const mapRecord = mapManifest.units[unit.id];
    const mapDir = ctx.layout.stageDir(phaseStage(stage.name, 'map'));
    const mapFiles = Object.fromEntries(Object.entries(mapRecord?.files ?? {}).map(([k, fs]) => [k, fs.map((f) => join(mapDir, f))]));
    return { phase, unit, step: { artifact: step.artifact, mapFiles } };
  });
  try {
    await executor.run(stage, ctx, jobs, { concurrency: stage.unitConcurrency, commit, onItem: progress.add });
    await writeFailures(stageDir, []);
  } catch (err) {
    // Units that failed for good are kept for `status`; the next successful run clears them.
    if (err instanceof UnitsFailedError) await writeFailures(stageDir, err.failures);
    throw err;
  } finally {
    await commits.catch(() => {});
    progress.stop();
    if (phase !== 'map') await stage.afterRun?.(ctx);
    await rm(ctx.layout.tmp(where), { recursive: true, force: true });
  }
  return { stage: stage.name, planned: units.length, skipped, processed: todo.length, removed, pending: stale.length - todo.length, counts, seconds: 0 };
}

/** Runs the reduce unless its inputs (map outputs, config, external index) are unchanged. */
async function reduceStep(stage: GlobalStage<unknown, unknown>, ctx: StageContext, units: WorkUnit<unknown>[]): Promise<{ record: ReduceRecord; reduced: boolean }> {
  const reduceDir = join(ctx.layout.stageDir(stage.name), '_reduce');
  const mapWhere = phaseStage(stage.name, 'map');
  const mapManifest = await ManifestLog.open(ctx.layout.manifest(mapWhere), mapWhere);
  const mapDir = ctx.layout.stageDir(mapWhere);
  const built: Record<string, string> = {};
  for (const u of [...units].sort((a, b) => a.id.localeCompare(b.id))) built[u.id] = mapManifest.units[u.id]?.outputHash ?? 'missing';
  const external = stage.externalInputs ? await stage.externalInputs(ctx) : null;
  const fingerprint = stableHash({ built, config: stage.config(ctx) ?? null, version: stage.version, external });
  const current = await readReduceRecord(ctx, stage.name);
  if (current && current.fingerprint === fingerprint && existsSync(join(reduceDir, current.dir))) return { record: current, reduced: false };

  // Leftovers of a reduce killed before it committed.
  if (existsSync(reduceDir)) {
    for (const entry of await readdir(reduceDir)) if (entry.startsWith('_tmp-')) await rm(join(reduceDir, entry), { recursive: true, force: true });
  }
  const started = Date.now();
  const dir = `r-${fingerprint.slice(0, 16)}`;
  const outDir = join(reduceDir, `_tmp-${dir}`);
  await mkdir(outDir, { recursive: true });
  const previous = current && existsSync(join(reduceDir, current.dir)) ? join(reduceDir, current.dir) : null;
  const changed = new Set(Object.keys(built).filter((id) => current?.built[id] !== built[id]));
  const inputUnits = new Map(
    Object.keys(built).map((id) => {
      const r = mapManifest.units[id];
      const files = Object.fromEntries(Object.entries(r?.files ?? {}).map(([k, fs]) => [k, fs.map((f) => join(mapDir, f))]));
      return [id, { files, outputHash: built[id] as string }];
    }),
  );
  log.info({ stage: stage.name, dataset: ctx.dataset, units: inputUnits.size, changed: changed.size, incremental: !!previous }, 'reduce');
  const result = await stage.reduce(ctx, { units: inputUnits, changed, previous, outDir });
  faultPoint('reduce-written');
  if (current?.dir === dir) await rm(join(reduceDir, dir), { recursive: true, force: true });
  await rename(outDir, join(reduceDir, dir));
  const record: ReduceRecord = {
    fingerprint,
    dir,
    built,
    unitDigests: Object.fromEntries(result.unitDigests),
    summary: { ...result.summary, seconds: (Date.now() - started) / 1000 },
    committedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(join(reduceDir, 'current.json'), record);
  faultPoint('reduce-committed');
  if (current && current.dir !== dir) await rm(join(reduceDir, current.dir), { recursive: true, force: true });
  return { record, reduced: true };
}

/** Deletes a unit's files, except those the replacing record still names. */
async function deleteFiles(stageDir: string, record: UnitRecord, keep?: UnitRecord): Promise<void> {
  const kept = new Set(keep ? Object.values(keep.files).flat() : []);
  for (const f of Object.values(record.files).flat()) if (!kept.has(f)) await rm(join(stageDir, f), { force: true });
}

/** Deletes Parquet files no committed unit owns; other steps' folders (`_map`, `_reduce`, `_tmp`, `_journal`) are theirs. */
async function collectGarbage(stageDir: string, units: Record<string, UnitRecord>): Promise<void> {
  if (!existsSync(stageDir)) return;
  const known = new Set(Object.values(units).flatMap((u) => Object.values(u.files).flat()));
  for (const entry of await readdir(stageDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
    const rel = relative(stageDir, join(entry.parentPath, entry.name));
    const top = rel.split(/[\\/]/)[0] ?? '';
    if (known.has(rel) || (top.startsWith('_') && top !== '_ledger')) continue;
    log.warn({ file: rel }, 'removing a file no committed unit owns (left by an interrupted run)');
    await rm(join(stageDir, rel), { force: true });
  }
}
