/**
 * Format gate: decides whether a response has the required shape and pulls the answer out.
 * All scanning is linear (indexOf), so 1 MB responses and unbalanced tags cost little.
 */
import type { FormatMode } from './types.js';

export const BEGIN_BOX = '<|begin_of_box|>';
export const END_BOX = '<|end_of_box|>';
const TAGS = ['<think>', '</think>', '<answer>', '</answer>'];

export interface Extraction {
  ok: boolean;
  answer: string | null;
  reason: string;
}

const fail = (reason: string): Extraction => ({ ok: false, answer: null, reason });
const pass = (answer: string, reason = 'ok'): Extraction => ({ ok: true, answer, reason });

/** Contents of each top-level `\boxed{…}` (braces balanced; an unclosed box runs to the end). */
export function findLatexBoxed(text: string, command = '\\boxed'): string[] {
  const out: string[] = [];
  const open = command + '{';
  let i = text.indexOf(open);
  while (i !== -1) {
    let j = i + open.length;
    let depth = 1;
    const start = j;
    while (j < text.length && depth > 0) {
      const c = text.charCodeAt(j);
      if (c === 123) depth++;
      else if (c === 125) depth--;
      j++;
    }
    out.push(text.slice(start, depth === 0 ? j - 1 : j));
    i = text.indexOf(open, j);
  }
  return out;
}

/**
 * Contents of `<|begin_of_box|>…<|end_of_box|>` pairs. Nested pairs are matched like brackets and
 * only outermost pairs are returned; unmatched tokens are ignored (GLM's stack semantics).
 */
export function findGlmBoxes(text: string): string[] {
  const out: string[] = [];
  const stack: number[] = [];
  let i = 0;
  for (;;) {
    const b = text.indexOf(BEGIN_BOX, i);
    const e = text.indexOf(END_BOX, i);
    if (b === -1 && e === -1) break;
    if (b === -1 || (e !== -1 && e < b)) {
      if (stack.length > 0) {
        const start = stack.pop()!;
        if (stack.length === 0) out.push(text.slice(start + BEGIN_BOX.length, e).trim());
      }
      i = e + END_BOX.length;
    } else {
      stack.push(b);
      i = b + BEGIN_BOX.length;
    }
  }
  return out;
}

/** GLM's `find_boxed_content`: `\boxed{}` contents if any, else GLM box contents. */
export function findBoxedContent(text: string): string[] {
  const latex = findLatexBoxed(text);
  return latex.length > 0 ? latex : findGlmBoxes(text);
}

function containsTag(text: string): boolean {
  const lower = text.toLowerCase();
  return TAGS.some((t) => lower.includes(t));
}

/** Splits `<think>…</think>rest`; null when the response does not start with a think block. */
export function splitThink(response: string): { think: string; rest: string } | null {
  if (response.slice(0, 7).toLowerCase() !== '<think>') return null;
  const close = indexOfIgnoreCase(response, '</think>', 7);
  if (close === -1) return null;
  return { think: response.slice(7, close), rest: response.slice(close + 8) };
}

function indexOfIgnoreCase(text: string, needle: string, from: number): number {
  const i = text.indexOf(needle, from);
  if (i !== -1) return i;
  // Rare path: tags written in another case.
  return text.toLowerCase().indexOf(needle, from);
}

/** Strict GLM gate: `^<think>…</think>\s*<answer>…</answer>$` with one box and no `\boxed{`. */
export function extractGlm(response: string): Extraction {
  const parts = splitThink(response);
  if (!parts) return fail('format: missing <think>…</think>');
  let rest = parts.rest.replace(/^\s+/, '');
  if (rest.slice(0, 8).toLowerCase() !== '<answer>') return fail('format: missing <answer> after </think>');
  // Python's `$` also matches before one final newline.
  if (rest.endsWith('\n')) rest = rest.slice(0, -1);
  if (rest.slice(-9).toLowerCase() !== '</answer>') return fail('format: response must end with </answer>');
  const think = parts.think.trim();
  const answer = rest.slice(8, rest.length - 9).trim();
  if (containsTag(think) || containsTag(answer)) return fail('format: nested think/answer tags');
  const lower = answer.toLowerCase();
  if (lower.includes('\\boxed{')) return fail('format: \\boxed{} is not allowed');
  if (count(lower, BEGIN_BOX) > 1 || count(lower, END_BOX) > 1) return fail('format: more than one box');
  if (answer.length === 0) return fail('format: empty answer');
  const boxes = findGlmBoxes(answer);
  if (boxes.length !== 1) return fail('format: answer needs exactly one <|begin_of_box|>…<|end_of_box|>');
  return pass(boxes[0]!);
}

/** Relaxed GLM gate: `<think>…</think>` then exactly one box (`<answer>` tags optional). */
export function extractGlmThink(response: string): Extraction {
  const parts = splitThink(response);
  if (!parts) return fail('format: missing <think>…</think>');
  const think = parts.think.trim();
  let answer = parts.rest.trim();
  const lower = answer.toLowerCase();
  if (lower.startsWith('<answer>') && lower.endsWith('</answer>')) answer = answer.slice(8, -9).trim();
  if (containsTag(think) || containsTag(answer)) return fail('format: nested think/answer tags');
  if (answer.length === 0) return fail('format: empty answer');
  const boxes = findBoxedContent(answer);
  if (boxes.length === 0) return fail('format: no box in the answer');
  if (boxes.length > 1) return fail('format: more than one box');
  return pass(boxes[0]!.trim());
}

function count(text: string, needle: string): number {
  let n = 0;
  let i = text.indexOf(needle);
  while (i !== -1) {
    n++;
    i = text.indexOf(needle, i + needle.length);
  }
  return n;
}

const FINAL_ANSWER_LINE =
  /(?:final answer|the answer|answer)\s*(?:is|:|：)\s*([^\n]+?)\s*(?:\.?\s*I hope it is correct\.?)?\s*$/i;
const CJK_ANSWER_LINE = /(?:最终答案|答案)\s*(?:是|为|:|：)\s*([^\n]+?)\s*[。.]?\s*$/;

/** Removes a leading reasoning block (`<think>…</think>`) if present. */
export function stripReasoning(response: string): string {
  const parts = splitThink(response.trimStart());
  return parts ? parts.rest : response;
}

/**
 * Lenient extraction for other model families, in order: `<answer>` tags, a GLM box,
 * `\boxed{}` (last or only), a final-answer line. Returns null when none is present.
 */
export function extractLenient(response: string): Extraction {
  let text = stripReasoning(response);
  const lower = text.toLowerCase();
  const open = lower.lastIndexOf('<answer>');
  if (open !== -1) {
    const close = lower.indexOf('</answer>', open);
    text = close === -1 ? text.slice(open + 8) : text.slice(open + 8, close);
  }
  const glm = findGlmBoxes(text);
  if (glm.length > 0) return pass(glm[glm.length - 1]!.trim(), 'ok: box');
  const boxed = findLatexBoxed(text);
  if (boxed.length > 0) return pass(lastBoxedAnswer(text, boxed), 'ok: \\boxed');
  const fbox = findLatexBoxed(text, '\\fbox');
  if (fbox.length > 0) return pass(fbox[fbox.length - 1]!.trim(), 'ok: \\fbox');
  if (open !== -1 && text.trim().length > 0) return pass(text.trim(), 'ok: <answer>');
  const tail = text.trimEnd().slice(-2000);
  const lines = tail.split('\n').filter((l) => l.trim().length > 0);
  for (let i = lines.length - 1; i >= Math.max(0, lines.length - 4); i--) {
    const m = FINAL_ANSWER_LINE.exec(lines[i]!) ?? CJK_ANSWER_LINE.exec(lines[i]!);
    if (m && m[1]!.trim().length > 0) {
      const value = finalAnswerValue(m[1]!.trim());
      if (value.length > 0) return pass(value, 'ok: final-answer line');
    }
    // "The final answer is:" with the value on the next line.
    if (ANSWER_ANCHOR_ONLY.test(lines[i]!) && i + 1 < lines.length) {
      const value = finalAnswerValue(lines[i + 1]!.trim());
      if (value.length > 0) return pass(value, 'ok: final-answer line');
    }
  }
  return fail('format: no answer found (no <answer>, box, \\boxed{} or final-answer line)');
}

const ANSWER_ANCHOR_ONLY = /(?:final answer|the answer|answer|答案)\s*(?:is|:|：|是|为)?\s*[:：]?\s*$/i;
const MATH_SPAN = /^(?:\$\$([\s\S]+?)\$\$|\$([^$]+)\$|\\\(([\s\S]+?)\\\)|\\\[([\s\S]+?)\\\])/;

/**
 * The value of a final-answer line without the prose after it: a leading math span ("$34$. I hope
 * it is correct.", "$x=2$, which checks out"), else the text up to the first sentence end.
 */
export function finalAnswerValue(raw: string): string {
  const t = raw.trim().replace(/^[:：]\s*/, '');
  const span = MATH_SPAN.exec(t);
  if (span) return (span[1] ?? span[2] ?? span[3] ?? span[4]!).trim();
  const boxed = findLatexBoxed(t);
  if (boxed.length > 0 && t.startsWith('\\boxed')) return boxed[0]!.trim();
  // Cut at a sentence end: ". I hope…", ". This is…", "。…" (a decimal point is followed by a digit).
  const cut = /[.。!?](?=\s+[A-Z]|\s*$)|。/.exec(t);
  return stripWrappingDollars((cut ? t.slice(0, cut.index) : t).trim());
}

/**
 * The answer among several \boxed{}: the last box, or the last run of boxes joined only by
 * separators ("\boxed{1}, \boxed{2} and \boxed{3}"), which is one list answer.
 */
export function lastBoxedAnswer(text: string, boxes: string[]): string {
  if (boxes.length === 1) return boxes[0]!.trim();
  const starts: number[] = [];
  for (let i = text.indexOf('\\boxed{'); i !== -1 && starts.length < 10_000; i = text.indexOf('\\boxed{', i + 7)) starts.push(i);
  if (starts.length !== boxes.length) return boxes[boxes.length - 1]!.trim();
  const run = [boxes[boxes.length - 1]!.trim()];
  for (let k = boxes.length - 2; k >= 0; k--) {
    const end = starts[k]! + '\\boxed{'.length + boxes[k]!.length + 1;
    const gap = text.slice(end, starts[k + 1]!);
    if (!/^[\s$,;]*(?:(?:and|or|,|;|和|或)[\s$,;]*)?$/.test(gap) || gap.length > 12) break;
    run.unshift(boxes[k]!.trim());
  }
  return run.join(', ');
}

function stripWrappingDollars(s: string): string {
  const m = /^\$+([\s\S]*?)\$+\.?$/.exec(s);
  return m ? m[1]!.trim() : s.replace(/\.$/, '');
}

/** Runs the format gate of `mode`. */
export function extractAnswer(response: string, format: FormatMode): Extraction {
  if (typeof response !== 'string') return fail('format: response is not a string');
  switch (format) {
    case 'glm':
      return extractGlm(response);
    case 'glm_think':
      return extractGlmThink(response);
    case 'lenient':
      return extractLenient(response);
    case 'none': {
      const t = response.trim();
      return t.length > 0 ? pass(t) : fail('format: empty response');
    }
  }
}

/**
 * Ground truth arrives as a GLM box, a full GLM response, `\boxed{}` or plain text: take the
 * (last) box when there is one, else the text.
 */
export function extractGroundTruth(groundTruth: string): string {
  if (typeof groundTruth !== 'string') return '';
  let text = groundTruth;
  const parts = splitThink(text.trimStart());
  if (parts) text = parts.rest;
  const lower = text.toLowerCase();
  const open = lower.indexOf('<answer>');
  if (open !== -1) {
    const close = lower.lastIndexOf('</answer>');
    if (close > open) text = text.slice(open + 8, close);
  }
  const glm = findGlmBoxes(text);
  if (glm.length > 0) return glm[glm.length - 1]!.trim();
  const trimmed = text.trim();
  if (trimmed.startsWith('\\boxed{')) {
    const boxed = findLatexBoxed(trimmed);
    if (boxed.length === 1) return boxed[0]!.trim();
  }
  return trimmed;
}

/**
 * Content of the first `<|begin_of_box|>…<|end_of_box|>` (optionally one whose content has no
 * newline, like a regex without DOTALL); null when there is none. Linear scans only.
 */
export function firstGlmBox(text: string, singleLine = false): string | null {
  let b = text.indexOf(BEGIN_BOX);
  for (let tries = 0; b !== -1 && tries < 10_000; tries++) {
    const e = text.indexOf(END_BOX, b + BEGIN_BOX.length);
    if (e === -1) return null;
    const content = text.slice(b + BEGIN_BOX.length, e);
    if (!singleLine) return content;
    const nl = content.indexOf('\n');
    if (nl === -1) return content;
    b = text.indexOf(BEGIN_BOX, b + BEGIN_BOX.length + nl);
  }
  return null;
}
