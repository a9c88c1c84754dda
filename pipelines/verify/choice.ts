/**
 * Multiple choice: an answer may be the letter(s) or the option content; several letters for
 * multi-answer questions ("A, C", "AC", "A和C").
 */
import { canonicalText } from './text.js';
import { different, equal, unknown, type Verdict } from './types.js';

/** Whether two option contents denote the same value (math-aware; supplied by the math verifier). */
export type SameValue = (a: string, b: string) => boolean;

export interface Choices {
  labels: string[];
  texts: string[];
}

const OPTION_LINE = /(?:^|\n|\s)\(?([A-H])[).．.:：、]\s*([^\n]+?)(?=\s+\(?[A-H][).．.:：、]\s|\n|$)/g;
const NUMERIC_OPTION_LINE = /(?:^|\n)\s*\((\d)\)\s*([^\n]+)/g;

/** Options from explicit choice texts, or parsed from the question ("(A) Blue\n(B) Red"). */
export function resolveChoices(question?: string, choices?: string[]): Choices | null {
  if (choices && choices.length > 0) {
    return { labels: choices.map((_, i) => String.fromCharCode(65 + i)), texts: choices.map((c) => c.trim()) };
  }
  if (!question) return null;
  const labels: string[] = [];
  const texts: string[] = [];
  for (const m of question.matchAll(OPTION_LINE)) {
    if (labels.includes(m[1]!)) continue;
    labels.push(m[1]!);
    texts.push(m[2]!.trim());
  }
  if (labels.length >= 2 && labels[0] === 'A' && labels[1] === 'B') return { labels, texts };
  labels.length = 0;
  texts.length = 0;
  for (const m of question.matchAll(NUMERIC_OPTION_LINE)) {
    labels.push(m[1]!);
    texts.push(m[2]!.trim());
  }
  return labels.length >= 2 ? { labels, texts } : null;
}

function stripChoiceDecorations(s: string): string {
  let t = s.trim();
  t = t.replace(/^\\boxed\{([\s\S]*)\}$/, '$1').replace(/\\(?:text|textbf|mathrm)\{([^{}]*)\}/g, '$1');
  t = t.replace(/^\$+|\$+$/g, '').trim();
  t = t.replace(/^(?:the\s+)?(?:correct\s+)?(?:answer|option|choice)s?\s*(?:is|are|:)?\s*/i, '');
  t = t.replace(/^(?:答案|选项)\s*(?:是|为|:|：)?\s*/, '');
  t = t.replace(/^(?:option|choice)\s+/i, '');
  return t.replace(/[.。]$/, '').trim();
}

/** The set of option labels an answer names, or null when it names none unambiguously. */
export function answerLabels(answer: string, choices: Choices, sameValue?: SameValue): string[] | null {
  const matches = (a: string, b: string) => contentMatches(a, b) || (sameValue !== undefined && sameValue(a, b));
  const t = stripChoiceDecorations(answer);
  if (t.length === 0) return null;
  const labelSet = new Set(choices.labels);
  const letterish = choices.labels.every((l) => /^[A-Z]$/.test(l));
  const norm = (l: string) => (letterish ? l.toUpperCase() : l);
  if (letterish) {
    // "A, C", "A和C", "A and C", "(A)(C)", "AC"
    const parts = t
      .replace(/\)\s*\(/g, ',')
      .split(/\s*(?:,|，|、|;|和|及|与|&|\band\b)\s*|\s+/i)
      .filter(Boolean);
    if (parts.length > 1 && parts.every((p) => /^\(?[A-Z]\)?$/.test(p))) {
      const ls = parts.map((p) => p.replace(/[()]/g, ''));
      if (ls.every((x) => labelSet.has(x))) return [...new Set(ls)].sort();
    }
    if (/^[A-Z]{2,8}$/.test(t) && [...t].every((c) => labelSet.has(c)) && new Set(t).size === t.length) {
      return [...t].sort();
    }
  }
  // "A", "(A)", "A.", "A. Blue", "A) Blue"; "A Blue" only when the rest is that option's text.
  const lead = /^\(?([A-Za-z\d])\)?(?:\s*([.．:：)、])\s*|\s+|$)([\s\S]*)$/.exec(t);
  if (lead) {
    const l = norm(lead[1]!);
    const rest = lead[3]!.trim();
    if (labelSet.has(l)) {
      const punctuated = lead[2] !== undefined || /^\(/.test(t);
      if (rest.length === 0 || punctuated || matches(rest, choices.texts[choices.labels.indexOf(l)]!)) return [l];
    }
  }
  // Option content, one or several.
  let byText = choices.texts.findIndex((x) => contentMatches(t, x));
  if (byText === -1 && sameValue) {
    // The option's value written differently (LaTeX verbatim, \dfrac vs \frac, 0.5 vs 1/2): unique match only.
    const hits = choices.texts.map((x, i) => (sameValue(t, x) ? i : -1)).filter((i) => i !== -1);
    if (hits.length === 1) byText = hits[0]!;
  }
  if (byText !== -1) return [choices.labels[byText]!];
  const pieces = t.split(/\s*(?:,|，|、|;|和|\band\b)\s*/i).filter(Boolean);
  if (pieces.length > 1) {
    const ls = pieces.map((p) => choices.texts.findIndex((x) => contentMatches(p, x)));
    if (ls.every((i) => i !== -1)) return [...new Set(ls.map((i) => choices.labels[i]!))].sort();
  }
  return null;
}

function contentMatches(a: string, b: string): boolean {
  // the answer lost its outer `$…$` in stripChoiceDecorations; an option text like `$78.20` must lose it too
  const x = canonicalText(a.trim().replace(/^\$+|\$+$/g, '')).toLowerCase().replace(/[.。]$/, '');
  const y = canonicalText(b.trim().replace(/^\$+|\$+$/g, '')).toLowerCase().replace(/[.。]$/, '');
  return x.length > 0 && x === y;
}

/** Compares a prediction with a ground truth given as letter(s) or option content. */
export function compareChoice(pred: string, gold: string, choices: Choices, multipleAnswers = false, sameValue?: SameValue): Verdict {
  const g = answerLabels(gold, choices, sameValue);
  if (!g) return unknown('ground truth names no option');
  const p = answerLabels(pred, choices, sameValue);
  if (!p) return unknown('answer names no option');
  if (!multipleAnswers && g.length === 1 && p.length > 1) return different('several options for a single-answer question');
  const same = g.length === p.length && g.every((x, i) => x === [...p].sort()[i]);
  return same ? equal(`option ${p.join(',')}`) : different(`option ${p.join(',')} ≠ ${g.join(',')}`);
}

const ANSWER_WORDS = String.raw`(?:[Aa](?:nswer|NSWER)|[Rr][ée]ponse|[Rr]espuesta|[Rr]esposta|[Rr]isposta|[Aa]ntwort|[Оо]твет|答案|答)`;
const LETTER_END = String.raw`(?:\*\*)?\)?(?=[.,:;!?。，：；！？\s]|[\u3400-\u9fff]|$)`;
const LETTER_START = String.raw`(?:^|(?<=[\s(*]))(?:\*\*)?\(?`;

/**
 * The option letter a free-text answer names, or null: "final answer is C", "answer: D",
 * "the answer is for sure D, it can't be A or B", a line that starts with the letter ("B. because…",
 * "B。不是 A"), else the last standalone letter. Anchored forms win over bare letters.
 */
export function extractChoiceLetter(text: string, labels: readonly string[] = ['A', 'B', 'C', 'D']): string | null {
  if (labels.length === 0) return null;
  const t = text.length > 20_000 ? text.slice(-20_000) : text;
  const keys = `(${labels.map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
  const letter = `${LETTER_START}${keys}${LETTER_END}`;
  const tiers: { re: RegExp; last: boolean }[] = [
    { re: new RegExp(String.raw`[Ff]inal [Aa]nswer is:?\s*\(?${keys}\)?\.?\s?I hope`, 'g'), last: true },
    { re: new RegExp(String.raw`[Ff]inal [Aa]nswer.{0,100}?\s+is:?\s*${letter}`, 'g'), last: true },
    { re: new RegExp(String.raw`${ANSWER_WORDS}\s*[:：].{0,50}?${letter}`, 'g'), last: true },
    { re: new RegExp(String.raw`${ANSWER_WORDS}.{0,50}?${letter}`, 'g'), last: true },
    { re: new RegExp(String.raw`^\s*(?:\*\*)?\(?${keys}${LETTER_END}`, 'gm'), last: false },
    { re: new RegExp(letter, 'g'), last: true },
  ];
  for (const { re, last } of tiers) {
    const found = [...t.matchAll(re)].filter((m) => labels.includes(m[1]!));
    if (found.length > 0) return (last ? found[found.length - 1]! : found[0]!)[1]!;
  }
  return null;
}
