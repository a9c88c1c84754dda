/** One row per input sample per stage: what the stage decided and why. */
export const DECISIONS = ['kept', 'dropped', 'quarantined'] as const;
export type Decision = (typeof DECISIONS)[number];

export interface LedgerRow {
  stage: string;
  unit: string;
  /** null when the input could not even be parsed into a sample */
  sample_id: string | null;
  source_uri: string;
  locator: string;
  decision: Decision;
  /** machine-readable reason, e.g. `ok`, `malformed_json`, `corrupt_image:path` */
  reason: string;
  /** human-readable details as a JSON object string; quarantine rows carry the raw input (truncated) */
  details: string;
}

export const LEDGER_COLUMNS = {
  stage: 'VARCHAR',
  unit: 'VARCHAR',
  sample_id: 'VARCHAR',
  source_uri: 'VARCHAR',
  locator: 'VARCHAR',
  decision: 'VARCHAR',
  reason: 'VARCHAR',
  details: 'VARCHAR',
} as const satisfies Record<keyof LedgerRow, string>;
