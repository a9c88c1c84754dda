import type { DuckDBConnection } from '@duckdb/node-api';
import type { LedgerRow } from '../../../schemas/ledger.js';
import type { DatasetConfig } from '../config/schema.js';
import type { BlobStore } from '../store/blob-store.js';
import type { DatasetLayout, StageName } from '../store/layout.js';
import type { UnitSink } from './unit-sink.js';

/** A bounded piece of a stage's input, processed and committed atomically on its own. */
export interface WorkUnit<P> {
  /** Stable identity across runs, e.g. `gsm8k:test.jsonl#0-1999`. */
  id: string;
  label: string;
  /** Changes when the unit's input changes. */
  fingerprint: string;
  /** Changes when the part of the config that affects this unit changes. */
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
  /** Folder relative paths in the config resolve against. */
  baseDir: string;
  layout: DatasetLayout;
  blobs: BlobStore;
  conn: DuckDBConnection;
  signal: AbortSignal;
}

/**
 * A stage: plans work units from its input and processes one unit at a time into a sink. The runner
 * owns everything else (skip/redo decisions, atomic commits, ledger, manifest, locking, progress).
 */
export interface StageDefinition<P> {
  name: StageName;
  /** Outputs besides the ledger; `data` holds the kept samples. */
  outputs: Record<string, OutputSpec>;
  /** Units processed at once (I/O-bound stages raise it). */
  unitConcurrency: number;
  plan(ctx: StageContext): Promise<WorkUnit<P>[]>;
  process(unit: WorkUnit<P>, ctx: StageContext, sink: UnitSink): Promise<void>;
  /** Runs once before any unit, after planning, e.g. to warn that no endpoint is configured. */
  beforeRun?(ctx: StageContext, pending: number): Promise<void>;
  /** Runs once after the last unit, also after a failure, e.g. to stop worker threads. */
  afterRun?(ctx: StageContext): Promise<void>;
}

export type { LedgerRow };
