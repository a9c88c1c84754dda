import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LEDGER_COLUMNS } from '../../../schemas/ledger.js';
import { sha256File, sha256Hex } from '../hash.js';
import { writeStagedParquet } from '../store/parquet-writer.js';
import { StagedRows } from '../store/staged-rows.js';
import type { UnitCounts } from './manifest.js';
import type { AnyStage, OutputSpec, StageContext, WorkUnit } from './stage.js';
import { UnitSink } from './unit-sink.js';

export const LEDGER_DIR = '_ledger';

/** Which of a stage's steps a unit job runs: the whole unit of a per-unit stage, or a global stage's map or apply. */
export type Phase = 'unit' | 'map' | 'apply';

/** One unit of work as an executor receives it: plain data, so a queue can carry it to another machine. */
export interface UnitJob<P = unknown> {
  phase: Phase;
  unit: WorkUnit<P>;
  /** Apply only: the reduce artifact folder and this unit's map outputs. */
  step?: { artifact: string; mapFiles: Record<string, string[]> };
  /**
   * Names this delivery's temp folder: a queue may deliver a job twice at once (a worker presumed
   * dead that was only slow), and two attempts must not write into the same folder.
   */
  attempt?: string;
}

/** A processed unit, written under the stage's `_tmp` and not yet visible: the coordinator commits it. */
export interface UnitResult {
  key: string;
  /** The job's temp folder, removed once committed. */
  tmpDir: string;
  counts: UnitCounts;
  /** Files to move into place: temp path → path relative to the phase folder. */
  staged: Array<{ from: string; to: string }>;
  files: Record<string, string[]>;
  outputHash: string;
  durationMs: number;
}

export function unitKey(unitId: string): string {
  return `u${sha256Hex(unitId).slice(0, 16)}`;
}

/** The folder a phase commits into, as a stage name the layout understands (`filter/_map`). */
export function phaseStage(stage: string, phase: Phase): string {
  return phase === 'map' ? `${stage}/_map` : stage;
}

export function phaseOutputs(stage: AnyStage, phase: Phase): Record<string, OutputSpec> {
  if (phase === 'map') {
    if (stage.kind !== 'global') throw new Error(`stage ${stage.name} has no map step`);
    return stage.map.outputs;
  }
  const own = stage.kind === 'global' ? stage.apply.outputs : stage.outputs;
  return { ...own, ledger: { columns: LEDGER_COLUMNS, subdir: LEDGER_DIR } };
}

/**
 * Runs one unit job to completion in a temp folder: the stage's step, the accounting check, and the
 * Parquet files. Nothing is visible until the coordinator commits the result.
 */
export async function executeUnit(stage: AnyStage, ctx: StageContext, job: UnitJob, resources: unknown, onItem: (n: number) => void): Promise<UnitResult> {
  const started = Date.now();
  const key = unitKey(job.unit.id);
  const tmpDir = join(ctx.layout.tmp(phaseStage(stage.name, job.phase)), job.attempt ? `${key}-${job.attempt}` : key);
  await rm(tmpDir, { recursive: true, force: true });
  const outputs = phaseOutputs(stage, job.phase);
  const sink = new UnitSink(stage.name, job.unit.id, join(tmpDir, 'staging'), onItem, Object.keys(outputs));
  if (job.phase === 'unit' && stage.kind !== 'global') await stage.process(job.unit, ctx, sink, resources);
  else if (job.phase === 'map' && stage.kind === 'global') await stage.map.process(job.unit, ctx, sink, resources);
  else if (job.phase === 'apply' && stage.kind === 'global') {
    if (!job.step) throw new Error(`apply job for ${job.unit.id} carries no artifact`);
    await stage.apply.process(job.unit, ctx, sink, resources, job.step);
  } else throw new Error(`stage ${stage.name} cannot run a ${job.phase} job`);
  sink.assertBalanced();

  const stem = `part-${key}`;
  const files: Record<string, string[]> = {};
  const staged: UnitResult['staged'] = [];
  const dataHashes: string[] = [];
  for (const [name, spec] of Object.entries(outputs)) {
    const rows = sink.outputs.get(name);
    // A per-unit stage always writes its data and ledger files, even empty, so downstream sees the unit.
    if (!rows && name !== 'ledger' && name !== 'data') continue;
    const dir = join(tmpDir, name);
    const produced = await writeStagedParquet(ctx.conn, rows ?? new StagedRows(join(tmpDir, 'staging', name, '.empty.jsonl')), { ...spec, dir, stem });
    files[name] = produced.map((f) => join(spec.subdir, f));
    for (const f of produced) staged.push({ from: join(dir, f), to: join(spec.subdir, f) });
    // Downstream stages fingerprint their input by this hash: the data files (a map: every output).
    const fingerprinted = job.phase === 'map' ? name !== 'ledger' : name === 'data';
    if (fingerprinted) for (const f of [...produced].sort()) dataHashes.push(await sha256File(join(dir, f)));
  }
  return { key, tmpDir, counts: sink.counts, staged, files, outputHash: sha256Hex(dataHashes.join(',')), durationMs: Date.now() - started };
}
