import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { LEDGER_COLUMNS } from '../../../schemas/ledger.js';
import { sha256File, sha256Hex } from '../hash.js';
import { log } from '../log.js';
import { writeStagedParquet } from '../store/parquet-writer.js';
import { StagedRows } from '../store/staged-rows.js';
import { faultPoint } from './fault.js';
import { acquireLock } from './lock.js';
import { readManifest, writeManifest, type StageManifest, type UnitCounts, type UnitRecord } from './manifest.js';
import { createProgress } from './progress.js';
import type { OutputSpec, StageContext, StageDefinition, WorkUnit } from './stage.js';
import { UnitSink } from './unit-sink.js';

export interface RunOptions {
  /** Redo every unit even when committed and unchanged. */
  force?: boolean;
  /** Process at most this many pending units; the rest stay pending for the next run. */
  limitUnits?: number;
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
}

const LEDGER_DIR = '_ledger';

export function unitKey(unitId: string): string {
  return `u${sha256Hex(unitId).slice(0, 16)}`;
}

/**
 * The shared stage runner: plan → skip committed units whose fingerprint and config hash match →
 * process the rest (bounded concurrency) → commit each unit atomically (temp files, rename, manifest).
 * Files that no manifest entry names (left by a killed run) are deleted before work starts.
 */
export async function runStage<P>(stage: StageDefinition<P>, ctx: StageContext, options: RunOptions = {}): Promise<StageRunSummary> {
  const started = Date.now();
  const stageDir = ctx.layout.stageDir(stage.name);
  const release = await acquireLock(ctx.layout.lock(stage.name), `stage ${stage.name} of dataset ${ctx.dataset}`);
  try {
    const manifest = await readManifest(ctx.layout.manifest(stage.name), stage.name);
    const units = await stage.plan(ctx);
    const planned = new Set(units.map((u) => u.id));

    let removed = 0;
    for (const [id, record] of Object.entries(manifest.units)) {
      if (planned.has(id)) continue;
      delete manifest.units[id];
      await deleteFiles(stageDir, record);
      removed++;
    }
    if (removed) await writeManifest(ctx.layout.manifest(stage.name), manifest);
    await collectGarbage(stageDir, manifest);

    const isCurrent = (u: WorkUnit<P>): boolean => {
      const r = manifest.units[u.id];
      return !options.force && !!r && r.fingerprint === u.fingerprint && r.configHash === u.configHash;
    };
    const stale = units.filter((u) => !isCurrent(u));
    const todo = options.limitUnits !== undefined ? stale.slice(0, options.limitUnits) : stale;
    const skipped = units.length - stale.length;
    log.info({ stage: stage.name, dataset: ctx.dataset, units: units.length, skipped, todo: todo.length }, 'planned');
    await stage.beforeRun?.(ctx, todo.length);

    const counts: UnitCounts = { in: 0, kept: 0, dropped: 0, quarantined: 0 };
    const progress = createProgress(`${ctx.dataset}/${stage.name}`, todo.reduce((n, u) => n + u.size, 0));
    let manifestWrite = Promise.resolve();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length && !ctx.signal.aborted) {
        const unit = todo[next++] as WorkUnit<P>;
        const record = await processUnit(stage, ctx, unit, progress.add);
        const previous = manifest.units[unit.id];
        manifest.units[unit.id] = record;
        manifestWrite = manifestWrite.then(() => writeManifest(ctx.layout.manifest(stage.name), manifest));
        await manifestWrite;
        faultPoint('unit-committed');
        if (previous) await deleteFiles(stageDir, previous, record);
        for (const k of Object.keys(counts) as (keyof UnitCounts)[]) counts[k] += record.counts[k];
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(stage.unitConcurrency, todo.length)) }, worker));
    } finally {
      progress.stop();
      await stage.afterRun?.(ctx);
      await rm(ctx.layout.tmp(stage.name), { recursive: true, force: true });
    }
    const summary: StageRunSummary = {
      stage: stage.name,
      planned: units.length,
      skipped,
      processed: todo.length,
      removed,
      pending: stale.length - todo.length,
      counts,
      seconds: (Date.now() - started) / 1000,
    };
    log.info({ dataset: ctx.dataset, ...summary }, 'stage finished');
    return summary;
  } finally {
    await release();
  }
}

async function processUnit<P>(
  stage: StageDefinition<P>,
  ctx: StageContext,
  unit: WorkUnit<P>,
  onItem: (n: number) => void,
): Promise<UnitRecord> {
  const started = Date.now();
  const key = unitKey(unit.id);
  const stageDir = ctx.layout.stageDir(stage.name);
  const tmpDir = join(ctx.layout.tmp(stage.name), key);
  await rm(tmpDir, { recursive: true, force: true });
  const sink = new UnitSink(stage.name, unit.id, join(tmpDir, 'staging'), onItem);
  await stage.process(unit, ctx, sink);
  sink.assertBalanced();
  const stem = `part-${key}`;
  const files: Record<string, string[]> = {};
  const written: Array<{ from: string; to: string }> = [];
  const dataHashes: string[] = [];
  const outputs: Record<string, OutputSpec> = { ...stage.outputs, ledger: { columns: LEDGER_COLUMNS, subdir: LEDGER_DIR } };
  for (const [name, spec] of Object.entries(outputs)) {
    const staged = sink.outputs.get(name);
    if (!staged && name !== 'ledger' && name !== 'data') continue;
    const dir = join(tmpDir, name);
    const produced = await writeStagedParquet(ctx.conn, staged ?? new StagedRows(join(tmpDir, 'staging', name, '.empty.jsonl')), { ...spec, dir, stem });
    files[name] = produced.map((f) => join(spec.subdir, f));
    for (const f of produced) written.push({ from: join(dir, f), to: join(stageDir, spec.subdir, f) });
    if (name === 'data') for (const f of produced.sort()) dataHashes.push(await sha256File(join(dir, f)));
  }
  for (const { from, to } of written) {
    await mkdir(dirname(to), { recursive: true });
    await rename(from, to);
    faultPoint('commit-rename');
  }
  await rm(tmpDir, { recursive: true, force: true });
  return {
    key,
    label: unit.label,
    fingerprint: unit.fingerprint,
    configHash: unit.configHash,
    counts: sink.counts,
    files,
    outputHash: sha256Hex(dataHashes.join(',')),
    committedAt: new Date().toISOString(),
    durationMs: Date.now() - started,
  };
}

/** Deletes a unit's files, except those the replacing record still names. */
async function deleteFiles(stageDir: string, record: UnitRecord, keep?: UnitRecord): Promise<void> {
  const kept = new Set(keep ? Object.values(keep.files).flat() : []);
  for (const f of Object.values(record.files).flat()) if (!kept.has(f)) await rm(join(stageDir, f), { force: true });
}

async function collectGarbage(stageDir: string, manifest: StageManifest): Promise<void> {
  if (!existsSync(stageDir)) return;
  const known = new Set(Object.values(manifest.units).flatMap((u) => Object.values(u.files).flat()));
  for (const entry of await readdir(stageDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet')) continue;
    const rel = relative(stageDir, join(entry.parentPath, entry.name));
    if (known.has(rel) || rel.startsWith('_tmp')) continue;
    log.warn({ file: rel }, 'removing a file no committed unit owns (left by an interrupted run)');
    await rm(join(stageDir, rel), { force: true });
  }
}
