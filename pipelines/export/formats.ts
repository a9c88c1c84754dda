import type { Sample } from '../../schemas/sample.js';
import { BOX_CLOSE, BOX_OPEN, LETTERS } from '../ingest/qa/answer.js';

/** Images as trainers read them: bytes embedded (staged as base64, decoded by DuckDB). */
const IMAGES_TYPE = 'STRUCT(bytes BLOB, path VARCHAR)[]';
const IMAGES_STAGING_TYPE = 'STRUCT(bytes VARCHAR, path VARCHAR)[]';
const IMAGES_DECODE = `list_transform(images, x -> {'bytes': from_base64(x.bytes), 'path': x.path})`;

/** verl's RL dataset schema (verl/utils/dataset/rl_dataset.py): identical across shards, `[]` images on text rows. */
export const VERL_COLUMNS = {
  data_source: 'VARCHAR',
  prompt: 'STRUCT(role VARCHAR, content VARCHAR)[]',
  images: IMAGES_TYPE,
  ability: 'VARCHAR',
  reward_model: 'STRUCT(style VARCHAR, ground_truth VARCHAR)',
  extra_info:
    'STRUCT("index" BIGINT, id VARCHAR, tier VARCHAR, pass_rate DOUBLE, k INTEGER, n INTEGER, ' +
    'per_model STRUCT(model VARCHAR, k INTEGER, n INTEGER, pass_rate DOUBLE)[], answer_type VARCHAR, choices VARCHAR[], verifier VARCHAR, ' +
    // what a reward function needs (integrations/verl compute_score): the verifier domain, the question, the format gate
    'domain VARCHAR, question VARCHAR, format VARCHAR)',
} as const;

/** EasyR1's flat schema (`problem`, `answer`, `images`), plus provenance and tier columns. */
export const EASYR1_COLUMNS = {
  problem: 'VARCHAR',
  answer: 'VARCHAR',
  images: IMAGES_TYPE,
  data_source: 'VARCHAR',
  id: 'VARCHAR',
  tier: 'VARCHAR',
  pass_rate: 'DOUBLE',
} as const;

export const IMAGE_STAGING = { stagingTypes: { images: IMAGES_STAGING_TYPE }, selectOverrides: { images: IMAGES_DECODE } };

export interface ExportImage {
  bytes: string;
  path: string;
}

/** A stable int64 from the sample id (52 bits, exact in JS), so indices never change between runs. */
export function stableIndex(id: string): number {
  return parseInt(id.slice(0, 13), 16);
}

/** The plain ground truth without GLM's box markers. */
export function plainAnswer(answer: string): string {
  return answer.startsWith(BOX_OPEN) && answer.endsWith(BOX_CLOSE) ? answer.slice(BOX_OPEN.length, -BOX_CLOSE.length) : answer;
}

/** The prompt text with one `<image>` token where each image sits, options listed, instruction last. */
export function promptText(sample: Sample, instruction: string | undefined): string {
  const pieces = sample.content.map((p) => (p.type === 'text' ? p.text : '<image>'));
  let text = '';
  for (const piece of pieces) text += piece === '<image>' ? piece : text && !text.endsWith('<image>') ? `\n${piece}` : piece;
  const choices = sample.task?.choices ?? [];
  if (choices.length && !choices.every((c, i) => c === LETTERS[i])) text += `\n${choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n')}`;
  if (instruction) text += `\n${instruction}`;
  return text;
}

/** `format`: the reward format gate the responses are held to (glm, glm_think, lenient, none). */
export function verlRow(sample: Sample, images: ExportImage[], instruction: string | undefined, format: string): object {
  const task = sample.task!;
  return {
    data_source: `${sample.dataset}/${sample.source.name}`,
    prompt: [{ role: 'user', content: promptText(sample, instruction) }],
    images,
    ability: sample.domain,
    reward_model: { style: 'rule', ground_truth: plainAnswer(task.answer) },
    extra_info: {
      index: stableIndex(sample.id),
      id: sample.id,
      tier: sample.difficulty.tier,
      pass_rate: sample.difficulty.pass_rate,
      k: sample.difficulty.k,
      n: sample.difficulty.n,
      per_model: sample.difficulty.per_model,
      answer_type: task.answer_type,
      choices: task.choices,
      verifier: task.verifier,
      domain: task.verifier,
      question: task.question,
      format,
    },
  };
}

export function easyr1Row(sample: Sample, images: ExportImage[], instruction: string | undefined): object {
  return {
    problem: promptText(sample, instruction),
    answer: plainAnswer(sample.task!.answer),
    images,
    data_source: `${sample.dataset}/${sample.source.name}`,
    id: sample.id,
    tier: sample.difficulty.tier,
    pass_rate: sample.difficulty.pass_rate,
  };
}
