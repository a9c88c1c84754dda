/**
 * Verifier (reward) library: GLM-4.1V reward semantics for every RL domain.
 *
 *   const r = await verify({ domain: 'math', response, groundTruth: '<|begin_of_box|>42<|end_of_box|>' });
 *   r.score  // in [0, 1]
 *
 * A verification runs: penalties (optional) → format gate → ground-truth extraction → the domain's
 * deterministic comparison → the LLM judge when that cannot decide (if judges are configured).
 */
import { compareChart } from './chart.js';
import { compareChemistry } from './chemistry.js';
import { compareChoice, resolveChoices } from './choice.js';
import { compareCount } from './counting.js';
import { extractAnswer as runFormatGate, extractGroundTruth, type Extraction } from './format.js';
import { groundingScore } from './grounding.js';
import { extractAndroidAction, scoreAndroidAction } from './gui/android-world.js';
import { extractOsAction, parseOsAction, scoreOsAction } from './gui/osworld.js';
import { scoreWebAction } from './gui/webvoyager.js';
import { runJudges, type JudgeCache } from './judge.js';
import { compareMath } from './math.js';
import { ocrSimilarity } from './ocr.js';
import { hasLanguageMixing, hasRepetition } from './penalties.js';
import { comparePhysics, SCIENCE_REL_TOL } from './physics.js';
import { compareQa } from './qa.js';
import { toWellFormed } from './text.js';
import { Deadline, TimeoutError, withTimeout } from './timeout.js';
import type { FormatMode, Verdict, VerifyContext, VerifyDomain, VerifyRequest, VerifyResult } from './types.js';

export type { FormatMode, JudgeEndpoint, Verdict, VerifyContext, VerifyDomain, VerifyOptions, VerifyRequest, VerifyResult } from './types.js';
export { JudgeCache, defaultJudgeCache, parseBinaryVerdict, runJudges } from './judge.js';
export { extractGroundTruth } from './format.js';

export const VERIFY_DOMAINS: readonly VerifyDomain[] = [
  'math', 'physics', 'chemistry', 'chart', 'counting', 'multiple_choice', 'ocr', 'ocr_ignore_case', 'grounding',
  'AndroidWorld', 'OSWorld', 'WebVoyager', 'vqa', 'general', 'multi_image', 'spatial', 'mmsi', 'geoguess', 'language_mix',
];

const GUI_DOMAINS = new Set<VerifyDomain>(['AndroidWorld', 'OSWorld', 'WebVoyager']);

export const DEFAULT_TIME_BUDGET_MS = 10_000;

/** Format gate: pulls the answer out of a response (`glm`, `glm_think`, `lenient`, `none`). */
export function extractAnswer(response: string, format: FormatMode = 'glm'): Extraction {
  return runFormatGate(typeof response === 'string' ? toWellFormed(response) : response, format);
}

export function isVerifyDomain(d: unknown): d is VerifyDomain {
  return typeof d === 'string' && (VERIFY_DOMAINS as readonly string[]).includes(d);
}

interface ResultParts {
  score: number;
  extracted: string | null;
  reason: string;
  formatOk: boolean;
  needsJudge?: boolean;
  correct?: boolean;
}

function result(p: ResultParts): VerifyResult {
  const score = Number.isFinite(p.score) ? Math.min(1, Math.max(0, p.score)) : 0;
  const r: VerifyResult = {
    score,
    correct: p.correct ?? score >= 1 - 1e-9,
    extracted: p.extracted,
    reason: p.reason,
    formatOk: p.formatOk,
  };
  if (p.needsJudge) r.needsJudge = true;
  return r;
}

export interface VerifyContextInternal extends VerifyContext {
  judgeCache?: JudgeCache;
}

/** Verifies one response against its ground truth. Never throws; bad input scores 0 with a reason. */
export async function verify(req: VerifyRequest, ctx: VerifyContextInternal = {}): Promise<VerifyResult> {
  const deadline = new Deadline(ctx.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS);
  try {
    return await verifyInner(req, ctx, deadline);
  } catch (err) {
    if (err instanceof TimeoutError) return result({ score: 0, extracted: null, reason: 'timeout', formatOk: false });
    return result({ score: 0, extracted: null, reason: `error: ${String(err instanceof Error ? err.message : err).slice(0, 200)}`, formatOk: false });
  }
}

async function verifyInner(req: VerifyRequest, ctx: VerifyContextInternal, deadline: Deadline): Promise<VerifyResult> {
  if (!req || typeof req !== 'object') return result({ score: 0, extracted: null, reason: 'invalid request', formatOk: false });
  const { domain } = req;
  if (!isVerifyDomain(domain)) return result({ score: 0, extracted: null, reason: `unknown domain ${String(domain)}`, formatOk: false });
  if (typeof req.response !== 'string') return result({ score: 0, extracted: null, reason: 'response is not a string', formatOk: false });
  if (typeof req.groundTruth !== 'string' && domain !== 'language_mix') {
    return result({ score: 0, extracted: null, reason: 'ground truth is not a string', formatOk: false });
  }
  const response = toWellFormed(req.response);
  const groundTruth = typeof req.groundTruth === 'string' ? toWellFormed(req.groundTruth) : '';
  const opts = req.options ?? {};
  const question = typeof req.question === 'string' ? req.question : undefined;

  if (domain === 'language_mix' && req.format && req.format !== 'none') {
    const gate = extractAnswer(response, req.format);
    if (!gate.ok) return result({ score: 0, extracted: null, reason: gate.reason, formatOk: false });
  }
  if (domain === 'language_mix' || opts.languageMixPenalty) {
    const mixed = hasLanguageMixing(response);
    if (domain === 'language_mix') {
      return result({ score: mixed ? 0 : 1, extracted: null, reason: mixed ? 'long Chinese and English paragraphs mixed' : 'no language mixing', formatOk: true });
    }
    if (mixed) return result({ score: 0, extracted: null, reason: 'penalty: language mixing', formatOk: true });
  }
  if (opts.repetitionPenalty && hasRepetition(response)) {
    return result({ score: 0, extracted: null, reason: 'penalty: repetitive response', formatOk: true });
  }

  if (GUI_DOMAINS.has(domain)) return verifyGui(domain, response, groundTruth, req.format);

  const format = req.format ?? 'glm';
  const gate = extractAnswer(response, format);
  if (!gate.ok || gate.answer === null) return result({ score: 0, extracted: null, reason: gate.reason, formatOk: false });
  const answer = gate.answer;
  const gold = extractGroundTruth(groundTruth);
  if (gold.length === 0 && domain !== 'geoguess') return result({ score: 0, extracted: answer, reason: 'empty ground truth', formatOk: true });
  deadline.check();

  if (domain === 'ocr' || domain === 'ocr_ignore_case') {
    // GLM's OCR tests score "AFSDF" against "afsdf" as 1: case is ignored unless asked otherwise.
    const sim = ocrSimilarity(answer, gold, opts.ignoreCase ?? true);
    return result({ score: sim, extracted: answer, reason: `edit similarity ${sim.toFixed(4)}`, formatOk: true });
  }
  if (domain === 'grounding') {
    const g = groundingScore(answer, gold, opts.iouThreshold);
    return result({ score: g.score, extracted: answer, reason: g.reason, formatOk: true });
  }
  if (domain === 'geoguess' && [...answer].length > 50) {
    return result({ score: 0, extracted: answer, reason: 'answer longer than 50 characters', formatOk: true });
  }

  const verdict = decide(domain, answer, gold, req, deadline);
  deadline.check();
  if (verdict.kind !== 'unknown') {
    const score = verdict.score ?? (verdict.kind === 'equal' ? 1 : 0);
    return result({ score, extracted: answer, reason: verdict.how, formatOk: true });
  }

  const judges = ctx.judges ?? [];
  if (judges.length === 0 || opts.useJudge === false) {
    return result({ score: 0, extracted: answer, reason: `needs judge (${verdict.how}); none configured`, formatOk: true, needsJudge: true });
  }
  const context = req.choices?.length
    ? `Options: ${req.choices.map((c, i) => `(${String.fromCharCode(65 + i)}) ${c}`).join(' ')}`
    : opts.judgeContext;
  const decision = await withTimeout(
    runJudges({ domain, question: question ?? '', response: answer, groundTruth: gold, context: context ?? undefined }, judges, ctx.judgeCache),
    Math.max(0, deadline.remaining()),
  );
  return result({ score: decision.score, correct: decision.correct, extracted: answer, reason: `${verdict.how}; ${decision.reason}`, formatOk: true });
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
    return result({ score: s.score, extracted: pred ? JSON.stringify(pred) : null, reason: s.reason, formatOk: pred !== null });
  }
  if (domain === 'OSWorld') {
    const pred = extractOsAction(response);
    const gold = groundTruth.includes('<|begin_of_box|>') ? extractOsAction(groundTruth) : parseOsAction(groundTruth.trim());
    const s = scoreOsAction(pred, gold);
    return result({ score: s.score, extracted: pred ? JSON.stringify(pred) : null, reason: s.reason, formatOk: pred !== null });
  }
  const box = /<\|begin_of_box\|>([\s\S]*?)<\|end_of_box\|>/.exec(response);
  if (!box && format !== 'none') return result({ score: 0, extracted: null, reason: 'format: no action box', formatOk: false });
  const pred = box ? box[1]! : response;
  const goldBox = /<\|begin_of_box\|>([\s\S]*?)<\|end_of_box\|>/.exec(groundTruth);
  const s = scoreWebAction(pred, goldBox ? goldBox[1]! : groundTruth);
  return result({ score: s.score, extracted: pred, reason: s.reason, formatOk: true });
}

/** Verifies a group of responses (e.g. one rollout group); judge calls run concurrently. */
export async function verifyBatch(reqs: VerifyRequest[], ctx: VerifyContextInternal = {}): Promise<VerifyResult[]> {
  return Promise.all(reqs.map((r) => verify(r, ctx)));
}
