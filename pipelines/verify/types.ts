/** Shared types of the verifier (reward) library. */

import type { VerifyDomain } from './domains.js';

export type { VerifyDomain };

/**
 * How the answer is pulled out of a response.
 * - `glm`: the whole response is `<think>…</think>\s*<answer>…</answer>` with exactly one
 *   `<|begin_of_box|>…<|end_of_box|>` in the answer and no `\boxed{` (GLM-4.1V reward format).
 * - `glm_think`: `<think>…</think>` then the answer with exactly one box; `<answer>` tags optional
 *   (the relaxed gate GLM's chart/counting/OCR/multi-image verifiers apply).
 * - `lenient`: other model families: `<answer>` tags, a GLM box, `\boxed{}` (last or only),
 *   a final-answer line, or the last formula of the text.
 * - `none`: the response is the answer.
 */
export type FormatMode = 'glm' | 'glm_think' | 'lenient' | 'none';

export interface VerifyOptions {
  /** Relative tolerance of numeric comparison (math 1e-6, chart 2.5e-2, physics/chemistry 1e-5). */
  relTol?: number;
  /** Math-Verify style comparison: round floats to this many decimals instead of relTol. */
  floatRounding?: number;
  /**
   * Math: compare exactly when the ground truth is exact (integer, fraction, closed form); relTol
   * then applies only to decimal golds (default true; false = relTol everywhere, GLM's rule).
   */
  exactWhenExact?: boolean;
  /** Whether an interval gold may match an inequality prediction (the reverse always may). */
  intervalMatchesRelation?: boolean;
  /** OCR: compare case-insensitively. */
  ignoreCase?: boolean;
  /** Grounding: when set, a matched box scores 1 at IoU >= threshold, else 0. */
  iouThreshold?: number;
  /** Multiple choice: the answer may hold several letters (all must match). */
  multipleAnswers?: boolean;
  /** Treat comma lists as ordered (tuples) instead of sets. */
  ordered?: boolean;
  /** Score 0 when the response mixes long Chinese and long English paragraphs. */
  languageMixPenalty?: boolean;
  /** Score 0 when the response repeats itself (degenerate generation). */
  repetitionPenalty?: boolean;
  /** Ask the LLM judge when the deterministic path cannot decide (default: when judges exist). */
  useJudge?: boolean;
  /** Extra text for the judge prompt (e.g. image description); never shown to deterministic checks. */
  judgeContext?: string;
}

export interface VerifyRequest {
  domain: VerifyDomain;
  response: string;
  groundTruth: string;
  question?: string;
  /** Option texts for multiple choice (A, B, C, ... in order). */
  choices?: string[];
  format?: FormatMode;
  options?: VerifyOptions;
}

/** Reason prefix of results no rule and no judge decided (score 0, `needsJudge: true`). */
export const UNDECIDED_PREFIX = 'undecided:';

export interface VerifyResult {
  score: number;
  correct: boolean;
  extracted: string | null;
  reason: string;
  formatOk: boolean;
  /** True when the deterministic path could not decide and no judge answered; the reason then starts with `undecided:`. */
  needsJudge?: boolean;
}

export interface JudgeEndpoint {
  /** OpenAI-compatible base URL, e.g. http://localhost:8000/v1 */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Stable name used in the cache key; defaults to `${baseUrl}#${model}`. */
  name?: string;
  temperature?: number;
  maxTokens?: number;
  timeoutMs?: number;
}

export interface VerifyContext {
  judges?: JudgeEndpoint[];
  /** Wall-clock budget of one verification (ms); exceeding it scores 0 with reason `timeout`. */
  timeBudgetMs?: number;
}

/** A verdict of a comparison step: decided true/false, or undecided (ask the judge). */
export type Verdict =
  | { kind: 'equal'; how: string; score?: number }
  | { kind: 'different'; how: string; score?: number }
  | { kind: 'unknown'; how: string };

export const equal = (how: string, score?: number): Verdict =>
  score === undefined ? { kind: 'equal', how } : { kind: 'equal', how, score };
export const different = (how: string, score?: number): Verdict =>
  score === undefined ? { kind: 'different', how } : { kind: 'different', how, score };
export const unknown = (how: string): Verdict => ({ kind: 'unknown', how });
