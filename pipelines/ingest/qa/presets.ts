import type { QaSourceConfig } from './config.js';

export type QaPreset = Required<Pick<QaSourceConfig, 'fields'>> & Pick<QaSourceConfig, 'answer' | 'choices' | 'sidecarImages' | 'imageTemplate'>;

/**
 * Field mappings of the public QA formats (see ../shared/corpora/math_stem_qa). A source names a
 * preset and may override any part of it with `fields`, `answer` or `choices`.
 */
export const QA_PRESETS = {
  /** openai/grade-school-math: `question`, `answer` ending in `#### N`. */
  gsm8k: { fields: { question: 'question', answer: 'answer', id: 'idx' }, answer: 'gsm8k' },
  /** MATH / MATH-500: `problem`, `solution` with `\boxed{}`, `answer`. */
  math500: { fields: { question: 'problem', answer: 'answer', solution: 'solution', id: 'unique_id' }, answer: 'field' },
  /** Qwen2.5-Math eval jsonl (AIME24, AMC23, Gaokao, CMATH, college_math ...): `question`/`problem` and `answer`. */
  'qwen-eval': { fields: { question: 'question', answer: 'answer', id: 'id' }, answer: 'field' },
  /** Minerva math: the answer is the last `\boxed{}` of `solution`. */
  minerva: { fields: { question: 'problem', solution: 'solution', id: 'idx' }, answer: 'boxed' },
  /** OlympiadBench: `final_answer` is a list; `context` precedes the question when present. */
  olympiadbench: { fields: { question: ['context', 'question'], answer: 'final_answer', solution: 'solution', id: 'id' }, answer: 'first' },
  /** AQuA-RAT: options like `A)5`, `correct` letter. */
  aqua: { fields: { question: 'question', answer: 'correct', choices: 'options', solution: 'rationale' }, answer: 'field', choices: 'lettered-list' },
  /** MMLU(-STEM): `choices` list and a 0-based `answer` index. */
  mmlu: { fields: { question: 'question', answer: 'answer', choices: 'choices' }, answer: 'choice-index', choices: 'list' },
  /** SAT math (Qwen eval): options inline `A) … B) …`, `Answer` letter. */
  sat: { fields: { question: 'question', answer: 'Answer', choices: 'options', id: 'id' }, answer: 'field', choices: 'inline' },
  /** SVAMP: `Body` + `Question`, numeric `Answer`. */
  svamp: { fields: { question: ['Body', 'Question'], answer: 'Answer', id: 'ID' }, answer: 'field' },
  /** ASDiv: `body` + `question`, answers like `9 (apples)`. */
  asdiv: { fields: { question: ['body', 'question'], answer: 'answer', id: 'idx' }, answer: 'leading-number' },
  /** MathVision: `<image1>` placeholders in `question`, `options` (may be empty), `answer`, `image` path. */
  mathvision: { fields: { question: 'question', answer: 'answer', choices: 'options', images: 'image', id: 'id', solution: 'solution' }, answer: 'field', choices: 'list' },
  /** MathVista: a JSON object keyed by `pid`; `choices` (or null) with an `answer` that quotes an option's text, `image` path. */
  mathvista: { fields: { question: 'question', answer: 'answer', choices: 'choices', images: 'image', id: 'pid' }, answer: 'choice-text', choices: 'list' },
  /** TabMWP: a JSON object keyed by problem id, the table rendered at `tables/<id>.png`, options as a Python list string. */
  tabmwp: { fields: { question: 'question', answer: 'answer', choices: 'choices', solution: 'solution' }, answer: 'field', choices: 'literal', imageTemplate: 'tables/{key}.png' },
  /** FinChart-Bench (MC / QA / TF files): `image_file` path, MC options as a Python dict string. */
  finchart: { fields: { question: 'question', answer: 'answer', choices: 'choices', images: 'image_file', solution: 'reasoning' }, answer: 'field', choices: 'literal' },
  /** Geometry3K (InterGPS): one `data.json` per problem folder, the diagram beside it. */
  geometry3k: {
    fields: { question: 'problem_text', answer: 'answer', choices: 'choices', id: 'id' },
    answer: 'field',
    choices: 'list',
    sidecarImages: ['img_diagram.png'],
  },
} as const satisfies Record<string, QaPreset>;

export type QaPresetName = keyof typeof QA_PRESETS;

export function resolvePreset(source: QaSourceConfig): QaPreset {
  const preset = source.preset ? (QA_PRESETS as Record<string, QaPreset>)[source.preset] : undefined;
  if (source.preset && !preset) {
    throw new Error(`source ${source.name}: unknown preset "${source.preset}" (known: ${Object.keys(QA_PRESETS).join(', ')})`);
  }
  const fields = { ...preset?.fields, ...source.fields };
  if (!fields.question) throw new Error(`source ${source.name}: no question field; set \`preset\` or \`fields.question\``);
  return {
    fields: fields as QaPreset['fields'],
    answer: source.answer ?? preset?.answer ?? 'field',
    choices: source.choices ?? preset?.choices ?? 'list',
    sidecarImages: source.sidecarImages ?? preset?.sidecarImages ?? [],
    imageTemplate: source.imageTemplate ?? preset?.imageTemplate,
  };
}
