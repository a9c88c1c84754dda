/** The synthesize stage's `outcomes` output: one row per generated task and per skip (view `synthesize_outcomes`). */
export const SYNTHESIZE_OUTCOME_COLUMNS = {
  source_id: 'VARCHAR',
  generator: 'VARCHAR',
  generator_version: 'INTEGER',
  /** `generated` or `skipped` */
  outcome: 'VARCHAR',
  /** `ok` for generated rows; the skip reason otherwise (docs/synthesize.md) */
  reason: 'VARCHAR',
  derived_id: 'VARCHAR',
  /** JSON: the task key, or the numbers behind a skip */
  details: 'VARCHAR',
} as const;
