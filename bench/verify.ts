/**
 * Verifier bench over ../shared/verifier-cases (skipped when absent):
 * - glmv_reward_cases.jsonl: agreement with `expected` (expected_op / constraints) for active cases
 *   that need no LLM judge; judge-needing cases reported separately (decided by the deterministic
 *   path where it can, the rest would go to the judge);
 * - math_verify_cases.jsonl: accuracy against `expected` with Math-Verify's extraction settings;
 * - throughput in verifications per second per core, by domain.
 *
 * Run: pnpm exec tsx bench/verify.ts   (or: pnpm bench verify)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearParseCache, warmUpCas } from '../pipelines/verify/cas.js';
import { extractFreeTextAnswer } from '../pipelines/verify/free-text-answer.js';
import { extractAnswer, verify, type FormatMode, type VerifyDomain, type VerifyRequest } from '../pipelines/verify/index.js';
import { compareMath, mathText, toMathJson } from '../pipelines/verify/math.js';
import { parseNumber } from '../pipelines/verify/numbers.js';

const here = dirname(fileURLToPath(import.meta.url));
const CASES_DIR = process.env.STRATUM_VERIFIER_CASES ?? resolve(here, '..', '..', 'shared', 'verifier-cases');

type Constraint = [string, unknown];
interface GlmCase {
  case_id: string;
  domain: string;
  kind: 'extract_answer' | 'judge' | 'extract_then_judge' | 'get_reward';
  response: unknown;
  ground_truth: unknown;
  question: string | null;
  expected: unknown;
  expected_op: string;
  constraints: Constraint[];
  active: boolean;
  needs_llm: boolean;
  reference_result: unknown;
}

interface MvCase {
  id: string;
  gold: string;
  pred: string;
  expected: boolean;
  config: { extraction_config?: string[]; verify_kwargs?: { float_rounding?: number; allow_set_relation_comp?: boolean }; helper?: string };
}

/** The upstream extraction each GLM verifier applies (answer tags required or not). */
const GLM_EXTRACTION: Record<string, FormatMode> = {
  math: 'glm',
  physics: 'glm',
  chemistry: 'glm',
  vqa: 'glm',
  chart: 'glm_think',
  counting: 'glm_think',
  multi_image: 'glm_think',
  mmsi: 'glm_think',
  ocr: 'glm_think',
  geoguess: 'glm_think',
  general: 'glm_think',
};

interface CaseOutcome {
  value: unknown;
  needsJudge: boolean;
}

async function runGlmCase(c: GlmCase): Promise<CaseOutcome> {
  const domain = c.domain as VerifyDomain;
  if (c.kind === 'extract_answer') {
    if (typeof c.response !== 'string') return { value: null, needsJudge: false };
    const e = extractAnswer(c.response, GLM_EXTRACTION[c.domain] ?? 'glm');
    return { value: e.ok ? e.answer : null, needsJudge: false };
  }
  const req: VerifyRequest = {
    domain,
    response: c.response as string,
    groundTruth: c.ground_truth as string,
    question: c.question ?? undefined,
    format: c.kind === 'judge' ? 'none' : c.kind === 'get_reward' ? 'glm' : undefined,
  };
  const r = await verify(req);
  return { value: r.score, needsJudge: r.needsJudge === true };
}

function holds(op: string, actual: unknown, target: unknown): boolean {
  if (op === 'is') return actual === target || (actual === undefined && target === null);
  if (typeof target === 'number' && typeof actual === 'number') {
    switch (op) {
      case '==': return Math.abs(actual - target) < 1e-9;
      case '>': return actual > target;
      case '<': return actual < target;
      case '>=': return actual >= target - 1e-12;
      case '<=': return actual <= target + 1e-12;
    }
  }
  if (op === '==') return actual === target;
  return false;
}

function constraintsHold(c: GlmCase, outcomes: Map<string, CaseOutcome>): boolean {
  const actual = outcomes.get(c.case_id)!.value;
  for (const [op, raw] of c.constraints) {
    let target = raw;
    if (raw && typeof raw === 'object' && 'ref_case_id' in raw) {
      const ref = outcomes.get((raw as { ref_case_id: string }).ref_case_id);
      if (!ref) return false;
      target = ref.value;
    }
    if (!holds(op, actual, target)) return false;
  }
  return true;
}

function fmt(n: number, d = 1): string {
  return n.toFixed(d);
}

async function benchGlm(cases: GlmCase[]): Promise<{ perDomain: Map<string, VerifyRequest[]> }> {
  const outcomes = new Map<string, CaseOutcome>();
  for (const c of cases) outcomes.set(c.case_id, await runGlmCase(c));
  const active = cases.filter((c) => c.active);
  const deterministic = active.filter((c) => !c.needs_llm);
  const judgeCases = active.filter((c) => c.needs_llm);
  const disagreements = deterministic.filter((c) => !constraintsHold(c, outcomes));
  const byDomain = new Map<string, [number, number]>();
  for (const c of deterministic) {
    const [ok, n] = byDomain.get(c.domain) ?? [0, 0];
    byDomain.set(c.domain, [ok + (constraintsHold(c, outcomes) ? 1 : 0), n + 1]);
  }
  const out = process.stdout;
  out.write(`glmv_reward_cases.jsonl: ${cases.length} rows, ${active.length} active\n`);
  out.write(
    `  deterministic (active, no LLM judge): ${deterministic.length - disagreements.length}/${deterministic.length} agree with expected\n`,
  );
  out.write(`    by domain: ${[...byDomain].map(([d, [ok, n]]) => `${d} ${ok}/${n}`).join(', ')}\n`);
  for (const c of disagreements) {
    out.write(`    DISAGREE ${c.case_id}: got ${JSON.stringify(outcomes.get(c.case_id)!.value)}, constraints ${JSON.stringify(c.constraints)}\n`);
  }
  const vacuous = deterministic.filter((c) => c.constraints.length === 0);
  if (vacuous.length) {
    const sameAsRef = vacuous.filter((c) => typeof c.reference_result === 'number' && holds('==', outcomes.get(c.case_id)!.value, c.reference_result)).length;
    out.write(`    (${vacuous.length} of them assert nothing upstream; ${sameAsRef}/${vacuous.length} equal the upstream reference result)\n`);
  }

  const decided = judgeCases.filter((c) => !outcomes.get(c.case_id)!.needsJudge);
  const decidedAgree = decided.filter((c) => constraintsHold(c, outcomes));
  const undecided = judgeCases.length - decided.length;
  out.write(
    `  judge-needing upstream (active): ${judgeCases.length}; decided without a judge: ${decided.length} ` +
      `(${decidedAgree.length} agree with expected, ${decided.length - decidedAgree.length} disagree); left for the judge: ${undecided}\n`,
  );
  const jd = new Map<string, [number, number, number]>();
  for (const c of judgeCases) {
    const o = outcomes.get(c.case_id)!;
    const [d, a, n] = jd.get(c.domain) ?? [0, 0, 0];
    jd.set(c.domain, [d + (o.needsJudge ? 0 : 1), a + (!o.needsJudge && constraintsHold(c, outcomes) ? 1 : 0), n + 1]);
  }
  out.write(`    by domain (decided/agree/total): ${[...jd].map(([k, [d, a, n]]) => `${k} ${d}/${a}/${n}`).join(', ')}\n`);
  for (const c of decided.filter((x) => !constraintsHold(x, outcomes))) {
    out.write(`    DECIDED-DISAGREE ${c.case_id}: ${JSON.stringify(c.response)} vs ${JSON.stringify(c.ground_truth)} → ${JSON.stringify(outcomes.get(c.case_id)!.value)} (expected ${JSON.stringify(c.expected)})\n`);
  }
  const inactive = cases.filter((c) => !c.active);
  const inactiveDecided = inactive.filter((c) => !outcomes.get(c.case_id)!.needsJudge);
  const inactiveAgree = inactiveDecided.filter((c) => constraintsHold(c, outcomes)).length;
  out.write(`  inactive upstream (informative): ${inactive.length}; decided ${inactiveDecided.length}, of which ${inactiveAgree} agree\n`);

  const perDomain = new Map<string, VerifyRequest[]>();
  for (const c of active) {
    if (c.kind === 'extract_answer' || typeof c.response !== 'string' || typeof c.ground_truth !== 'string') continue;
    const list = perDomain.get(c.domain) ?? [];
    list.push({ domain: c.domain as VerifyDomain, response: c.response, groundTruth: c.ground_truth, question: c.question ?? undefined, format: c.kind === 'judge' ? 'none' : undefined });
    perDomain.set(c.domain, list);
  }
  return { perDomain };
}

function sympySourceToText(s: string): string {
  return s.replace(/Rational\((-?\d+),\s*(-?\d+)\)/g, '($1/$2)').replace(/Float\(([^)]+)\)/g, '$1').replace(/Integer\((-?\d+)\)/g, '$1');
}

function accepts(candidate: string): boolean {
  if (parseNumber(candidate)) return true;
  return toMathJson(mathText(candidate, true)) !== null;
}

export function mathVerifyCompare(c: MvCase): boolean {
  const cfg = c.config;
  const rounding = cfg.verify_kwargs?.float_rounding ?? Number(/float_rounding=(\d+)/.exec(cfg.helper ?? '')?.[1] ?? 6);
  if (!cfg.extraction_config) {
    const v = compareMath(sympySourceToText(c.pred), sympySourceToText(c.gold), { relTol: 1e-6, floatRounding: rounding });
    return v.kind === 'equal';
  }
  const latex = cfg.extraction_config.some((x) => x.startsWith('Latex'));
  const expr = cfg.extraction_config.some((x) => x.startsWith('Expr'));
  const g = extractFreeTextAnswer(c.gold, { latex, expr, accepts });
  const p = extractFreeTextAnswer(c.pred, { latex, expr, accepts });
  if (g === null || p === null) return false;
  const v = compareMath(p, g, {
    relTol: 1e-6,
    floatRounding: rounding,
    intervalMatchesRelation: cfg.verify_kwargs?.allow_set_relation_comp ?? false,
  });
  return v.kind === 'equal';
}

function benchMathVerify(cases: MvCase[]): void {
  let agree = 0;
  const misses: string[] = [];
  for (const c of cases) {
    const got = mathVerifyCompare(c);
    if (got === c.expected) agree++;
    else misses.push(`    DISAGREE ${c.id}: expected ${c.expected}, got ${got} | gold ${JSON.stringify(c.gold.slice(-80))} | pred ${JSON.stringify(c.pred.slice(-80))}`);
  }
  process.stdout.write(`math_verify_cases.jsonl: ${agree}/${cases.length} agree (${fmt((100 * agree) / cases.length)}%, target ≥ 97%)\n`);
  for (const m of misses) process.stdout.write(m + '\n');
}

function syntheticRequests(): Map<string, VerifyRequest[]> {
  const m = new Map<string, VerifyRequest[]>();
  const box = (s: string) => `<think>reasoning</think><answer><|begin_of_box|>${s}<|end_of_box|></answer>`;
  m.set('grounding', [
    { domain: 'grounding', response: box('[[100,120,300,400]]'), groundTruth: '[[110,118,305,390]]' },
    { domain: 'grounding', response: box('[[1,2,50,60],[500,500,700,800]]'), groundTruth: '[[502,498,698,805],[0,0,52,61]]' },
  ]);
  m.set('multiple_choice', [
    { domain: 'multiple_choice', response: box('B'), groundTruth: 'B', choices: ['3', '4', '5'] },
    { domain: 'multiple_choice', response: box('A, C'), groundTruth: 'AC', choices: ['x', 'y', 'z'], options: { multipleAnswers: true } },
  ]);
  m.set('math (GLM format, LaTeX)', [
    { domain: 'math', response: box('\\frac{3}{2}'), groundTruth: '<|begin_of_box|>1.5<|end_of_box|>' },
    { domain: 'math', response: box('x \\in (-\\infty, 4]'), groundTruth: 'x \\le 4' },
    { domain: 'math', response: box('\\{1, 2, 3\\}'), groundTruth: '\\{3,2,1\\}' },
    { domain: 'math', response: box('2\\sqrt{2}'), groundTruth: '\\sqrt{8}' },
  ]);
  return m;
}

function rate(n: number, ms: number): string {
  const perSec = (n / ms) * 1000;
  return perSec >= 1000 ? String(Math.round(perSec)) : fmt(perSec);
}

/** Verifications per second: cold (CAS parse cache emptied before every pass) and warm (cache kept, as within a rollout group). */
async function throughput(label: string, reqs: VerifyRequest[], minMs = 400): Promise<string> {
  if (reqs.length === 0) return '';
  for (const r of reqs) await verify(r);
  const measure = async (cold: boolean) => {
    let n = 0;
    let busy = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < minMs) {
      if (cold) clearParseCache();
      const t = performance.now();
      for (const r of reqs) {
        await verify(r);
        n++;
      }
      busy += performance.now() - t;
    }
    return rate(n, busy);
  };
  return `${label.padEnd(34)} cold ${(await measure(true)).padStart(8)}   warm ${(await measure(false)).padStart(8)}`;
}

export async function benchVerify(): Promise<void> {
  const glmPath = join(CASES_DIR, 'glmv_reward_cases.jsonl');
  const mvPath = join(CASES_DIR, 'math_verify_cases.jsonl');
  if (!existsSync(glmPath) && !existsSync(mvPath)) {
    process.stdout.write(`verifier cases not found at ${CASES_DIR}; skipping\n`);
    return;
  }
  const t0 = performance.now();
  warmUpCas();
  let perDomain = new Map<string, VerifyRequest[]>();
  if (existsSync(glmPath)) {
    const cases = readFileSync(glmPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as GlmCase);
    perDomain = (await benchGlm(cases)).perDomain;
  }
  let mvCases: MvCase[] = [];
  if (existsSync(mvPath)) {
    mvCases = readFileSync(mvPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as MvCase);
    benchMathVerify(mvCases);
  }
  const lines: string[] = [];
  for (const [d, reqs] of [...perDomain, ...syntheticRequests()]) lines.push(await throughput(d, reqs));
  if (mvCases.length) {
    const measure = (cold: boolean) => {
      let n = 0;
      let busy = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 400) {
        if (cold) clearParseCache();
        const t = performance.now();
        for (const c of mvCases) {
          mathVerifyCompare(c);
          n++;
        }
        busy += performance.now() - t;
      }
      return rate(n, busy);
    };
    lines.push(`${'math (free text, Math-Verify cases)'.padEnd(34)} cold ${measure(true).padStart(8)}   warm ${measure(false).padStart(8)}`);
  }
  process.stdout.write(`throughput, verifications/s on one core (single thread, no judge calls):\n  ${lines.filter(Boolean).join('\n  ')}\n`);
  process.stdout.write(`bench time ${fmt((performance.now() - t0) / 1000, 1)} s\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchVerify();
}
