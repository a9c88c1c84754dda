/**
 * Verifier bench over ../shared/verifier-cases (skipped when absent):
 * - glmv_reward_cases.jsonl: agreement with `expected` (expected_op / constraints) for active cases
 *   that need no LLM judge; judge-needing cases reported separately (decided by the deterministic
 *   path where it can, the rest would go to the judge);
 * - the three math-equivalence suites (math_verify_cases, and the held-out math_verify_more_cases and
 *   other_math_equiv_cases, split into development / evaluation halves): agreement with the labels
 *   next to Math-Verify 0.8.0's recorded result and, when installed (bench/peers/setup-math-verify.sh),
 *   Math-Verify run in the same session; CPU-time throughput of both per answer class;
 * - throughput in verifications per second per core, by domain.
 *
 * Run: pnpm exec tsx bench/verify.ts   (or: pnpm bench verify)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearParseCache, warmUpCas } from '../pipelines/verify/cas.js';
import { extractAnswer, verify, type FormatMode, type VerifyDomain, type VerifyRequest } from '../pipelines/verify/index.js';
import { mathVerifyPath, runMathVerify } from './_math-verify-peer.js';
import { answerClass, HELD_OUT, labelOf, loadSuite, ourVerdict, peerCanRun, refGot, splitOf, SUITES, type SuiteCase } from './_verify-suites.js';

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

interface SuiteScore {
  file: string;
  cases: SuiteCase[];
}

function pct(a: number, n: number): string {
  return n === 0 ? '—' : `${fmt((100 * a) / n)}%`;
}

/**
 * Agreement with each suite's labels, next to Math-Verify 0.8.0's own result recorded in the file
 * (`ref_check`) and, when the peer is installed, Math-Verify run now on the same cases; then CPU
 * time per verification of both (ours cold: the CAS parse cache emptied before every pass).
 */
function benchSuites(suites: SuiteScore[]): string[] {
  const out = process.stdout;
  const peerPath = mathVerifyPath();
  const throughputLines: string[] = [];
  for (const { file, cases } of suites) {
    const labelled = cases.filter((c) => labelOf(c) !== null);
    const verdicts = new Map(labelled.map((c) => [c.id, ourVerdict(c)]));
    const score = (subset: SuiteCase[], got: (c: SuiteCase) => boolean | null | undefined) =>
      subset.filter((c) => got(c) === labelOf(c)).length;
    const held = HELD_OUT.has(file);
    const parts = held ? (['dev', 'eval'] as const).map((s) => [s, labelled.filter((c) => splitOf(c.id) === s)] as const) : [];
    let peer: ReturnType<typeof runMathVerify> | null = null;
    if (peerPath) peer = runMathVerify(cases.filter(peerCanRun), peerPath);
    const peerGot = (c: SuiteCase) => (peer && typeof peer !== 'string' ? peer.got.get(c.id) : undefined);
    const ours = score(labelled, (c) => verdicts.get(c.id));
    const ref = score(labelled, refGot);
    let line = `${file}: ${labelled.length} labelled cases; Stratum ${ours}/${labelled.length} (${pct(ours, labelled.length)}), Math-Verify 0.8.0 ref_check ${ref}/${labelled.length} (${pct(ref, labelled.length)})`;
    if (peer && typeof peer !== 'string') {
      const live = score(labelled, peerGot);
      line += `, Math-Verify run now ${live}/${labelled.length} (${pct(live, labelled.length)})`;
    }
    out.write(line + '\n');
    for (const [name, subset] of parts) {
      const o = score(subset, (c) => verdicts.get(c.id));
      const r = score(subset, refGot);
      out.write(`  ${name} split (${subset.length}): Stratum ${o} (${pct(o, subset.length)}), Math-Verify ref_check ${r} (${pct(r, subset.length)})\n`);
    }
    if (typeof peer === 'string') out.write(`  ${peer}\n`);
    // Disagreements are listed for the development material only; the evaluation split is never listed.
    const listed = labelled.filter((c) => (!held || splitOf(c.id) === 'dev' || process.env.STRATUM_BENCH_LIST_EVAL === '1') && verdicts.get(c.id) !== labelOf(c));
    if (!held || process.env.STRATUM_BENCH_LIST_DEV === '1') {
      for (const c of listed) {
        out.write(`    DISAGREE ${c.id}: expected ${labelOf(c)}, got ${verdicts.get(c.id)} | gold ${JSON.stringify((c.gold ?? '').slice(-80))} | pred ${JSON.stringify((c.pred ?? '').slice(-80))}\n`);
      }
    } else if (listed.length) out.write(`    (${listed.length} dev-split disagreements; STRATUM_BENCH_LIST_DEV=1 lists them)\n`);

    // Throughput per answer class: our CPU time per verification, cold, against the peer's.
    const byClass = new Map<string, SuiteCase[]>();
    for (const c of cases) byClass.set(answerClass(c), [...(byClass.get(answerClass(c)) ?? []), c]);
    const peerPerClass = new Map<string, number>();
    if (peer && typeof peer !== 'string' && peerPath) {
      for (const [cls, list] of byClass) {
        if (!list.some(peerCanRun)) continue;
        const r = runMathVerify(list.filter(peerCanRun), peerPath);
        if (typeof r !== 'string') peerPerClass.set(cls, r.n / r.cpuSeconds);
      }
    }
    const rows: string[] = [];
    for (const [cls, list] of [['all', cases] as const, ...[...byClass].sort()]) {
      const mine = cpuRate(list);
      const theirs = cls === 'all' ? (peer && typeof peer !== 'string' ? peer.n / peer.cpuSeconds : Number.NaN) : (peerPerClass.get(cls) ?? Number.NaN);
      const ratio = Number.isFinite(theirs) ? `  ×${fmt(mine / theirs, 0)} Math-Verify (${rateText(theirs)}/CPU-s)` : '';
      rows.push(`  ${`${cls} (${list.length})`.padEnd(32)} ${rateText(mine).padStart(8)}/CPU-s cold${ratio}`);
    }
    throughputLines.push(`${file}:`, ...rows);
  }
  return throughputLines;
}

function rateText(perSec: number): string {
  return perSec >= 1000 ? String(Math.round(perSec)) : fmt(perSec);
}

/** Generic answer pairs for the warm-up, not the timed cases (kept in sync with WARM_UP in bench/peers/math_verify_peer.py). */
const WARM_UP: SuiteCase[] = [
  ['$\\frac{7}{3}$', 'The answer is $\\frac{14}{6}$.'],
  ['$12$', 'so we get 12 apples'],
  ['$2\\sqrt{5}$', '$\\sqrt{20}$'],
  ['$x^2 + 2x + 1$', '$(x+1)^2$'],
  ['$\\{1, 3, 5\\}$', '$\\{5, 3, 1\\}$'],
  ['$(-\\infty, 2] \\cup (4, \\infty)$', '$x \\le 2$ or $x > 4$'],
  ['$y = 3x - 2$', '$y - 3x + 2 = 0$'],
  ['$\\begin{pmatrix} 2 & 0 \\\\ 1 & 5 \\end{pmatrix}$', '$\\begin{pmatrix} 2 & 0 \\\\ 1 & 5 \\end{pmatrix}$'],
  ['$\\sin(\\pi/6)$', '$0.5$'],
  ['$3.75$', 'Final answer: 15/4'],
  ['$(2, -1)$', '$(2,-1)$'],
  ['$\\pi r^2$', '$r^2 \\pi$'],
].map(([gold, pred], i) => ({ id: `warm-${i}`, gold: gold!, pred: pred!, expected: true, config: {} }));

/**
 * Verifications per CPU-second over `cases`, cold: untimed warm-up passes (generic answers, then the
 * cases with the parse cache emptied before each pass, so the JIT's steady state is measured), then
 * the CAS parse cache emptied before every timed pass. The peer is warmed on the generic answers only
 * (its parser keeps tables that speed up the very inputs it saw) and its sympy cache emptied.
 */
function cpuRate(cases: SuiteCase[], minMs = 300): number {
  // JIT warm-up: V8 compiles on background threads that process.cpuUsage() counts, so the first
  // passes over new code paths are not the steady rate. No result survives it: the parse cache is
  // emptied before every pass and the engine keeps no parse results.
  let warm = performance.now();
  do {
    clearParseCache();
    for (const c of WARM_UP) ourVerdict(c);
  } while (performance.now() - warm < minMs);
  warm = performance.now();
  do {
    clearParseCache();
    for (const c of cases) ourVerdict(c);
  } while (performance.now() - warm < minMs);
  let n = 0;
  let cpu = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || n < cases.length) {
    clearParseCache();
    const u = process.cpuUsage();
    for (const c of cases) ourVerdict(c);
    const d = process.cpuUsage(u);
    cpu += (d.user + d.system) / 1e6;
    n += cases.length;
  }
  return n / cpu;
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
  if (!existsSync(glmPath) && !SUITES.some((f) => existsSync(join(CASES_DIR, f)))) {
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
  const suites: SuiteScore[] = [];
  for (const file of SUITES) {
    const cases = loadSuite(CASES_DIR, file);
    if (cases) suites.push({ file, cases });
  }
  const suiteThroughput = benchSuites(suites);
  const lines: string[] = [];
  for (const [d, reqs] of [...perDomain, ...syntheticRequests()]) lines.push(await throughput(d, reqs));
  process.stdout.write(`throughput, verifications/s on one core (single thread, no judge calls):\n  ${lines.filter(Boolean).join('\n  ')}\n`);
  process.stdout.write(`math suites, verifications per CPU-second (ours cold, without the parse cache; peer in the same run):\n${suiteThroughput.join('\n')}\n`);
  process.stdout.write(`bench time ${fmt((performance.now() - t0) / 1000, 1)} s\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchVerify();
}
