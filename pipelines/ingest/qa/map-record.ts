import type { AnswerType, Task } from '../../../schemas/sample.js';
import type { QaPreset } from './presets.js';
import { RecordError } from '../record-error.js';
import {
  choiceLetters,
  cleanAnswer,
  gsm8kAnswer,
  lastBoxed,
  leadingNumber,
  literalOptions,
  LETTERS,
  splitInlineOptions,
  stripLetterPrefixes,
  toGlmBox,
} from './answer.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };


export interface MappedQa {
  recordId: string | null;
  question: string;
  task: Task;
  /** Image references as found in the record (paths, base64, bytes objects). */
  imageRefs: unknown[];
  domainOverride: string | null;
  licenseOverride: string | null;
  /** Fields not consumed by the mapping. */
  meta: Record<string, unknown>;
}

export function getPath(record: unknown, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(Number(value));
  return null;
}

/** Maps one raw record onto the canonical QA task with the source's declarative rules. */
export function mapQaRecord(record: unknown, preset: QaPreset, verifierOverride: string | undefined): MappedQa {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new RecordError('not_an_object', `expected a JSON object, got ${Array.isArray(record) ? 'an array' : typeof record}`);
  }
  const { fields } = preset;
  const questionPaths = Array.isArray(fields.question) ? fields.question : [fields.question];
  const question = questionPaths
    .map((p) => asText(getPath(record, p)))
    .filter((t): t is string => !!t && t.trim().length > 0)
    .join('\n\n')
    .trim();
  if (!question) throw new RecordError('missing_question', `no text at ${questionPaths.join(' + ')}`);

  const choices = readChoices(fields.choices ? getPath(record, fields.choices) : undefined, preset.choices ?? 'list');
  if (choices.length > LETTERS.length) throw new RecordError('bad_choices', `${choices.length} options; an answer is stored as option letters, so at most ${LETTERS.length}`);
  const rawAnswerValue = fields.answer ? getPath(record, fields.answer) : undefined;
  const solutionValue = fields.solution ? getPath(record, fields.solution) : undefined;
  const solution = Array.isArray(solutionValue) ? solutionValue.map(asText).filter(Boolean).join('\n\n') : asText(solutionValue);

  const { answer, raw, solution: derivedSolution } = extractAnswer(preset.answer ?? 'field', rawAnswerValue, solution, choices);
  if (!answer) throw new RecordError('empty_answer', `no answer found (rule ${preset.answer ?? 'field'} on ${fields.answer ?? fields.solution ?? '?'})`);

  const finalAnswer = choices.length ? answerAsLetters(answer, choices, preset.answer ?? 'field') : answer;
  const answerType: AnswerType = choices.length ? 'choice' : isNumeric(finalAnswer) ? 'numeric' : isPlainWords(finalAnswer) ? 'text' : 'expression';

  const imageRefs: unknown[] = [];
  for (const p of fields.images === undefined ? [] : Array.isArray(fields.images) ? fields.images : [fields.images]) {
    const v = getPath(record, p);
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) imageRefs.push(...v);
    else imageRefs.push(v);
  }

  const consumed = new Set(
    [fields.id, ...questionPaths, fields.answer, fields.solution, fields.choices, fields.domain, fields.license, ...(Array.isArray(fields.images) ? fields.images : [fields.images])]
      .filter((p): p is string => !!p)
      .map((p) => p.split('.')[0]),
  );
  const meta = Object.fromEntries(Object.entries(record).filter(([k]) => !consumed.has(k)));
  const idValue = fields.id ? getPath(record, fields.id) : undefined;

  return {
    recordId: idValue === undefined || idValue === null ? null : String(idValue),
    question,
    task: {
      question,
      answer: toGlmBox(finalAnswer),
      answer_raw: raw,
      answer_type: answerType,
      choices,
      boxes: [],
      verifier: verifierOverride ?? (choices.length ? 'multiple_choice' : 'math'),
      solution: solution ?? derivedSolution ?? null,
    },
    imageRefs,
    domainOverride: fields.domain ? asText(getPath(record, fields.domain)) : null,
    licenseOverride: fields.license ? asText(getPath(record, fields.license)) : null,
    meta,
  };
}

function extractAnswer(
  rule: NonNullable<QaPreset['answer']>,
  value: unknown,
  solution: string | null,
  choices: string[],
): { answer: string | null; raw: string; solution?: string } {
  const text = asText(value);
  switch (rule) {
    case 'field':
    case 'choice-text':
      return { answer: text === null ? null : cleanAnswer(text) || null, raw: text ?? '' };
    case 'gsm8k': {
      const parsed = text ? gsm8kAnswer(text) : null;
      return { answer: parsed?.answer || null, raw: text ?? '', solution: parsed?.solution };
    }
    case 'boxed': {
      const boxed = (text ? lastBoxed(text) : null) ?? (solution ? lastBoxed(solution) : null);
      return { answer: boxed ? cleanAnswer(boxed) : null, raw: boxed ?? '' };
    }
    case 'first': {
      const first = Array.isArray(value) ? asText(value[0]) : text;
      return { answer: first ? cleanAnswer(first) : null, raw: JSON.stringify(value ?? null) };
    }
    case 'choice-index': {
      const index = typeof value === 'number' ? value : Number(text);
      const letter = Number.isInteger(index) && index >= 0 && index < choices.length ? LETTERS[index] : undefined;
      return { answer: letter ?? null, raw: text ?? '' };
    }
    case 'choice-letter':
      return { answer: text ? cleanAnswer(text).toUpperCase() : null, raw: text ?? '' };
    case 'leading-number':
      return { answer: text ? leadingNumber(text) : null, raw: text ?? '' };
  }
}

/**
 * A multiple-choice answer as option letters. The rules `choice-index` and `choice-letter` give a
 * letter, `choice-text` must quote an option; any other rule's answer may be either. When an answer
 * reads both ways and the two disagree (`"2"` quoting option B, or as a 0-based index option C; `"A"`
 * naming option A, or quoting option C), it is refused, not guessed: a guess would label every such
 * sample wrong without a trace.
 */
function answerAsLetters(answer: string, choices: string[], rule: NonNullable<QaPreset['answer']>): string {
  const quoted = choices.findIndex((c) => cleanAnswer(c) === answer);
  const quotedAgain = quoted < 0 ? -1 : choices.findIndex((c, i) => i > quoted && cleanAnswer(c) === answer);
  if (quotedAgain >= 0 && rule !== 'choice-index' && rule !== 'choice-letter') {
    throw ambiguous(answer, `is the text of options ${LETTERS[quoted]} and ${LETTERS[quotedAgain]} alike`, "'choice-index' or 'choice-letter'");
  }
  if (rule === 'choice-text') {
    if (quoted < 0) throw new RecordError('answer_not_in_choices', `answer "${answer.slice(0, 80)}" is not the text of any option (rule choice-text)`);
    return LETTERS[quoted] as string;
  }
  const letters = choiceLetters(answer, choices.length);
  if (rule === 'choice-index' || rule === 'choice-letter') {
    if (!letters) throw new RecordError('answer_not_in_choices', `answer "${answer.slice(0, 80)}" names no option of ${choices.length} (rule ${rule})`);
    return letters.join(', ');
  }
  const asIndex = /^\d+$/.test(answer) && Number(answer) < choices.length ? Number(answer) : null;
  if (letters) {
    if (quoted >= 0 && !(letters.length === 1 && letters[0] === LETTERS[quoted])) {
      throw ambiguous(answer, `names option ${letters.join(', ')} and is also the text of option ${LETTERS[quoted]}`, "'choice-letter' or 'choice-text'");
    }
    return letters.join(', ');
  }
  if (quoted >= 0) {
    if (asIndex !== null && asIndex !== quoted) {
      throw ambiguous(answer, `is the text of option ${LETTERS[quoted]} and also a 0-based index (option ${LETTERS[asIndex]})`, "'choice-index' or 'choice-text'");
    }
    return LETTERS[quoted] as string;
  }
  const hint = asIndex !== null ? `; if the field is a 0-based index, set answer: 'choice-index' (as the mmlu preset does)` : '';
  throw new RecordError('answer_not_in_choices', `answer "${answer.slice(0, 80)}" is neither an option letter nor an option${hint}`);
}

function ambiguous(answer: string, readings: string, rules: string): RecordError {
  return new RecordError('ambiguous_choice_answer', `answer "${answer.slice(0, 80)}" ${readings}; set the source's answer rule to ${rules} to say which it is`);
}

function readChoices(value: unknown, rule: NonNullable<QaPreset['choices']>): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (rule === 'inline' && typeof value === 'string') {
    const options = splitInlineOptions(value);
    if (options.length < 2) throw new RecordError('bad_choices', `could not split options "${value.slice(0, 80)}" into A), B), ...`);
    return options;
  }
  if (rule === 'literal') {
    const options = literalOptions(value);
    if (!options) throw new RecordError('bad_choices', `could not read options from ${JSON.stringify(value).slice(0, 80)}`);
    return options;
  }
  if (!Array.isArray(value)) throw new RecordError('bad_choices', `choices must be a list, got ${typeof value}`);
  const options = value.map((v) => asText(v) ?? JSON.stringify(v));
  return rule === 'lettered-list' ? stripLetterPrefixes(options) : options;
}

function isPlainWords(answer: string): boolean {
  return /^\p{L}[\p{L} .,'-]*$/u.test(answer) && !/\\/.test(answer) && !/^[a-z]$/i.test(answer);
}

function isNumeric(answer: string): boolean {
  return /^-?\d+(?:\.\d+)?$/.test(answer.replaceAll(',', ''));
}
