/** One verified rollout (one sampled response of a policy model to one sample). */
export interface RolloutRow {
  sample_id: string;
  endpoint: string;
  model: string;
  params_hash: string;
  request_id: string;
  choice_index: number;
  response: string;
  finish_reason: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number;
  score: number;
  /** null: the verifier could not decide (timed out twice); such rollouts are left out of k and n. */
  correct: boolean | null;
  extracted: string | null;
  reason: string;
}

export const ROLLOUT_COLUMNS = {
  sample_id: 'VARCHAR',
  endpoint: 'VARCHAR',
  model: 'VARCHAR',
  params_hash: 'VARCHAR',
  request_id: 'VARCHAR',
  choice_index: 'INTEGER',
  response: 'VARCHAR',
  finish_reason: 'VARCHAR',
  prompt_tokens: 'INTEGER',
  completion_tokens: 'INTEGER',
  latency_ms: 'DOUBLE',
  score: 'DOUBLE',
  correct: 'BOOLEAN',
  extracted: 'VARCHAR',
  reason: 'VARCHAR',
} as const satisfies Record<keyof RolloutRow, string>;
