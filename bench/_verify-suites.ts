/**
 * The public math-equivalence suites in ../shared/verifier-cases, read the way each upstream test
 * configured its grader, and a deterministic development / evaluation split of the held-out ones.
 *
 * Held-out discipline: `math_verify_more_cases.jsonl` and `other_math_equiv_cases.jsonl` are split by
 * a hash of the case id into a development half (its disagreements may be read while fixing
 * failure classes) and an evaluation half (only its score is printed; its cases are never listed).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractChoiceLetter } from '../pipelines/verify/choice.js';
import { findLatexBoxed } from '../pipelines/verify/format.js';
import { extractFreeTextAnswer } from '../pipelines/verify/free-text-answer.js';
import { acceptsMathCandidate, compareMath } from '../pipelines/verify/math.js';

export interface SuiteCase {
  id: string;
  kind?: string;
  gold: string | null;
  pred: string;
  expected: boolean | string[] | null;
  test_function?: string;
  config: {
    extraction_config?: string[];
    verify_kwargs?: string | { float_rounding?: number; allow_set_relation_comp?: boolean };
    helper?: string;
    precision?: number;
  };
  ref_check?: { math_verify_0_8_0_got?: boolean | null; got?: boolean | null };
}

export const SUITES = ['math_verify_cases.jsonl', 'math_verify_more_cases.jsonl', 'other_math_equiv_cases.jsonl'] as const;
export const HELD_OUT = new Set<string>(['math_verify_more_cases.jsonl', 'other_math_equiv_cases.jsonl']);

export function loadSuite(dir: string, file: string): SuiteCase[] | null {
  const path = join(dir, file);
  if (!existsSync(path)) return null;
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SuiteCase);
}

/** 'dev' or 'eval', fixed by the id alone (about half each). */
export function splitOf(id: string): 'dev' | 'eval' {
  return (createHash('sha256').update(id).digest()[0]! & 1) === 0 ? 'dev' : 'eval';
}

/** The label a case asserts (a parse_string case asserts that extraction gives `expected`); null = ambiguous. */
export function labelOf(c: SuiteCase): boolean | null {
  if (c.expected === null) return null;
  return c.kind === 'parse_string' ? true : (c.expected as boolean);
}

function sympySourceToText(s: string): string {
  return s.replace(/Rational\((-?\d+),\s*(-?\d+)\)/g, '($1/$2)').replace(/Float\(([^)]+)\)/g, '$1').replace(/Integer\((-?\d+)\)/g, '$1');
}

const accepts = acceptsMathCandidate;

function rounding(c: SuiteCase): number {
  const vk = c.config.verify_kwargs;
  if (vk && typeof vk === 'object' && vk.float_rounding !== undefined) return vk.float_rounding;
  if (typeof c.config.precision === 'number') return c.config.precision;
  return Number(/float_rounding=(\d+)/.exec(c.config.helper ?? '')?.[1] ?? 6);
}

/** Our verdict for one suite case, with the extraction targets the upstream test configured. */
export function ourVerdict(c: SuiteCase): boolean {
  const cfg = c.config;
  const targets = cfg.extraction_config ?? [];
  let pred = c.pred ?? '';
  if (c.kind === 'parse_string') {
    const strings = /strings=\(([^)]*)\)/.exec(targets.join(' '))?.[1];
    const labels = strings ? [...strings.matchAll(/'([^']+)'/g)].map((m) => m[1]!) : undefined;
    const letter = extractChoiceLetter(pred, labels);
    const want = c.expected as string[];
    if (want.length === 0) return letter === null;
    return letter !== null && letter.toLowerCase() === want[0]!.toLowerCase();
  }
  if (targets.some((t) => t.startsWith('Indices'))) {
    const g = extractChoiceLetter(c.gold ?? '');
    const p = extractChoiceLetter(pred);
    return g !== null && p !== null && g === p;
  }
  if (c.kind === 'reward_with_reasoning') {
    const cut = pred.indexOf('</think>');
    if (cut === -1) return false;
    pred = pred.slice(cut + '</think>'.length);
  }
  const relTol = 1e-6;
  const floatRounding = rounding(c);
  if (targets.length === 0 && /sympy_expr_eq/.test(cfg.helper ?? '')) {
    return compareMath(sympySourceToText(pred), sympySourceToText(c.gold ?? ''), { relTol, floatRounding }).kind === 'equal';
  }
  if (targets.length === 0 && /is_equiv|math_equal/.test(cfg.helper ?? '')) {
    // Graders of already-extracted answers (hendrycks is_equiv, Qwen math_equal): a \boxed{} is unwrapped, nothing else extracted.
    const unbox = (s: string) => findLatexBoxed(s).pop() ?? s;
    return compareMath(unbox(pred), unbox(c.gold ?? ''), { relTol: 1e-4 }).kind === 'equal';
  }
  const latex = targets.length === 0 || targets.some((x) => x.startsWith('Latex'));
  const expr = targets.length === 0 || targets.some((x) => x.startsWith('Expr'));
  const g = extractFreeTextAnswer(c.gold ?? '', { latex, expr, accepts });
  const p = extractFreeTextAnswer(pred, { latex, expr, accepts });
  if (g === null || p === null) return false;
  const vk = cfg.verify_kwargs;
  const v = compareMath(p, g, {
    relTol,
    floatRounding,
    intervalMatchesRelation: vk && typeof vk === 'object' ? (vk.allow_set_relation_comp ?? false) : false,
  });
  return v.kind === 'equal';
}

/** A coarse answer class for per-class throughput, from the gold text. */
export function answerClass(c: SuiteCase): string {
  const g = c.gold ?? c.pred ?? '';
  if (c.kind === 'parse_string' || (c.config.extraction_config ?? []).some((t) => t.startsWith('Indices'))) return 'choice letter';
  if (/\\begin\{[pbv]?matrix\}/.test(g)) return 'matrix / vector';
  if (/\\(?:cup|cap|infty)|\\\{|\[[^\]]*,[^\]]*\)|\([^)]*,[^)]*\]/.test(g)) return 'set / interval';
  if (/[<>]|\\(?:le|ge|leq|geq|ne)(?![a-z])|=/.test(g)) return 'equation / relation';
  if (/\\(?:sqrt|pi|frac|log|sin|cos|tan|exp)|\^|[a-zA-Z]\s*[+\-*/]|\d[a-zA-Z]/.test(g)) return 'closed form / expression';
  if (/\d/.test(g)) return 'number';
  return 'text';
}

/** Math-Verify 0.8.0's own result recorded with the case (two field spellings across the files). */
export function refGot(c: SuiteCase): boolean | null {
  const r = c.ref_check?.math_verify_0_8_0_got ?? c.ref_check?.got;
  return r === undefined ? null : r;
}

/** Cases Math-Verify 0.8.0 has an extraction target for (it has no Indices target). */
export function peerCanRun(c: SuiteCase): boolean {
  return !(c.config.extraction_config ?? []).some((t) => t.startsWith('Indices'));
}
