import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32, shuffled } from '../../pipelines/shared/random.js';
import { verify, verifyBatch, verifyDeterministic, VERIFY_DOMAINS, type VerifyRequest } from '../../pipelines/verify/index.js';
import { createVerifierPool } from '../../pipelines/verify/pool.js';
import type { AnswerMemo } from '../../pipelines/verify/deterministic.js';

/**
 * A batch compares each distinct answer of a question once (AnswerMemo). Whatever the group holds,
 * every response must get exactly the verdict it gets verified on its own: groups of many generated
 * shapes (domains, formats, options, choices, repeated answers in different wrappers, broken formats,
 * several questions shuffled into one batch as the difficulty stage's batcher does).
 */

const CASES_DIR = join(import.meta.dirname, '../../../shared/verifier-cases');

/** Ground truths and answers: built in, plus the shared verifier cases when present. */
function answerPool(): { golds: string[]; answers: string[] } {
  const golds = ['42', '\\frac{3}{7}', '0.5', 'x = 3', '\\sqrt{2}', '(1, 2)', '12\\%', '1{,}000', 'Paris', '-7', 'B', 'A, C', '[10, 20, 300, 400]', 'click(100, 200)', '2019', '3.14', 'H2O', '5 m/s', 'hello world', '\\{1, 2\\}'];
  const answers = ['42', '42.0', ' 42', '\\frac{6}{14}', '3/7', '1/2', '0.50', 'x=3', '3', '\\sqrt 2', '1.41421356', '(1,2)', '(2, 1)', '12%', '0.12', '1000', 'paris', 'London', '-7', 'B', '(B)', 'A and C', '3 or 4', 'it depends', '', '[10, 20, 300, 401]', 'click(101, 199)', '2019', '2018', '3.14159', 'H_2O', '5', 'hello  world', '\\{2, 1\\}', 'We use the formula', '\\boxed{42}'];
  if (existsSync(CASES_DIR)) {
    for (const line of readFileSync(join(CASES_DIR, 'math_verify_cases.jsonl'), 'utf8').split('\n').slice(0, 120)) {
      if (!line.trim()) continue;
      const c = JSON.parse(line) as { gold?: unknown; pred?: unknown };
      if (typeof c.gold === 'string' && c.gold.length < 200) golds.push(c.gold.replace(/^\$|\$$/g, ''));
      if (typeof c.pred === 'string' && c.pred.length < 200) answers.push(c.pred.replace(/^\$|\$$/g, ''));
    }
  }
  return { golds, answers };
}

const WRAPPERS: ((answer: string, i: number) => string)[] = [
  (a, i) => `<think>Working it out, attempt ${i}.</think><answer>The answer is <|begin_of_box|>${a}<|end_of_box|></answer>`,
  (a) => `<think>short</think><answer><|begin_of_box|>${a}<|end_of_box|></answer>`,
  (a, i) => `<think>${'step '.repeat(i + 1)}</think>\n<answer><|begin_of_box|>${a}<|end_of_box|> done</answer>`,
  (a) => `<think>two boxes</think><answer><|begin_of_box|>${a}<|end_of_box|> or <|begin_of_box|>${a}<|end_of_box|></answer>`,
  (a) => `<think>lenient</think> so \\boxed{${a}}`,
  (a) => `${a}`,
  (a) => `<think>${'again and again '.repeat(40)}</think><answer><|begin_of_box|>${a}<|end_of_box|></answer>`,
  (a) => `<think>这是一个很长的中文推理段落，我们一步一步地计算这个问题的答案。这是一个很长的中文推理段落。 This is a long English paragraph that explains the same reasoning in many words again.</think><answer><|begin_of_box|>${a}<|end_of_box|></answer>`,
];

const LETTERS = 'ABCD';
const DOMAINS = [...VERIFY_DOMAINS, 'math', 'math', 'multiple_choice', 'multiple_choice', 'ocr', 'chart', 'physics', 'counting'] as const;

/** Answers a policy might give to a question with this gold: itself, near misses, case changes, choice letters, others. */
function answersFor(gold: string, choices: string[] | undefined, rng: () => number, pool: { answers: string[] }): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const out = [gold, gold.toUpperCase(), gold.toLowerCase(), pick(pool.answers)];
  const x = Number(gold);
  if (Number.isFinite(x)) out.push(String(x * 1.01), String(x * 1.3), String(x + 1));
  if (choices) out.push(LETTERS[choices.indexOf(gold)] ?? 'A', pick([...LETTERS]), pick(choices));
  return Array.from({ length: 1 + Math.floor(rng() * 3) }, () => pick(out));
}

function generateGroup(rng: () => number, pool: { golds: string[]; answers: string[] }, g: number): VerifyRequest[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const domain = pick(DOMAINS);
  const gold = pick(pool.golds);
  const choices = rng() < 0.4 ? shuffled([gold, ...shuffled(pool.golds, rng).filter((c) => c !== gold).slice(0, 3)], rng) : undefined;
  const goldText = choices && domain === 'multiple_choice' && rng() < 0.7 ? LETTERS[choices.indexOf(gold)]! : gold;
  const groundTruth = rng() < 0.5 ? `<|begin_of_box|>${goldText}<|end_of_box|>` : goldText;
  const format = pick(['glm', 'glm_think', 'lenient', 'none'] as const);
  const question = rng() < 0.7 ? `Question ${g}: which is it?${choices ? ` ${choices.map((c, i) => `(${LETTERS[i]}) ${c}`).join(' ')}` : ''}` : undefined;
  const options = rng() < 0.5 ? pick([{ relTol: 0.05 }, { languageMixPenalty: true }, { repetitionPenalty: true }, { ignoreCase: false }, { ordered: true }, { multipleAnswers: true }, { iouThreshold: 0.5 }]) : undefined;
  // A few distinct answers per group, each repeated in several wrappers: what n rollouts of one question look like.
  const distinct = answersFor(gold, choices, rng, pool);
  // Options listed in the question only, half the time: then the question decides what a letter means.
  const passChoices = choices && rng() < 0.5;
  return Array.from({ length: 8 }, (_, i) => ({
    domain,
    response: pick(WRAPPERS)(pick(distinct), i),
    groundTruth,
    format,
    ...(question !== undefined ? { question } : {}),
    ...(passChoices ? { choices } : {}),
    ...(options ? { options } : {}),
  }));
}

/** The same responses asked of a question that differs in one field: the memo must tell them apart. */
function sibling(group: VerifyRequest[], rng: () => number, pool: { golds: string[] }): VerifyRequest[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const change: ((r: VerifyRequest) => VerifyRequest)[] = [
    (r) => ({ ...r, groundTruth: pick(pool.golds) }),
    (r) => ({ ...r, question: r.question?.replace(/\(A\) (.*?) \(B\) (.*?) \(/, '(A) $2 (B) $1 (') ?? 'Which? (A) 42 (B) Paris (C) x = 3 (D) B' }),
    (r) => ({ ...r, choices: r.choices ? [...r.choices].reverse() : ['0.5', '42', 'B', 'London'] }),
    (r) => ({ ...r, options: { ...r.options, relTol: 0.5 } }),
    (r) => ({ ...r, options: { ...r.options, ignoreCase: !(r.options?.ignoreCase ?? true) } }),
    (r) => ({ ...r, options: { ...r.options, ordered: !r.options?.ordered } }),
    (r) => ({ ...r, domain: pick(VERIFY_DOMAINS) }),
  ];
  const how = pick(change);
  return group.map(how);
}

function generateBatches(seed: number, count: number): VerifyRequest[][] {
  const rng = mulberry32(seed);
  const pool = answerPool();
  // Groups of two or three questions shuffled into one batch, as the stage's verify batcher sends them;
  // some are siblings (same responses, one field changed).
  return Array.from({ length: count }, (_, b) => {
    const groups = [generateGroup(rng, pool, b * 10)];
    for (let g = 1; g < 2 + Math.floor(rng() * 2); g++) groups.push(rng() < 0.6 ? sibling(groups[0]!, rng, pool) : generateGroup(rng, pool, b * 10 + g));
    return shuffled(groups.flat(), rng);
  });
}

describe('verifying a batch compares each distinct answer of a question once', () => {
  it('gives every response of generated batches the verdict it gets on its own', async () => {
    let compared = 0;
    let responses = 0;
    for (const batch of generateBatches(11, 300)) {
      const alone = await Promise.all(batch.map((r) => verify(r)));
      expect(await verifyBatch(batch)).toEqual(alone);
      const memo: AnswerMemo = new Map();
      for (const r of batch) verifyDeterministic(r, 10_000, memo);
      compared += memo.size;
      responses += batch.length;
    }
    // The memo is in use: many responses shared an answer with another of their question.
    expect(compared).toBeLessThan(responses * 0.7);
    expect(compared).toBeGreaterThan(0);
  }, 120_000);

  it('a batch on the worker pool agrees with verifying each response in-process', async () => {
    const pool = createVerifierPool({ threads: 1 });
    try {
      for (const batch of generateBatches(12, 40)) {
        expect(await pool.verifyBatch(batch)).toEqual(await Promise.all(batch.map((r) => verify(r))));
      }
    } finally {
      await pool.close();
    }
  }, 300_000);
});
