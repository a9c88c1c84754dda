/**
 * Question synthesis with self-consistency: a teacher model writes questions with answers about a
 * sample's image(s) in a chosen domain; a solver model answers each question n times; the verifier
 * (pipelines/verify) scores every solver answer against the teacher's answer. A question is kept
 * only when a clear majority of the solver's decided answers agree with the teacher's (a wrong
 * teacher answer is out-voted), and the solver's k/n seeds the derived sample's difficulty.
 */
import type { Sample, Task } from '../../../schemas/sample.js';
import { buildMessages, DEFAULT_INSTRUCTIONS } from '../../difficulty/prompt.js';
import { RolloutError } from '../../difficulty/rollout-client.js';
import { tierOfCounts } from '../../difficulty/tiers.js';
import { toGlmBox } from '../../ingest/qa/answer.js';
import { stableHash } from '../../shared/hash.js';
import { verify, verifyBatch, isUndecided, type VerifyDomain } from '../../verify/index.js';
import { isVerifyDomain } from '../../verify/deterministic.js';
import { hedgeReason, methodOnlyReason } from '../../verify/hedging.js';
import { derivedSampleId, type GeneratedTask, type Generator, type GeneratorResult, type SkipReason } from '../generator.js';
import type { QuestionsConfig } from './config.js';
import { contentText, imageContent, imageParts, type ImagePart } from './content.js';
import { withSampleSession, type ModelSynthesisContext, type SampleSession } from './context.js';
import { parseTeacherOutput, type TeacherQuestion } from './teacher-format.js';
import { fillTemplate } from './templates.js';

export const TEACHER_QUESTIONS = 'teacher_questions';
export const TEACHER_QUESTIONS_VERSION = 1;

const ANSWER_TYPE = { numeric: 'numeric', expression: 'expression', text: 'text' } as const;

export function verifierFor(config: QuestionsConfig): VerifyDomain {
  return config.verifier ?? (isVerifyDomain(config.domain) ? (config.domain as VerifyDomain) : 'general');
}

/** The solver's vote on one question. */
export interface Vote {
  /** Answers that verified against the teacher's. */
  k: number;
  /** Answers the verifier decided (right or wrong). */
  n: number;
  undecided: number;
  /** The most frequent disagreeing answer and how often it came. */
  rival: { answer: string; count: number } | null;
}

/** Kept, or the reason it is not: the self-consistency rule on its own, for tests and docs. */
export function judgeVote(vote: Vote, returned: number, config: Pick<QuestionsConfig, 'majority' | 'minDecided'>): SkipReason | null {
  const detail = { k: vote.k, n: vote.n, undecided: vote.undecided, majority: config.majority, ...(vote.rival ? { rival: vote.rival } : {}) };
  if (returned === 0 || vote.n < Math.ceil(config.minDecided * returned)) return { reason: 'solver_undecided', detail: { ...detail, returned } };
  if (vote.k / vote.n >= config.majority) return null;
  if (vote.rival && vote.rival.count / vote.n >= config.majority) return { reason: 'solver_disagrees', detail };
  return { reason: 'no_clear_majority', detail };
}

function normalisedQuestion(q: string): string {
  return q.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

function normalisedAnswer(a: string): string {
  return a.toLowerCase().replace(/\s+/g, '');
}

export function teacherQuestionsGenerator(config: QuestionsConfig): Generator<ModelSynthesisContext> {
  const verifier = verifierFor(config);
  return {
    name: TEACHER_QUESTIONS,
    version: TEACHER_QUESTIONS_VERSION,
    mode: 'model',
    applies: (sample) => config.kinds.includes(sample.kind) && imageParts(sample).length > 0 && (!config.sources || config.sources.includes(sample.source.name)),

    async generate(sample, ctx): Promise<GeneratorResult> {
      const teacher = ctx.clients.teacher;
      const solver = ctx.clients.solver;
      if (!teacher || !solver) {
        const missing = [!teacher && 'questions.teacher.endpoint', !solver && 'questions.solver.endpoint'].filter(Boolean);
        return { tasks: [], skipped: [{ reason: 'no_endpoint', detail: { generator: TEACHER_QUESTIONS, set: missing } }] };
      }
      return withSampleSession(ctx, sample.id, (session) => questionsFor(sample, verifier, config, ctx, session));
    },
  };
}

async function questionsFor(sample: Sample, verifier: VerifyDomain, config: QuestionsConfig, ctx: ModelSynthesisContext, session: SampleSession): Promise<GeneratorResult> {
  const teacher = ctx.clients.teacher!;
  const images = imageParts(sample).slice(0, config.maxImages);
  const context = contentText(sample).replace(/\s+/g, ' ').trim().slice(0, config.maxContextChars);
  const prompt = fillTemplate(ctx.templates.teacher, { count: String(config.perSample), domain: config.domain, context: context || '(none)' });
  const t = config.teacher;
  let teacherText: string;
  let truncated = false;
  try {
    const [choice] = await session.choices(
      teacher,
      {
        role: 'teacher',
        prompt: { text: prompt, media: images.map((p) => p.media_id) },
        messages: async () => [{ role: 'user', content: [...(await imageContent(sample, images, session.blobs)), { type: 'text', text: prompt }] }],
        sampling: { temperature: t.temperature, topP: t.topP, maxTokens: t.maxTokens, ...(t.seed !== undefined ? { seed: t.seed } : {}) },
      },
      0,
      1,
    );
    teacherText = choice?.choice.text ?? '';
    truncated = choice?.choice.finishReason === 'length';
  } catch (err) {
    if (err instanceof RolloutError && !err.retryable) return { tasks: [], skipped: [{ reason: 'request_rejected', detail: { role: 'teacher', status: err.status, message: err.message } }] };
    throw err;
  }

  const parsed = parseTeacherOutput(teacherText);
  const skipped: SkipReason[] = parsed.problems.map((p) => ({ reason: 'teacher_item_malformed', detail: p }));
  // Cut off at maxTokens: the items before the cut still count; the lost ones are reported.
  if (truncated && parsed.items < config.perSample) skipped.push({ reason: 'teacher_truncated', detail: { items: parsed.items, asked: config.perSample, maxTokens: config.teacher.maxTokens } });
  if (parsed.items === 0) return { tasks: [], skipped: [...skipped, { reason: 'teacher_unparseable', detail: { excerpt: teacherText.slice(0, 200) } }] };

  const candidates: { key: string; q: TeacherQuestion }[] = [];
  const seen = new Set<string>();
  for (const q of parsed.questions) {
    const norm = normalisedQuestion(q.question);
    const where = { question: q.question.slice(0, 200) };
    if (seen.has(norm)) {
      skipped.push({ reason: 'duplicate_question', detail: where });
      continue;
    }
    seen.add(norm);
    if (q.question.length > config.maxQuestionChars) skipped.push({ reason: 'question_too_long', detail: { ...where, chars: q.question.length, max: config.maxQuestionChars } });
    else if (q.answer.length > config.maxAnswerChars) skipped.push({ reason: 'answer_too_long', detail: { ...where, chars: q.answer.length, max: config.maxAnswerChars } });
    else if (answerInQuestion(q)) skipped.push({ reason: 'answer_in_question', detail: { ...where, answer: q.answer } });
    else if (hedged(q.answer)) skipped.push({ reason: 'answer_hedged', detail: { ...where, answer: q.answer, why: hedged(q.answer) } });
    else {
      // The answer must verify against itself, or no solver answer ever could.
      const self = await verify({ domain: verifier, response: q.answer, groundTruth: toGlmBox(q.answer), question: q.question, format: 'none' }, { timeBudgetMs: ctx.config.verifyTimeBudgetMs });
      if (!self.correct) skipped.push({ reason: 'answer_not_self_verifying', detail: { ...where, answer: q.answer, verifier, why: self.reason } });
      else candidates.push({ key: `q-${stableHash(norm).slice(0, 16)}`, q });
    }
  }

  const tasks: GeneratedTask[] = [];
  const outcomes = await Promise.all(candidates.map((c) => solve(sample, images, c.key, c.q, verifier, config, ctx, session)));
  for (const [i, outcome] of outcomes.entries()) {
    if ('task' in outcome) tasks.push(outcome.task);
    else skipped.push({ reason: outcome.skip.reason, detail: { question: candidates[i]!.q.question.slice(0, 200), answer: candidates[i]!.q.answer, ...outcome.skip.detail } });
  }
  return { tasks, skipped };
}

const APPROXIMATE = /^(?:about|approximately|approx\.?|around|roughly|nearly|almost|circa|ca\.|over|under|more than|less than|at least|at most|up to|~|≈|>|<)\s*\S/iu;

/** "3 or 4", "probably 7", "about 5", "2 (or 3)": not one checkable answer (the verifier's hedge and method rules, and approximations). */
function hedged(answer: string): string | null {
  if (APPROXIMATE.test(answer)) return 'approximate answer';
  return hedgeReason(answer, '') ?? methodOnlyReason(answer, '');
}

/** A short answer spelled out in its question gives itself away ("How many of the 3 cats...?" → 3 is fine; "Which city, Paris, ...?" is not). */
function answerInQuestion(q: TeacherQuestion): boolean {
  if (q.type === 'numeric') return false; // numbers in questions are data ("the bar for 2019")
  const answer = normalisedQuestion(q.answer);
  return answer.length >= 3 && ` ${normalisedQuestion(q.question)} `.includes(` ${answer} `);
}

async function solve(
  sample: Sample,
  images: ImagePart[],
  key: string,
  q: TeacherQuestion,
  verifier: VerifyDomain,
  config: QuestionsConfig,
  ctx: ModelSynthesisContext,
  session: SampleSession,
): Promise<{ task: GeneratedTask } | { skip: SkipReason }> {
  const solver = ctx.clients.solver!;
  const s = config.solver;
  const task: Task = { question: q.question, answer: toGlmBox(q.answer), answer_raw: q.answer, answer_type: ANSWER_TYPE[q.type], choices: [], boxes: [], verifier, solution: null };
  const media = sample.media.filter((m) => images.some((p) => p.media_id === m.id));
  const content: Sample['content'] = [...images, { type: 'text', text: q.question, media_id: null }];
  const derived: Sample = { ...sample, id: derivedSampleId(sample.id, TEACHER_QUESTIONS, key), kind: 'qa', domain: config.domain, content, media, task };
  const instruction = DEFAULT_INSTRUCTIONS[s.responseFormat];
  let choices;
  try {
    choices = await session.choices(
      solver,
      {
        role: 'solver',
        prompt: { text: q.question, media: images.map((p) => p.media_id), instruction },
        messages: () => buildMessages(derived, session.blobs, { instruction }),
        sampling: { temperature: s.temperature, topP: s.topP, maxTokens: s.maxTokens, ...(s.seed !== undefined ? { seed: s.seed } : {}) },
      },
      0,
      s.n,
    );
  } catch (err) {
    if (err instanceof RolloutError && !err.retryable) return { skip: { reason: 'request_rejected', detail: { role: 'solver', status: err.status, message: err.message } } };
    throw err;
  }
  const results = await verifyBatch(
    choices.map(({ choice }) => ({ domain: verifier, response: choice.text, groundTruth: task.answer, question: q.question, format: s.responseFormat })),
    { timeBudgetMs: ctx.config.verifyTimeBudgetMs },
  );
  let k = 0;
  let undecided = 0;
  const rivals = new Map<string, { answer: string; count: number }>();
  for (const r of results) {
    if (isUndecided(r)) undecided++;
    else if (r.correct) k++;
    else if (r.extracted !== null) {
      const norm = normalisedAnswer(r.extracted);
      const rival = rivals.get(norm) ?? { answer: r.extracted.slice(0, 100), count: 0 };
      rival.count++;
      rivals.set(norm, rival);
    }
  }
  const vote: Vote = { k, n: results.length - undecided, undecided, rival: [...rivals.values()].sort((a, b) => b.count - a.count)[0] ?? null };
  const verdict = judgeVote(vote, results.length, config);
  if (verdict) return { skip: verdict };

  const passRate = vote.k / vote.n;
  const model = `solver:${solver.endpoint.model}`;
  const meta = {
    synthesis: { generator: TEACHER_QUESTIONS, teacher: ctx.clients.teacher!.endpoint.model, solver: solver.endpoint.model, domain: config.domain, k: vote.k, n: vote.n, undecided, answer_type: q.type },
  };
  return {
    task: {
      key,
      task,
      overrides: {
        kind: 'qa',
        domain: config.domain,
        content,
        media,
        meta: JSON.stringify(meta),
        // The solver's k/n seeds the tier; `solver:` names the source, as `label:` does for label priors.
        difficulty: {
          pass_rate: passRate,
          k: vote.k,
          n: vote.n,
          tier: tierOfCounts(vote.k, vote.n, ctx.tiers),
          per_model: [{ model, k: vote.k, n: vote.n, pass_rate: passRate }],
          source: 'offline',
          rated_at: null,
          history: [],
        },
      },
    },
  };
}
