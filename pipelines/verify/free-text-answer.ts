/**
 * Final-answer extraction from free text (chain-of-thought without tags), with Math-Verify's
 * precedence: "final answer is $…$. I hope" and \boxed{} first, then "final answer … is", then
 * "answer:", then any formula / number — the rightmost match of the best group that parses wins.
 */
import { findLatexBoxed, lastBoxedAnswer } from './format.js';
import { undoubleCommands } from './latex.js';

export interface FreeTextOptions {
  latex: boolean;
  expr: boolean;
  /** Candidate acceptance test (parses as math). */
  accepts: (candidate: string) => boolean;
}

const PERCENT = String.raw`(?:\s*(\\?%|[Pp]ercentage|[Pp]ercent|[Pp]ct))?`;

function envPattern(boxed: boolean): string {
  const displayDollar = String.raw`(?:[^$]|\$(?!\$))`;
  const displayBracket = String.raw`(?:[^\\]|\\(?!\]))`;
  const inlineDollar = String.raw`(?:\\[$]|[^\n$])`;
  const inlineParen = String.raw`(?:[^\\\n]|\\(?!\)))`;
  const inlineBracket = String.raw`[^\n\]\[]`;
  const body = (c: string) => (boxed ? String.raw`${c}*?\\boxed\{${c}+?\}${c}*?` : `${c}+?`);
  const alts = [
    String.raw`(?<!\\)\$\$${body(displayDollar)}(?<!\\)\$\$`,
    String.raw`(?<!\\)\\\[${body(displayBracket)}(?<!\\)\\\]`,
    String.raw`(?<![\\\d])\$${body(inlineDollar)}(?<!\\)\$`,
    String.raw`(?<!\\)\\\(${body(inlineParen)}(?<!\\)\\\)`,
    String.raw`\s\[${body(inlineBracket)}\]\s`,
  ];
  if (!boxed) alts.push(String.raw`-?\\frac\{-?\d+(?:[.,]\d+)?\}\{-?\d+(?:[.,]\d+)?\}`);
  return `(?:${alts.join('|')})${PERCENT}`;
}

function joinedEnvs(boxed: boolean): string {
  const one = envPattern(boxed);
  return `${one}(?:\\s*(?:,?and|,?or|,)\\s*${one}){0,5}`;
}

interface PatternSpec {
  re: RegExp;
  priority: number;
  kind: 'latex' | 'boxed-bare' | 'expr';
  /** A cheap test the text must pass before the pattern can match at all (skips the scan). */
  needs?: RegExp;
}

const NEEDS_HOPE = /[Ff][Ii][Nn][Aa][Ll] [Aa][Nn][Ss][Ww][Ee][Rr] [Ii][Ss]/;
const NEEDS_FINAL = /[Ff]inal [Aa]nswer/;
const NEEDS_ANSWER = /[Aa]nswer/;
const NEEDS_BOX = /\\boxed\{/;

let cached: { latex: PatternSpec[]; expr: PatternSpec[] } | null = null;

function patterns(): { latex: PatternSpec[]; expr: PatternSpec[] } {
  if (cached) return cached;
  const envs = joinedEnvs(false);
  const boxedEnvs = joinedEnvs(true);
  const latex: PatternSpec[] = [
    { re: new RegExp(String.raw`(?:[Ff][Ii][Nn][Aa][Ll] [Aa][Nn][Ss][Ww][Ee][Rr] [Ii][Ss]):?\s*(${envs})\.?\s?I hope`, 'gs'), priority: 0, kind: 'latex', needs: NEEDS_HOPE },
    { re: new RegExp(String.raw`(?:[Ff]inal [Aa]nswer.{0,100}?)\s+is:?\s*(${envs})`, 'gs'), priority: 50, kind: 'latex', needs: NEEDS_FINAL },
    { re: new RegExp(String.raw`[Aa]nswer:.{0,50}?(${envs})`, 'gs'), priority: 100, kind: 'latex', needs: NEEDS_ANSWER },
    { re: new RegExp(String.raw`[Aa]nswer.{0,50}?(${envs})`, 'gs'), priority: 200, kind: 'latex', needs: NEEDS_ANSWER },
    { re: new RegExp(`(${envs})`, 'gs'), priority: 300, kind: 'latex' },
    { re: new RegExp(`(${boxedEnvs})`, 'gs'), priority: 0, kind: 'latex', needs: NEEDS_BOX },
    { re: /(\\boxed\{.+\})/gs, priority: 0, kind: 'boxed-bare', needs: NEEDS_BOX },
  ];
  // A mixed number ("4 4/9", "+11 5/6", "1 000 4/9") on one line comes first: it is one value.
  const mixed = String.raw`[+-]?(?:[1-9]\d{0,2}(?:[ ,]\d{3})+|\d+)[ \t]+\d+\/\d+`;
  const number = String.raw`(?<!\d)(?:${mixed}|-?[1-9]\d{0,2}(?:[ ,]\d{3})+(?:\.\d+)?|-?\d+[.,]\d+|\.\d+|-?\d+)(?:\s*(?:%|[Pp]ercent|\s*[Pp]ercentage|\s*[Pp]ct))?`;
  const ops = String.raw`\+\-\*×\/\^\(\)÷`;
  const exprChars = String.raw`[\d.\s${ops}]`;
  const expr = String.raw`[+-]?\(?-?\d${exprChars}*[${ops}]${exprChars}+\)?`;
  // Chinese and Japanese prose writes numbers without spaces ("总共有99颗"): a CJK character bounds a number too.
  const prefix = String.raw`(?:^|\s|=|(?<=[\u3000-\u303f\u3400-\u9fff\uff01-\uff60]))(?:\*\*)?`;
  const suffix = String.raw`(?:\*\*)?(?:\.|,|:|\s|\)|\$|$)`;
  const currency = '[$€£¥₹]?';
  const exprAnchored = `(?:${prefix}(${expr})${suffix})`;
  const numberAnchored = `(?:${prefix}${currency}(${number}))`;
  const either = `(?:${exprAnchored}|${numberAnchored})`;
  const exprPatterns: PatternSpec[] = [
    { re: new RegExp(String.raw`(?:[Ff][Ii][Nn][Aa][Ll] [Aa][Nn][Ss][Ww][Ee][Rr] [Ii][Ss]):?\s*${either}\.?\s?I hope`, 'g'), priority: 0, kind: 'expr', needs: NEEDS_HOPE },
    { re: new RegExp(String.raw`(?:[Ff]inal [Aa]nswer.{0,100}?)\s+is:?${either}`, 'g'), priority: 50, kind: 'expr', needs: NEEDS_FINAL },
    { re: new RegExp(String.raw`[Aa]nswer:(?:.{0,100}=\s*|.{0,50}?)${either}(?!\s*=)`, 'g'), priority: 100, kind: 'expr', needs: NEEDS_ANSWER },
    { re: new RegExp(String.raw`[Aa]nswer(?:.{0,100}=\s*|.{0,50}?)${either}(?!\s*=)`, 'g'), priority: 200, kind: 'expr', needs: NEEDS_ANSWER },
    { re: new RegExp(exprAnchored, 'gm'), priority: 300, kind: 'expr' },
    { re: new RegExp(numberAnchored, 'gm'), priority: 300, kind: 'expr' },
  ];
  cached = { latex, expr: exprPatterns };
  return cached;
}

const SINGLE_ENV = new RegExp(envPattern(false), 'gs');
const SINGLE_BOXED_ENV = new RegExp(envPattern(true), 'gs');

function envContent(env: string): string {
  const t = env.trim();
  if (t.startsWith('$$')) return t.slice(2, -2);
  if (t.startsWith('\\[') || t.startsWith('\\(')) return t.slice(2, -2);
  if (t.startsWith('$')) return t.slice(1, -1);
  if (t.startsWith('[')) return t.slice(1, -1);
  return t;
}

/** Candidate answers of one latex match (several envs joined by "and" become a list). */
function latexCandidate(matchText: string): string {
  const parts: string[] = [];
  for (const re of [SINGLE_BOXED_ENV, SINGLE_ENV]) {
    re.lastIndex = 0;
    const found = [...matchText.matchAll(re)];
    if (found.length === 0) continue;
    for (const m of found) {
      const pct = m[1] ? '%' : '';
      const env = m[1] ? m[0].slice(0, m[0].lastIndexOf(m[1])) : m[0];
      let content = envContent(env);
      const boxes = findLatexBoxed(content);
      if (boxes.length > 0) content = boxes.join(', ');
      parts.push(content.trim() + pct);
    }
    break;
  }
  return parts.join(', ');
}

/**
 * Candidates in Math-Verify order. Returns the first accepted candidate, else the first
 * candidate seen (compared as text), else null.
 */
export function extractFreeTextAnswer(text: string, opts: FreeTextOptions): string | null {
  // Unclosed $ or \[ make the lazy environment patterns scan to the end from every opener:
  // bound the text (its tail holds the answer) and the number of delimiters.
  if (text.length > 60_000) text = text.slice(-60_000);
  text = undoubleCommands(text);
  const dollars = text.split('$').length - 1;
  if (dollars > 2_000 || text.split('\\').length > 20_000) text = text.slice(-8_000);
  const quick = wholeTextCandidate(text, opts);
  if (quick !== null && opts.accepts(quick)) return quick;
  const { latex, expr } = patterns();
  const specs = [...(opts.latex ? latex : []), ...(opts.expr ? expr : [])];
  const priorities = [...new Set(specs.map((s) => s.priority))].sort((a, b) => a - b);
  const failedLatex: [number, number][] = [];
  let fallback: string | null = null;
  for (const pr of priorities) {
    const matches: { start: number; end: number; spec: PatternSpec; value: string; groupStart: number }[] = [];
    for (const spec of specs) {
      if (spec.priority !== pr || (spec.needs && !spec.needs.test(text))) continue;
      spec.re.lastIndex = 0;
      for (const m of text.matchAll(spec.re)) {
        const value = m.slice(1).find((g) => g !== undefined) ?? m[0];
        const groupStart = m.index! + m[0].indexOf(value);
        matches.push({ start: m.index!, end: m.index! + m[0].length, spec, value, groupStart });
        if (matches.length > 5000) break;
      }
    }
    matches.sort((a, b) => b.end - a.end || a.start - b.start);
    for (const m of matches) {
      let candidate: string;
      if (m.spec.kind === 'expr') {
        const gs = m.groupStart;
        const ge = gs + m.value.length;
        if (failedLatex.some(([lo, hi]) => gs < hi && ge > lo)) continue;
        // "4 4/9 2": numbers side by side are several values, not one expression (a leading mixed number or thousands groups aside).
        if (JUXTAPOSED.test(m.value.replace(LEADING_MIXED, '0'))) continue;
        candidate = normaliseNumberCandidate(m.value);
      } else if (m.spec.kind === 'boxed-bare') {
        // The last box, or the last run of boxes joined only by separators; an unclosed box runs to the end.
        const boxes = findLatexBoxed(text);
        candidate = boxes.length > 0 ? lastBoxedAnswer(text, boxes) : m.value;
      } else candidate = latexCandidate(m.value);
      if (candidate.trim().length === 0) continue;
      if (opts.accepts(candidate)) return candidate;
      fallback ??= candidate;
      if (m.spec.kind !== 'expr') failedLatex.push([m.groupStart, m.groupStart + m.value.length]);
    }
  }
  // Nothing parses: the first string seen is compared as text (Math-Verify's "first_match" fallback).
  return fallback;
}

const WHOLE_INLINE = /^\s*(\$\$?)([^$\n]*)\1\s*$/;
const WHOLE_NUMBER = /^\s*-?\d+(?:\.\d+)?\s*$/;

/**
 * The candidate the patterns would rank first when the whole text is one `$…$` / `$$…$$` formula
 * (no box, no answer marker) or one plain number: most golds and many short answers. Skipping the
 * pattern battery for them is the cheap path; anything else, or a candidate that is not accepted,
 * takes the full search.
 */
function wholeTextCandidate(text: string, opts: FreeTextOptions): string | null {
  if (text.length > 300) return null;
  if (opts.expr && WHOLE_NUMBER.test(text)) return normaliseNumberCandidate(text);
  if (!opts.latex) return null;
  const m = WHOLE_INLINE.exec(text);
  if (!m || m[2]!.trim().length === 0 || m[2]!.includes('\\boxed') || m[2]!.endsWith('\\')) return null;
  return latexCandidate(text);
}

const JUXTAPOSED = /\d\s+(?!\d{3}(?!\d))\d/;
const LEADING_MIXED = /^\s*[+-]?(?:[1-9]\d{0,2}(?:[ ,]\d{3})+|\d+)[ \t]+\d+\/\d+/;

function normaliseNumberCandidate(s: string): string {
  const t = s.trim();
  const pct = /(?:%|[Pp]ercent|[Pp]ercentage|[Pp]ct)$/.test(t);
  const core = t.replace(/\s*(?:%|[Pp]ercentage|[Pp]ercent|[Pp]ct)$/, '');
  const mixed = /^([+-]?)([\d ,]+?)[ \t]+(\d+)\/(\d+)$/.exec(core);
  if (mixed) {
    const whole = mixed[2]!.replace(/[ ,]/g, '');
    // "11 7/6" is not a mixed number (improper part): its fraction stands alone.
    if (Number(mixed[3]) >= Number(mixed[4])) return `${mixed[3]}/${mixed[4]}${pct ? '%' : ''}`;
    return `${mixed[1] === '-' ? '-' : ''}${whole} ${mixed[3]}/${mixed[4]}${pct ? '%' : ''}`;
  }
  if (/^-?[1-9]\d{0,2}(?:[ ,]\d{3})+(?:\.\d+)?$/.test(core)) return core.replace(/[ ,]/g, '') + (pct ? '%' : '');
  if (/^-?\d+,\d+$/.test(core)) return core.replace(',', '.') + (pct ? '%' : '');
  return core + (pct ? '%' : '');
}
