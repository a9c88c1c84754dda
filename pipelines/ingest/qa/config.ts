import { z } from 'zod';
import { VERIFY_DOMAINS } from '../../verify/domains.js';

const fieldPath = z.string().min(1);
export const sourceName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dot, dash or underscore');

/** How a QA record's fields map onto the canonical task. Every entry is a dot path into the record. */
export const qaFieldsSchema = z
  .object({
    id: fieldPath.optional(),
    /** One path, or several joined with a blank line (e.g. SVAMP's Body + Question). */
    question: z.union([fieldPath, z.array(fieldPath).min(1)]),
    answer: fieldPath.optional(),
    solution: fieldPath.optional(),
    choices: fieldPath.optional(),
    images: z.union([fieldPath, z.array(fieldPath)]).optional(),
    domain: fieldPath.optional(),
    license: fieldPath.optional(),
  })
  .strict();

export const answerRuleSchema = z.enum([
  'field', // the answer field as it is
  'gsm8k', // the text after `####`
  'boxed', // the last \boxed{} of the answer field, else of the solution field
  'first', // first element of a list field (OlympiadBench final_answer)
  'choice-index', // a 0-based index into choices (MMLU)
  'choice-letter', // a letter A–Z naming an option
  'choice-text', // the text of one option, never a letter or an index
  'leading-number', // `9 (apples)` → 9
]);

export const choicesRuleSchema = z.enum([
  'list', // an array of option texts
  'lettered-list', // an array like ["A)5", "B)6"]: the letter prefixes are stripped
  'inline', // one string "A) x B) y": split at the letters
  'literal', // a list, a {A: x} object, or one of them written as a JSON / Python literal string ("['a', 'b']"); 'None' = no options
]);

export const qaSourceSchema = z
  .object({
    name: sourceName,
    type: z.literal('qa'),
    /** A file, a folder or a glob, relative to the config file. */
    path: z.string().min(1),
    format: z.enum(['jsonl', 'json', 'parquet', 'csv']),
    preset: z.string().optional(),
    fields: qaFieldsSchema.optional(),
    answer: answerRuleSchema.optional(),
    choices: choicesRuleSchema.optional(),
    /** Where relative image paths are resolved; default: the folder of the file holding the record. */
    imageRoot: z.string().optional(),
    /** An image path built from the record, e.g. `tables/{key}.png` (`{key}`: the record's key in a JSON object, else a field). */
    imageTemplate: z.string().optional(),
    /** Image files that sit beside each record file (e.g. Geometry3K's `img_diagram.png`). */
    sidecarImages: z.array(z.string()).optional(),
    domain: z.string().default('math'),
    /** Verifier domain (pipelines/verify); a name that is not one is refused when the config loads. */
    verifier: z.enum(VERIFY_DOMAINS).optional(),
    license: z.string().optional(),
    lang: z.string().optional(),
  })
  .strict();

export type QaSourceConfig = z.output<typeof qaSourceSchema>;
export type QaFields = z.output<typeof qaFieldsSchema>;
