import type { StageContext } from '../shared/runner/stage.js';
import type { UnitSink } from '../shared/runner/unit-sink.js';

/** A bounded slice of one source (a file, a range of its records, some pages): the unit of commit and resume. */
export interface AdapterUnit {
  /** Unique within the source, stable across runs, e.g. `data/a.jsonl#0-2000`. */
  key: string;
  label: string;
  /** Changes when the slice's input bytes change (file hash, or size + mtime for huge files). */
  fingerprint: string;
  /** Expected input items, for the progress bar. */
  size: number;
  /** Whatever the adapter needs to process the unit; must be JSON-serialisable (queue workers get it). */
  payload: unknown;
}

/**
 * One kind of source (QA records, image-caption pairs, PDFs, ...). `plan` lists units; `process`
 * reads one unit and gives every input item exactly one decision on the sink: `keep` with a
 * canonical sample row, or `quarantine` / `drop` with a reason. Adapters never throw for bad input;
 * a throw means the unit cannot run at all (it stays pending and the run reports it).
 */
export interface SourceAdapter<S extends { type: string; name: string }> {
  type: S['type'];
  /** Bump when the adapter's output for the same input changes, so committed units are redone. */
  version: number;
  plan(source: S, ctx: StageContext): Promise<AdapterUnit[]>;
  process(source: S, unit: AdapterUnit, ctx: StageContext, sink: UnitSink): Promise<void>;
}
