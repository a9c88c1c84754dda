import type { DuckDBConnection } from '@duckdb/node-api';
import type { LedgerRow } from '../../../schemas/ledger.js';
import type { DatasetConfig } from '../config/schema.js';
import type { LoadedConfig } from '../config/load.js';
import type { BlobStore } from '../store/blob-store.js';
import type { FileMemo } from '../store/file-memo.js';
import type { DatasetLayout, StageName } from '../store/layout.js';
import type { UnitSink } from './unit-sink.js';

/** A bounded piece of a stage's input, processed and committed atomically on its own. */
export interface WorkUnit<P> {
  /** Stable identity across runs, e.g. `gsm8k:test.jsonl#0-1999`. */
  id: string;
  label: string;
  /** Changes when the unit's input changes. */
  fingerprint: string;
  /** Changes when the part of the config that affects this unit changes (the runner adds the stage version). */
  configHash: string;
  /** Expected input items, for the progress bar. */
  size: number;
  payload: P;
}

export interface OutputSpec {
  columns: Record<string, string>;
  /** Folder under the stage folder; '' for the stage folder itself. */
  subdir: string;
  partitionBy?: readonly string[];
  /** Column types as staged in JSON when they differ from the Parquet type (e.g. base64 for BLOB). */
  stagingTypes?: Record<string, string>;
  /** SQL expressions producing a column from its staged value. */
  selectOverrides?: Record<string, string>;
}

export interface StageContext {
  dataset: string;
  config: DatasetConfig;
  /** The whole loaded config: a stage that shares an index across datasets reads the others' outputs. */
  loaded: LoadedConfig;
  /** Folder relative paths in the config resolve against. */
  baseDir: string;
  layout: DatasetLayout;
  blobs: BlobStore;
  conn: DuckDBConnection;
  signal: AbortSignal;
  /** Values derived from whole input files (hash, record count), reused while a file's stat is unchanged: plans read only what changed. */
  files: FileMemo;
}

/** What the runner tells a stage when it plans. */
export interface PlanContext {
  /** The stage whose committed units are this stage's input (resolved from the registry and config); null for a source stage. */
  upstream: StageName | null;
  /** Hash of the stage's config section and code version. */
  configHash: string;
}

/** Fields every stage declares. */
interface StageBase<P> {
  name: StageName;
  /** Code version: bump when the rows a stage writes change, so committed units are recomputed. */
  version: number;
  /** The stage whose output this one reads, or null for a source stage (ingest). */
  input: StageName | null;
  /** The part of a dataset's config that changes this stage's results (hashed with `version`). */
  config(ctx: StageContext): unknown;
  /** Units processed at once (I/O-bound stages raise it). */
  unitConcurrency: number;
  plan(ctx: StageContext, plan: PlanContext): Promise<WorkUnit<P>[]>;
  /** Runs once before any unit, after planning, e.g. to warn that no endpoint is configured. */
  beforeRun?(ctx: StageContext, pending: number): Promise<void>;
  /** Runs once after every unit in flight has settled, also after a failure. */
  afterRun?(ctx: StageContext): Promise<void>;
}

/**
 * Per-worker resources (model sessions, process pools, browsers, clients): created by `setup` once
 * per executor worker before its first unit and released by `teardown` after its last, so a worker
 * can hold models across units and a stage keeps no module-level caches.
 */
export interface WorkerResources<R> {
  setup?(ctx: StageContext): Promise<R>;
  teardown?(resources: R): Promise<void>;
}

/**
 * A per-unit stage: plans work units from its input and processes one unit at a time into a sink.
 * The runner owns everything else (skip/redo decisions, atomic commits, ledger, manifest, locking, progress).
 */
export interface UnitStage<P, R = undefined> extends StageBase<P>, WorkerResources<R> {
  kind?: 'unit';
  /** Outputs besides the ledger; `data` holds the kept samples. */
  outputs: Record<string, OutputSpec>;
  process(unit: WorkUnit<P>, ctx: StageContext, sink: UnitSink, resources: R): Promise<void>;
}

/** What a global stage's reduce sees. */
export interface ReduceInput {
  /** Committed map units of this dataset: unit id → files per map output (absolute paths) and their hash. */
  units: Map<string, { files: Record<string, string[]>; outputHash: string }>;
  /** Units whose map output differs from the one the previous artifact was built from (new or changed). */
  changed: Set<string>;
  /** The previous artifact's folder, when there is one: an incremental reduce reads its persisted index. */
  previous: string | null;
  /** Empty folder the reduce writes its artifact into; it becomes visible only after the reduce returns. */
  outDir: string;
}

/** A reduce's result: a digest per unit of the decisions that concern it (the apply step's fingerprint). */
export interface ReduceResult {
  unitDigests: Map<string, string>;
  /** Small summary kept in the artifact record (counts, timings). */
  summary: Record<string, unknown>;
}

/**
 * A stage over the whole dataset, in three steps the runner drives: a per-unit `map` writes
 * signatures (committed like any unit), one `reduce` reads all of them plus the persisted artifact
 * of the previous run and writes a new artifact, and a per-unit `apply` decides each sample. The
 * apply's fingerprint includes the unit's digest from the reduce, so after a run with new input
 * only the units whose decisions changed are rewritten.
 */
export interface GlobalStage<P, R = undefined> extends StageBase<P>, WorkerResources<R> {
  kind: 'global';
  map: {
    outputs: Record<string, OutputSpec>;
    process(unit: WorkUnit<P>, ctx: StageContext, sink: UnitSink, resources: R): Promise<void>;
  };
  /** A fingerprint of what else the reduce reads (e.g. other datasets' signatures in a shared index). */
  externalInputs?(ctx: StageContext): Promise<string>;
  /** Runs in the coordinator, out of core (DuckDB); must be deterministic in its inputs. */
  reduce(ctx: StageContext, input: ReduceInput): Promise<ReduceResult>;
  apply: {
    /** Outputs besides the ledger; `data` holds the kept samples. */
    outputs: Record<string, OutputSpec>;
    /** `artifact` is the folder of the current reduce artifact; `mapFiles` this unit's map outputs. */
    process(
      unit: WorkUnit<P>,
      ctx: StageContext,
      sink: UnitSink,
      resources: R,
      step: { artifact: string; mapFiles: Record<string, string[]> },
    ): Promise<void>;
  };
}

export type StageDefinition<P, R = undefined> = UnitStage<P, R> | GlobalStage<P, R>;

/** Any stage, for registries and runners that do not look at payloads. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStage = StageDefinition<any, any>;

export type { LedgerRow };
