/**
 * The teacher's output format (prompts/synthesize/teacher_questions.md): `<item>` blocks, each with
 * exactly one `<question>`, `<answer>` and `<type>` (numeric | expression | text). Reasoning in
 * `<think>…</think>` and text between items are ignored; an item that breaks the format is reported
 * with what is wrong and left out, the other items still count.
 */
import { cleanAnswer } from '../../ingest/qa/answer.js';

export const QUESTION_TYPES = ['numeric', 'expression', 'text'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface TeacherQuestion {
  question: string;
  answer: string;
  type: QuestionType;
}

export interface TeacherParse {
  questions: TeacherQuestion[];
  /** Items left out, by position (0-based) among the `<item>` blocks. */
  problems: { item: number; problem: string }[];
  /** `<item>` blocks found. */
  items: number;
}

const ITEM = /<item>([\s\S]*?)<\/item>/giu;

function fields(block: string, tag: string): string[] {
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'giu');
  return [...block.matchAll(re)].map((m) => (m[1] ?? '').trim());
}

const NUMBER = /^[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*(?:%|°|[\p{L}/²³°]+(?:\s*[\p{L}/²³]+)?))?$/u;

function checkItem(block: string): TeacherQuestion | string {
  const questions = fields(block, 'question');
  const answers = fields(block, 'answer');
  const types = fields(block, 'type');
  if (questions.length !== 1) return questions.length === 0 ? 'no <question>' : `${questions.length} <question> fields`;
  if (answers.length !== 1) return answers.length === 0 ? 'no <answer>' : `${answers.length} <answer> fields`;
  if (types.length > 1) return `${types.length} <type> fields`;
  const question = questions[0]!.replace(/\s+/g, ' ').trim();
  const answer = cleanAnswer(answers[0]!.replace(/\s+/g, ' ')).replace(/(?<=[\p{L}\p{N})\]}])\.$/u, '').trim();
  const type = (types[0] ?? '').toLowerCase().trim() as QuestionType;
  if (question === '') return 'empty question';
  if (answer === '') return 'empty answer';
  if (!(QUESTION_TYPES as readonly string[]).includes(type)) return types.length === 0 ? 'no <type>' : `unknown type "${types[0]!.slice(0, 40)}"`;
  if (type === 'numeric' && !NUMBER.test(answer)) return `numeric answer is not a number: "${answer.slice(0, 40)}"`;
  if (/<\/?(?:item|question|answer|type)>/iu.test(question + answer)) return 'nested tags';
  return { question, answer, type };
}

export function parseTeacherOutput(text: string): TeacherParse {
  const body = text.replace(/<think>[\s\S]*?<\/think>/giu, '');
  const problems: TeacherParse['problems'] = [];
  const questions: TeacherQuestion[] = [];
  let items = 0;
  for (const m of body.matchAll(ITEM)) {
    const checked = checkItem(m[1] ?? '');
    if (typeof checked === 'string') problems.push({ item: items, problem: checked });
    else questions.push(checked);
    items++;
  }
  return { questions, problems, items };
}
