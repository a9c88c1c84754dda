/**
 * The synchronous part of a verification: penalties, format gate, ground truth, and the domain's
 * deterministic comparison. It either decides, or names the question to put to the judges.
 * Being synchronous, it can run in a worker thread under a hard deadline (pool.ts).
 */
import { compareChart } from './chart.js';
import { compareChemistry } from './chemistry.js';
import { compareChoice, resolveChoices } from './choice.js';
import { compareCount } from './counting.js';
import { extractAnswer as runFormatGate, extractGroundTruth, firstGlmBox, stripReasoning, type Extraction } from './format.js';
import { extractFreeTextAnswer } from './free-text-answer.js';
import { groundingScore } from './grounding.js';
import { hedgeReason, methodOnlyReason } from './hedging.js';
import { extractAndroidAction, scoreAndroidAction } from './gui/android-world.js';
import { extractOsAction, parseOsAction, scoreOsAction } from './gui/osworld.js';
import { scoreWebAction } from './gui/webvoyager.js';
import type { JudgeRequest } from './judge.js';
import { acceptsMathCandidate, compareMath } from './math.js';
import { ocrSimilarity } from './ocr.js';
import { hasLanguageMixing, hasRepetition } from './penalties.js';
import { comparePhysics, SCIENCE_REL_TOL } from './physics.js';
import { compareQa } from './qa.js';
import { toWellFormed } from './text.js';
import { Deadline, TimeoutError } from './timeout.js';
import type { FormatMode, Verdict, VerifyDomain, VerifyRequest, VerifyResult } from './types.js';
import { UNDECIDED_PREFIX } from './types.js';

export { VERIFY_DOMAINS } from './domains.js';
import { VERIFY_DOMAINS } from './domains.js';

const GUI_DOMAINS = new Set<VerifyDomain>(['AndroidWorld', 'OSWorld', 'WebVoyager']);
const FREE_TEXT_DOMAINS = new Set<VerifyDomain>(['math', 'physics', 'chemistry', 'chart', 'counting']);
const MATH_DOMAINS = new Set<VerifyDomain>(['math', 'physics', 'chart', 'counting']);

/** Longest answer compared deterministically (a final answer, not an essay); OCR allows page-length text. */
export const MAX_ANSWER_CHARS = 4000;
export const MAX_OCR_CHARS = 10_000;

/** Format gate: pulls the answer out of a response (`glm`, `glm_think`, `lenient`, `none`). */
export function extractAnswer(response: string, format: FormatMode = 'glm'): Extraction {
  return runFormatGate(typeof response === 'string' ? toWellFormed(response) : response, format);
}

export function isVerifyDomain(d: unknown): d is VerifyDomain {
  return typeof d === 'string' && (VERIFY_DOMAINS as readonly string[]).includes(d);
}

export interface DeterministicOutcome {
  result: VerifyResult;
  /** Present when the deterministic path could not decide: the question to put to the judges. */
  judge?: JudgeRequest & { how: string };
}

interface ResultParts {
  score: number;
  extracted: string | null;
  reason: string;
  formatOk: boolean;
  needsJudge?: boolean;
  correct?: boolean;
}

export function makeResult(p: ResultParts): VerifyResult {
  const score = Number.isFinite(p.score) ? Math.min(1, Math.max(0, p.score)) : 0;
  const r: VerifyResult = {
    score,
    correct: p.correct ?? score >= 1 - 1e-9,
    extracted: p.extracted === null ? null : p.extracted.length > 2000 ? `${p.extracted.slice(0, 2000)}…` : p.extracted,
    reason: p.reason,
    formatOk: p.formatOk,
  };
  if (p.needsJudge) r.needsJudge = true;
  return r;
}

const done = (p: ResultParts): DeterministicOutcome => ({ result: makeResult(p) });

/**
 * Outcomes of a group of verifications by what decides them after the format gate: the extracted
 * answer and the request's other fields (domain, ground truth, question, choices, options), never
 * the response around the answer. The n rollouts of one question often give the same answer in
 * different words; with a memo each distinct answer is compared once. Undecided outcomes (timeout,
 * error) are never stored: they throw past it.
 */
export type AnswerMemo = Map<string, DeterministicOutcome>;

function answerKey(req: VerifyRequest, answer: string): string {
  const choices = req.choices?.length ? JSON.stringify(req.choices) : '';
  const options = req.options ? JSON.stringify(req.options) : '';
  return `${req.domain}\u0000${req.groundTruth}\u0000${req.question ?? ''}\u0000${choices}\u0000${options}\u0000${answer}`;
}

/** Runs the deterministic part with a cooperative deadline. Never throws. With a memo, an answer already compared in the group is not compared again. */
export function verifyDeterministic(req: VerifyRequest, budgetMs: number, memo?: AnswerMemo): DeterministicOutcome {
  const deadline = new Deadline(budgetMs);
  try {
    return deterministic(req, deadline, memo);
  } catch (err) {
    if (err instanceof TimeoutError) return done({ score: 0, extracted: null, reason: 'timeout', formatOk: false });
    return done({ score: 0, extracted: null, reason: `error: ${String(err instanceof Error ? err.message : err).slice(0, 200)}`, formatOk: false });
  }
}

function deterministic(req: VerifyRequest, deadline: Deadline, memo: AnswerMemo | undefined): DeterministicOutcome {
  if (!req || typeof req !== 'object') return done({ score: 0, extracted: null, reason: 'invalid request', formatOk: false });
  const { domain } = req;
  if (!isVerifyDomain(domain)) return done({ score: 0, extracted: null, reason: `unknown domain ${String(domain)}`, formatOk: false });
  if (typeof req.response !== 'string') return done({ score: 0, extracted: null, reason: 'response is not a string', formatOk: false });
  if (typeof req.groundTruth !== 'string' && domain !== 'language_mix') {
    return done({ score: 0, extracted: null, reason: 'ground truth is not a string', formatOk: false });
  }
  const response = toWellFormed(req.response);
  const groundTruth = typeof req.groundTruth === 'string' ? toWellFormed(req.groundTruth) : '';
  const opts = req.options ?? {};
  const question = typeof req.question === 'string' ? req.question.slice(0, 20_000) : undefined;

  if (domain === 'language_mix' && req.format && req.format !== 'none') {
    const gate = extractAnswer(response, req.format);
    if (!gate.ok) return done({ score: 0, extracted: null, reason: gate.reason, formatOk: false });
  }
  if (domain === 'language_mix' || opts.languageMixPenalty) {
    const mixed = hasLanguageMixing(response);
    if (domain === 'language_mix') {
      return done({ score: mixed ? 0 : 1, extracted: null, reason: mixed ? 'long Chinese and English paragraphs mixed' : 'no language mixing', formatOk: true });
    }
    if (mixed) return done({ score: 0, extracted: null, reason: 'penalty: language mixing', formatOk: true });
  }
  if (opts.repetitionPenalty && hasRepetition(response)) {
    return done({ score: 0, extracted: null, reason: 'penalty: repetitive response', formatOk: true });
  }
  deadline.check();

  if (GUI_DOMAINS.has(domain)) return { result: verifyGui(domain, response, groundTruth, req.format) };

  const format = req.format ?? 'glm';
  let gate = extractAnswer(response, format);
  if ((!gate.ok || gate.answer === null) && format === 'lenient' && FREE_TEXT_DOMAINS.has(domain)) {
    // Other model families often end with a formula and no marker: take the last formula or number.
    const text = stripReasoning(response);
    const free = extractFreeTextAnswer(text, { latex: true, expr: true, accepts: acceptsMathCandidate });
    if (free !== null) gate = { ok: true, answer: free, reason: 'ok: last formula' };
  }
  if (!gate.ok || gate.answer === null) return done({ score: 0, extracted: null, reason: gate.reason, formatOk: false });
  const answer = gate.answer;
  if (!memo) return compareAnswer(domain, answer, groundTruth, question, req, deadline);
  const key = answerKey(req, answer);
  const known = memo.get(key);
  if (known) return { ...known, result: { ...known.result } };
  const outcome = compareAnswer(domain, answer, groundTruth, question, req, deadline);
  memo.set(key, outcome);
  return outcome;
}

/** Everything after the format gate: a function of the answer and the request's fields other than the response. */
function compareAnswer(domain: VerifyDomain, answer: string, groundTruth: string, question: string | undefined, req: VerifyRequest, deadline: Deadline): DeterministicOutcome {
  const opts = req.options ?? {};
  const gold = extractGroundTruth(groundTruth);
  if (gold.length === 0 && domain !== 'geoguess') return done({ score: 0, extracted: answer, reason: 'empty ground truth', formatOk: true });
  deadline.check();

  if (domain === 'ocr' || domain === 'ocr_ignore_case') {
    if (answer.length > MAX_OCR_CHARS || gold.length > MAX_OCR_CHARS) return done({ score: 0, extracted: null, reason: 'text too long', formatOk: true });
    // GLM's OCR tests score "AFSDF" against "afsdf" as 1: case is ignored unless asked otherwise.
    const sim = ocrSimilarity(answer, gold, opts.ignoreCase ?? true);
    return done({ score: sim, extracted: answer, reason: `edit similarity ${sim.toFixed(4)}`, formatOk: true });
  }
  if (answer.length > MAX_ANSWER_CHARS) {
    return done({ score: 0, extracted: answer.slice(0, 200), reason: `answer too long (${answer.length} characters)`, formatOk: true });
  }
  if (domain === 'grounding') {
    const g = groundingScore(answer, gold, opts.iouThreshold);
    return done({ score: g.score, extracted: answer, reason: g.reason, formatOk: true });
  }
  if (domain === 'geoguess' && [...answer].length > 50) {
    return done({ score: 0, extracted: answer, reason: 'answer longer than 50 characters', formatOk: true });
  }

  // Hedges and method descriptions never score, whichever domain (and never reach a judge).
  const refusal = domain === 'geoguess' ? null : hedgeReason(answer, gold) ?? (MATH_DOMAINS.has(domain) ? methodOnlyReason(answer, gold) : null);
  if (refusal && !(domain === 'chemistry' && /等|或|\bor\b/.test(gold))) return done({ score: 0, extracted: answer, reason: refusal, formatOk: true });

  const verdict = decide(domain, answer, gold.slice(0, MAX_ANSWER_CHARS), req, deadline);
  deadline.check();
  if (verdict.kind !== 'unknown') {
    const score = verdict.score ?? (verdict.kind === 'equal' ? 1 : 0);
    return done({ score, extracted: answer, reason: verdict.how, formatOk: true });
  }
  const context = req.choices?.length
    ? `Options: ${req.choices.map((c, i) => `(${String.fromCharCode(65 + i)}) ${c}`).join(' ')}`
    : opts.judgeContext;
  return {
    result: makeResult({ score: 0, extracted: answer, reason: `${UNDECIDED_PREFIX} needs judge (${verdict.how}); none configured`, formatOk: true, needsJudge: true }),
    judge: { domain, question: question ?? '', response: answer, groundTruth: gold, ...(context ? { context } : {}), how: verdict.how },
  };
}

/** The deterministic comparison of a domain. */
function decide(domain: VerifyDomain, answer: string, gold: string, req: VerifyRequest, deadline: Deadline): Verdict {
  const opts = req.options ?? {};
  const question = req.question;
  switch (domain) {
    case 'math':
      return compareMath(answer, gold, {
        relTol: opts.relTol ?? 1e-6,
        floatRounding: opts.floatRounding,
        exactWhenExact: opts.exactWhenExact ?? true,
        intervalMatchesRelation: opts.intervalMatchesRelation,
        ordered: opts.ordered,
        question,
        choices: req.choices,
        deadline,
      });
    case 'physics':
      return comparePhysics(answer, gold, { question, relTol: opts.relTol ?? SCIENCE_REL_TOL, deadline });
    case 'chemistry':
      return compareChemistry(answer, gold, { question, relTol: opts.relTol ?? SCIENCE_REL_TOL, deadline });
    case 'chart':
      return compareChart(answer, gold, question, deadline);
    case 'counting':
      return compareCount(answer, gold);
    case 'multiple_choice': {
      const choices = resolveChoices(question, req.choices) ?? {
        labels: 'ABCDEFGH'.split(''),
        texts: 'ABCDEFGH'.split('').map(() => '\u0000'),
      };
      return compareChoice(answer, gold, choices, opts.multipleAnswers ?? false);
    }
    case 'geoguess':
      return { kind: 'unknown', how: 'place guess' };
    default:
      return compareQa(answer, gold, { question, choices: req.choices, relTol: opts.relTol, deadline });
  }
}

function verifyGui(domain: VerifyDomain, response: string, groundTruth: string, format: FormatMode | undefined): VerifyResult {
  if (domain === 'AndroidWorld') {
    const pred = extractAndroidAction(response);
    const gold = extractAndroidAction(groundTruth.includes('<|begin_of_box|>') ? groundTruth : `<|begin_of_box|>${groundTruth}<|end_of_box|>`);
    const s = scoreAndroidAction(pred, gold);
    return makeResult({ score: s.score, extracted: pred ? JSON.stringify(pred) : null, reason: s.reason, formatOk: pred !== null });
  }
  if (domain === 'OSWorld') {
    const pred = extractOsAction(response);
    const gold = groundTruth.includes('<|begin_of_box|>') ? extractOsAction(groundTruth) : parseOsAction(groundTruth.trim());
    const s = scoreOsAction(pred, gold);
    return makeResult({ score: s.score, extracted: pred ? JSON.stringify(pred) : null, reason: s.reason, formatOk: pred !== null });
  }
  const box = firstGlmBox(response);
  if (box === null && format !== 'none') return makeResult({ score: 0, extracted: null, reason: 'format: no action box', formatOk: false });
  const pred = box ?? response;
  const s = scoreWebAction(pred, firstGlmBox(groundTruth) ?? groundTruth);
  return makeResult({ score: s.score, extracted: pred, reason: s.reason, formatOk: true });
}
