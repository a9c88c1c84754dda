/**
 * One trainer log line → one observation of a sample at a training step (k correct of n rollouts),
 * or the reason it could not be read. Shapes accepted (field names are looked up, not fixed):
 *
 * - verl `trainer.rollout_data_dir` (`<step>.jsonl`): one rollout per line, `score` (summed token
 *   scores), `step`, plus the keys the reward function returned — Stratum's `compute_score` returns
 *   `acc` and `index`; verl itself writes no row index.
 * - group lines (a pass@k log, GLM reward system results per prompt): `k`/`n`, `pass@k`/`pass_rate`
 *   with `n`, or an array of per-rollout `scores`/`rewards`/`acc`.
 * - plain `{id | index, step, score}` lines, one rollout each.
 *
 * Correctness: an explicit `acc`/`correct`/`is_correct` wins; else score ≥ the threshold.
 */

export interface Observation {
  /** Sample id (Stratum's content hash) when the line names one. */
  id: string | null;
  /** `extra_info.index` of the exported row when the line names one. */
  index: number | null;
  step: number;
  k: number;
  n: number;
}

export type ParsedLine = { ok: true; obs: Observation } | { ok: false; reason: MalformedReason };

export type MalformedReason =
  | 'invalid_json'
  | 'not_an_object'
  | 'no_sample_key'
  | 'no_step'
  | 'no_outcome'
  | 'bad_outcome';

export interface LineContext {
  /** Step from the file name (`12.jsonl`), used when a line has none. */
  fileStep: number | null;
  correctThreshold: number;
}

type Obj = Record<string, unknown>;

const ID_KEYS = ['id', 'sample_id', 'extra_info.id'];
const INDEX_KEYS = ['index', 'extra_info.index', 'idx', 'sample_index', 'data_index'];
const STEP_KEYS = ['step', 'global_step', 'global_steps', 'training_step', 'iteration'];
const CORRECT_KEYS = ['acc', 'correct', 'is_correct', 'accuracy'];
const SCORE_KEYS = ['score', 'reward', 'rewards', 'scores'];
const RATE_KEYS = ['pass_rate', 'pass@k', 'pass_at_k', 'passrate'];
const K_KEYS = ['k', 'num_correct', 'n_correct', 'correct_count'];
const N_KEYS = ['n', 'num_samples', 'n_samples', 'num_rollouts', 'total'];

function get(obj: Obj, path: string): unknown {
  if (path in obj) return obj[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const head = obj[path.slice(0, dot)];
  return head && typeof head === 'object' && !Array.isArray(head) ? get(head as Obj, path.slice(dot + 1)) : undefined;
}

function first(obj: Obj, keys: readonly string[]): unknown {
  for (const key of keys) {
    const v = get(obj, key);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/** A non-negative integer from a number or a numeric string (`12`, `12.0`, `"12"`). */
function nonNegInt(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function finite(v: unknown): number | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

function isCorrect(v: unknown, threshold: number): boolean | null {
  if (typeof v === 'boolean') return v;
  const n = finite(v);
  return n === null ? null : n >= threshold;
}

/** k of n from the line's outcome fields, or a reason. */
function outcomeOf(obj: Obj, threshold: number): { k: number; n: number } | MalformedReason {
  const kRaw = first(obj, K_KEYS);
  const nRaw = first(obj, N_KEYS);
  if (kRaw !== undefined && nRaw !== undefined && typeof kRaw !== 'boolean') {
    const k = nonNegInt(kRaw);
    const n = nonNegInt(nRaw);
    return k !== null && n !== null && n > 0 && k <= n ? { k, n } : 'bad_outcome';
  }
  const rate = first(obj, RATE_KEYS);
  if (rate !== undefined) {
    const p = finite(rate);
    const n = nRaw === undefined ? 1 : nonNegInt(nRaw);
    if (p === null || p < 0 || p > 1 || n === null || n === 0) return 'bad_outcome';
    const k = p * n;
    // a rate that is not a whole number of successes out of n is not a pass rate of n rollouts
    return Math.abs(k - Math.round(k)) < 1e-6 ? { k: Math.round(k), n } : 'bad_outcome';
  }
  for (const keys of [CORRECT_KEYS, SCORE_KEYS]) {
    const v = first(obj, keys);
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0) return 'bad_outcome';
    let k = 0;
    for (const x of values) {
      const c = isCorrect(x, keys === CORRECT_KEYS ? 0.5 : threshold);
      if (c === null) return 'bad_outcome';
      if (c) k++;
    }
    return { k, n: values.length };
  }
  return 'no_outcome';
}

export function parseLogLine(line: string, ctx: LineContext): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'invalid_json' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'not_an_object' };
  const obj = value as Obj;
  const idRaw = first(obj, ID_KEYS);
  const id = typeof idRaw === 'string' && idRaw.trim() !== '' ? idRaw.trim() : null;
  const indexRaw = first(obj, INDEX_KEYS);
  const index = indexRaw === undefined ? null : nonNegInt(indexRaw);
  if (id === null && index === null) return { ok: false, reason: 'no_sample_key' };
  const stepRaw = first(obj, STEP_KEYS);
  const step = stepRaw === undefined ? ctx.fileStep : nonNegInt(stepRaw);
  if (step === null) return { ok: false, reason: 'no_step' };
  const outcome = outcomeOf(obj, ctx.correctThreshold);
  if (typeof outcome === 'string') return { ok: false, reason: outcome };
  return { ok: true, obs: { id, index, step, ...outcome } };
}

/** `…/12.jsonl` or `…/step_12.jsonl` → 12 (verl names rollout dumps by global step); any other name → null. */
export function stepFromFileName(path: string): number | null {
  const m = /(?:^|[/\\])(?:step[_-]?)?(\d+)\.jsonl?$/i.exec(path);
  return m ? Number(m[1]) : null;
}
