import type { Decision, LedgerRow } from '../../../schemas/ledger.js';
import { join } from 'node:path';
import { StagedRows } from '../store/staged-rows.js';
import type { UnitCounts } from './manifest.js';

export interface InputRef {
  sample_id: string | null;
  source_uri: string;
  locator: string;
}

/** Quarantine rows keep the raw input so nothing is lost; other details stay short. */
const MAX_DETAIL_CHARS: Record<Decision, number> = { kept: 4096, dropped: 4096, quarantined: 1_000_000 };

/**
 * Collects one unit's results. Every input item gets exactly one decision (kept / dropped /
 * quarantined), which becomes its ledger row; the runner checks `in = kept + dropped + quarantined`.
 */
export class UnitSink {
  /** Rows per output (the ledger included), staged on disk under the unit's temp folder. */
  readonly outputs = new Map<string, StagedRows>();
  readonly counts: UnitCounts = { in: 0, kept: 0, dropped: 0, quarantined: 0 };
  private declaredInputs = 0;

  constructor(
    readonly stage: string,
    readonly unit: string,
    private readonly stagingDir: string,
    private readonly onItem: (n: number) => void = () => {},
    /** Outputs the stage declared (the ledger included); null accepts any (tests of the sink alone). */
    private readonly declared: readonly string[] | null = null,
  ) {}

  /** Declares how many input items this unit read (call as they are read). */
  inputs(n: number): void {
    this.declaredInputs += n;
    this.counts.in += n;
  }

  keep(ref: InputRef, row: object, reason = 'ok', details: object = {}): void {
    this.emit('data', row);
    this.decide(ref, 'kept', reason, details);
  }

  /** Kept, with the stage's rows emitted to other outputs (e.g. export formats). */
  markKept(ref: InputRef, reason = 'ok', details: object = {}): void {
    this.decide(ref, 'kept', reason, details);
  }

  drop(ref: InputRef, reason: string, details: object = {}): void {
    this.decide(ref, 'dropped', reason, details);
  }

  quarantine(ref: InputRef, reason: string, details: object = {}): void {
    this.decide(ref, 'quarantined', reason, details);
  }

  emit(output: string, row: object): void {
    if (this.declared && !this.declared.includes(output)) {
      throw new Error(`${this.stage} unit ${this.unit} emitted a row to output "${output}", which the stage does not declare (outputs: ${this.declared.join(', ')})`);
    }
    let rows = this.outputs.get(output);
    if (!rows) this.outputs.set(output, (rows = new StagedRows(join(this.stagingDir, output, '.staging.jsonl'))));
    rows.add(row);
  }

  /** Throws when some input has no decision or got two: such a unit must not be committed. */
  assertBalanced(): void {
    const decided = this.counts.kept + this.counts.dropped + this.counts.quarantined;
    if (decided !== this.declaredInputs) {
      throw new Error(
        `accounting violated in ${this.stage} unit ${this.unit}: in=${this.declaredInputs} but kept+dropped+quarantined=${decided}`,
      );
    }
  }

  private decide(ref: InputRef, decision: Decision, reason: string, details: object): void {
    this.counts[decision]++;
    let json = JSON.stringify(details);
    const max = MAX_DETAIL_CHARS[decision];
    if (json.length > max) json = JSON.stringify({ truncated: true, head: json.slice(0, max) });
    const row: LedgerRow = { stage: this.stage, unit: this.unit, ...ref, decision, reason, details: json };
    this.emit('ledger', row);
    this.onItem(1);
  }
}
