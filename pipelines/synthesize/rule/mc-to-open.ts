import { z } from 'zod';
import type { ContentPart, Task } from '../../../schemas/sample.js';
import { choiceLetters, cleanAnswer, LETTERS, toGlmBox } from '../../ingest/qa/answer.js';
import { extractGroundTruth } from '../../verify/format.js';
import type { GeneratorEntry } from '../generator.js';
import { derivedMeta } from './image-objects.js';

export const mcToOpenOptions = z
  .object({
    enabled: z.boolean().default(true),
    /** A correct option that is neither a number nor an expression is used only when it has at most this many words. */
    maxSpanWords: z.number().int().min(1).default(4),
  })
  .strict();

export type McToOpenOptions = z.output<typeof mcToOpenOptions>;

/** Options that only make sense next to the others. */
const REFERS_TO_OTHERS = /\b(none of (these|the above|them)|all of (these|the above|them)|both|neither|cannot be determined|can(?:'|no)t be determined|not enough information|insufficient data|either)\b/i;
/** Questions that only make sense with their options shown. */
const QUESTION_NEEDS_OPTIONS = /\b(which|what|who) of (the )?(following|these|those|options|choices|statements|answers|above)\b|\bthe following\b|\bEXCEPT\b|\b(answer )?(options|choices)\b|\bthe (correct|best) (option|choice)\b/;
/** A question that ends mid-sentence ("... because", "... is") is completed by its options, not answered. */
const STEM = /(\.\.\.|…|_{2,}|\b(because|is|are|was|were|of|to|the|a|an|by|that|for|with|as|in|on)|[^.?!:)\]}$。？！])\s*$/i;
/** Options that only fix a format (True, False / False, True ...): the open question would not say which format to use. */
const FORMAT_ONLY = /^(true|false|yes|no)(\s*,\s*(true|false|yes|no))*$/i;
/** Options written into the question text itself ("A) 5 B) 6"). */
const INLINE_OPTIONS = /(^|\s)\(?A[).:]\s*\S[\s\S]*(^|\s)\(?B[).:]\s*\S/;

type AnswerShape = { type: 'numeric' | 'expression' | 'text'; verifier: 'math' | 'vqa' };

/** A number, a formula, or a short span of words; null for anything longer. */
export function answerShape(option: string, maxSpanWords: number): AnswerShape | null {
  const compact = option.replace(/[$,\s]/g, '').replace(/%$/, '');
  if (/^[-+]?\d+(\.\d+)?$/.test(compact)) return { type: 'numeric', verifier: 'math' };
  const letters = option.match(/\p{L}{3,}/gu) ?? [];
  const mathWords = letters.filter((w) => !/^(sqrt|frac|pi|sin|cos|tan|log|ln|cdot|times|div|left|right|circ|dfrac|tfrac)$/i.test(w));
  if (/[\d\\^=+*/√π()-]/.test(option) && mathWords.length === 0) return { type: 'expression', verifier: 'math' };
  const words = option.trim().split(/\s+/).filter(Boolean).length;
  if (words > 0 && words <= maxSpanWords && /\p{L}/u.test(option)) return { type: 'text', verifier: 'vqa' };
  return null;
}

/**
 * Multiple choice → open-ended: where the correct option is a number, an expression or a short
 * span, the same question without its options, answered by that option (an open answer cannot be
 * guessed by picking one of four letters). Skipped when the question or the option needs the other
 * options to make sense, when the options are only letters (they live in the image), when several
 * options are correct, or when another option verifies as equal to the correct one (the open answer
 * would be ambiguous). The original options and letter stay in `meta.original` as provenance.
 */
export const mcToOpen: GeneratorEntry<McToOpenOptions> = {
  options: mcToOpenOptions,
  generator: {
    name: 'mc_to_open',
    version: 1,
    mode: 'rule',
    applies: (sample) => !!sample.task && sample.task.choices.length >= 2 && sample.task.answer_type === 'choice',
    async generate(sample, ctx) {
      const task = sample.task as Task;
      const skip = (reason: string, detail: Record<string, unknown> = {}) => ({ tasks: [], skipped: [{ reason, detail }] });
      const letters = choiceLetters(extractGroundTruth(task.answer), task.choices.length);
      if (!letters) return skip('answer_not_an_option', { answer: task.answer.slice(0, 80) });
      if (letters.length > 1) return skip('several_correct_options', { letters });
      const index = LETTERS.indexOf(letters[0] as string);
      const options = task.choices.map((c) => cleanAnswer(c));
      if (options.every((o, i) => o.toUpperCase() === LETTERS[i] || o === '')) return skip('options_in_image', { options });
      const correct = options[index] as string;
      if (REFERS_TO_OTHERS.test(correct)) return skip('option_refers_to_others', { option: correct });
      const question = task.question;
      const needs = QUESTION_NEEDS_OPTIONS.exec(question) ?? /\b(which|what|who) of (the )?(following|these|those)\b/i.exec(question);
      if (needs) return skip('question_refers_to_options', { phrase: needs[0] });
      if (INLINE_OPTIONS.test(question)) return skip('options_in_question', {});
      const stem = STEM.exec(question.replace(/<image\d*>/g, '').trim());
      if (stem) return skip('question_is_a_stem', { ends_with: question.trim().slice(-30) });
      if (options.every((o) => FORMAT_ONLY.test(o))) return skip('options_fix_a_format', { options });
      const shape = answerShape(correct, ctx.options.maxSpanWords);
      if (!shape) return skip('option_not_short', { option: correct.slice(0, 120), words: correct.split(/\s+/).length, max_span_words: ctx.options.maxSpanWords });
      const { verifyDeterministic } = await import('../../verify/deterministic.js');
      for (const [i, other] of options.entries()) {
        if (i === index || !other) continue;
        const r = verifyDeterministic({ domain: shape.verifier, response: other, groundTruth: toGlmBox(correct), question, format: 'none' }, 5_000);
        if (r.result.score >= 1) return skip('options_equivalent', { option: correct, equivalent: other, letters: [LETTERS[index], LETTERS[i]] });
      }
      const rendered = ctx.templates.render('mc_open', { question }, ctx.rng);
      return {
        tasks: [
          {
            key: `open:${LETTERS[index]}`,
            task: { question: rendered, answer: toGlmBox(correct), answer_raw: correct, answer_type: shape.type, choices: [], boxes: task.boxes, verifier: shape.verifier, solution: task.solution },
            overrides: {
              content: withTemplate(sample.content, question, rendered),
              meta: derivedMeta(sample, { original: { question, choices: task.choices, answer: letters[0], verifier: task.verifier } }),
            },
          },
        ],
        skipped: [],
      };
    },
  },
};

/** The source's content, with what the template puts around the question added before and after it. */
function withTemplate(content: readonly ContentPart[], question: string, rendered: string): ContentPart[] {
  if (rendered === question) return [...content];
  const at = rendered.indexOf(question);
  const before = at >= 0 ? rendered.slice(0, at).trim() : '';
  const after = at >= 0 ? rendered.slice(at + question.length).trim() : rendered;
  const text = (t: string): ContentPart => ({ type: 'text', text: t, media_id: null });
  return [...(before ? [text(before)] : []), ...content, ...(after ? [text(after)] : [])];
}
