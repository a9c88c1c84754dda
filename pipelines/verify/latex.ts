/**
 * Text glue in front of the CAS: strips LaTeX presentation (delimiters, spacing, \text wrappers,
 * \dfrac, \left/\right) and rewrites plain-text math (sqrt(x), x**2, sin(pi/2), v0) into LaTeX that
 * @cortex-js/compute-engine parses. Parsing itself is left to the CAS.
 */
import { ASCII_ONLY, toHalfWidth, unicodeScriptsToAscii, unifyPunctuation } from './text.js';

/** Commands that Math-Verify's data sometimes writes with a doubled backslash (`\\frac`). */
const KNOWN_COMMANDS =
  'frac|dfrac|tfrac|cfrac|sqrt|left|right|le|leq|ge|geq|ne|neq|lt|gt|pi|infty|cdot|times|div|pm|mp|in|cup|cap|text|mathrm|mathbf|sin|cos|tan|cot|sec|csc|ln|log|exp|alpha|beta|gamma|delta|theta|lambda|mu|sigma|omega|phi|varphi|circ|degree|begin|end|boxed|quad|qquad|dots|ldots|cdots|approx';
const DOUBLED_COMMAND = new RegExp(`(?<!\\\\)\\\\\\\\(?=(?:${KNOWN_COMMANDS})(?![a-zA-Z]))`, 'g');

/** `\\frac` → `\frac` for known commands (text escaped twice); a row break before another command is kept. */
export function undoubleCommands(s: string): string {
  return s.includes('\\\\') ? s.replace(DOUBLED_COMMAND, '\\') : s;
}

const TEXT_COMMANDS = /\\(?:text|textbf|textit|textrm|textsf|texttt|textnormal|mathrm|mathbf|mathit|mathsf|mathtt|mbox|operatorname|mathnormal|boldsymbol|bm|rm|bf)\s*\{/g;

const UNICODE_MATH: [RegExp, string][] = [
  [/π/g, '\\pi '],
  [/∞/g, '\\infty '],
  [/×/g, '\\times '],
  [/÷/g, '\\div '],
  [/[·⋅•]/g, '\\cdot '],
  [/≤|⩽/g, '\\le '],
  [/≥|⩾/g, '\\ge '],
  [/≠/g, '\\ne '],
  [/≈/g, '\\approx '],
  [/±/g, '\\pm '],
  [/∓/g, '\\mp '],
  [/∪/g, '\\cup '],
  [/∩/g, '\\cap '],
  [/∈/g, '\\in '],
  [/∅/g, '\\emptyset '],
  [/→|⟶|⇒/g, '\\to '],
  [/ℏ/g, '\\hbar '],
  [/Δ/g, '\\Delta '],
  [/ρ/g, '\\rho '],
  [/λ/g, '\\lambda '],
  [/θ/g, '\\theta '],
  [/γ/g, '\\gamma '],
  [/μ/g, '\\mu '],
  [/ω/g, '\\omega '],
  [/φ/g, '\\varphi '],
  [/α/g, '\\alpha '],
  [/β/g, '\\beta '],
];

/** All of UNICODE_MATH as one pass: one character class, one lookup. */
const UNICODE_MATH_MAP = new Map<string, string>();
for (const [re, rep] of UNICODE_MATH) for (const c of re.source.replace(/[[\]|]/g, '')) UNICODE_MATH_MAP.set(c, rep);
const UNICODE_MATH_ANY = new RegExp(`[${[...UNICODE_MATH_MAP.keys()].join('')}]`, 'gu');

/** Replaces `name{…}`-style groups by calling `fn` on the balanced inner text. */
export function mapBraceGroups(s: string, open: RegExp, fn: (inner: string, match: string) => string): string {
  let out = '';
  let last = 0;
  open.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = open.exec(s)) !== null) {
    const start = m.index;
    let i = start + m[0].length;
    let depth = 1;
    while (i < s.length && depth > 0) {
      const c = s[i];
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
    const inner = s.slice(start + m[0].length, depth === 0 ? i - 1 : i);
    out += s.slice(last, start) + fn(inner, m[0]);
    last = i;
    open.lastIndex = i;
  }
  return out + s.slice(last);
}

/** Index of the bracket closing the one opened at `open` (same kind), or -1. */
export function matchingClose(s: string, open: number): number {
  const o = s[open]!;
  const c = o === '(' ? ')' : o === '[' ? ']' : '}';
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === o) depth++;
    else if (s[i] === c) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Removes math delimiters around a whole answer: $…$, $$…$$, \(…\), \[…\]. */
export function stripMathDelimiters(s: string): string {
  let t = s.trim();
  for (let k = 0; k < 3; k++) {
    const before = t;
    if (/^\$\$[\s\S]*\$\$$/.test(t) && t.length >= 4) t = t.slice(2, -2).trim();
    else if (/^\$[\s\S]*\$$/.test(t) && t.length >= 2) t = t.slice(1, -1).trim();
    else if (t.startsWith('\\(') && t.endsWith('\\)')) t = t.slice(2, -2).trim();
    else if (t.startsWith('\\[') && t.endsWith('\\]')) t = t.slice(2, -2).trim();
    if (t === before) break;
  }
  return t;
}

export interface CleanOptions {
  /** Remove degree marks (72° → 72). Keep them inside trigonometric arguments. */
  stripDegrees?: boolean;
  /** Remove \text{…} groups entirely (units, words) instead of unwrapping them. */
  dropText?: boolean;
}

/** LaTeX presentation clean-up; the result is still LaTeX. */
export function cleanLatex(input: string, opts: CleanOptions = {}): string {
  let s = unifyPunctuation(toHalfWidth(input)).replace(/根号\s*/g, '√');
  // A row separator right before \end{…matrix} adds an empty row.
  const tex = s.includes('\\');
  if (tex) {
    s = s.replace(/\\\\\s*(?=\\end\{)/g, ' ');
    s = s.replace(DOUBLED_COMMAND, '\\');
  }
  s = stripMathDelimiters(s);
  if (tex) s = cleanCommands(s);
  else if (s.includes('~') || s.includes('{')) {
    s = s.replace(/(\d)\s*\{\s*,\s*\}\s*(?=\d{3})/g, '$1').replace(/~/g, ' ');
  }
  s = s.replace(/>=/g, '\\ge ').replace(/<=/g, '\\le ').replace(/!=/g, '\\ne ');
  if (opts.stripDegrees !== false) s = stripDegreeMarks(s);
  if (s.includes('\\')) {
    s = mapBraceGroups(s, /\\(?:boxed|fbox)\s*\{/g, (inner) => inner);
    s = opts.dropText
      ? mapBraceGroups(s, TEXT_COMMANDS, () => ' ')
      : mapBraceGroups(s, TEXT_COMMANDS, (inner) => inner);
    s = s.replace(/\\(?:mathbb|mathcal|mathfrak)\s*\{([^{}]*)\}/g, '\\mathbb{$1}');
  }
  if (!/(?:\.\.\.|…|\\[lc]?dots)\s*$/.test(s)) s = s.replace(/[.,;:。，；]+\s*$/u, '');
  return s.replace(/\s+/g, ' ').trim();
}

/** The command-level part of cleanLatex (only for text with a backslash). */
function cleanCommands(input: string): string {
  let s = input;
  s = s.replace(/\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits)\b/g, ' ');
  s = s.replace(/\\[dtc]frac(?![a-zA-Z])/g, '\\frac');
  s = s.replace(/\\left\s*\\?\./g, '').replace(/\\right\s*\\?\./g, '');
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|biggl|biggr)(?![a-zA-Z])/g, '');
  // Thousands separators written as LaTeX spacing between digits: 14{,}916, 32,\!349, 1\,000.
  s = s.replace(/(\d)\s*\{\s*,\s*\}\s*(?=\d{3})/g, '$1');
  s = s.replace(/(\d),\s*\\!\s*(?=\d{3})/g, '$1');
  s = s.replace(/(\d)(?<!\\)\\[,;:!]\s*(?=\d{3}(?!\d))/g, '$1');
  s = s.replace(/(?<!\\)\\[,;:!>]|\\quad|\\qquad|\\enspace|\\thinspace|~/g, ' ');
  s = s.replace(/(?<!\\)\\ (?=\S)/g, ' ');
  s = s.replace(/\\(?:leqslant|leq)(?![a-zA-Z])/g, '\\le').replace(/\\(?:geqslant|geq)(?![a-zA-Z])/g, '\\ge');
  s = s.replace(/\\lt(?![a-zA-Z])/g, '<').replace(/\\gt(?![a-zA-Z])/g, '>');
  s = s.replace(/\\neq(?![a-zA-Z])/g, '\\ne');
  s = s.replace(/\\%/g, '%');
  s = s.replace(/\\\$/g, '');
  return s;
}

/** 72°, 72^\circ, 72^{\circ}, 72\degree → 72 (unless inside a trig function argument). */
export function stripDegreeMarks(s: string): string {
  if (/\\(?:sin|cos|tan|cot|sec|csc)|\b(?:sin|cos|tan)\b/.test(s)) return s;
  return s
    .replace(/\^\s*\{\s*\\circ\s*\}/g, '')
    .replace(/\^\s*\\circ/g, '')
    .replace(/\\circ(?![a-zA-Z])/g, '')
    .replace(/\\degree(?![a-zA-Z])/g, '')
    .replace(/°\s*[CF]?(?![a-zA-Z])/g, '')
    .replace(/\s*(?:degrees?|deg)\b/gi, '');
}

const PLAIN_FUNCTIONS = [
  'arcsin', 'arccos', 'arctan', 'arcsec', 'arccsc', 'arccot',
  'sinh', 'cosh', 'tanh', 'coth', 'sin', 'cos', 'tan', 'cot', 'sec', 'csc',
  'exp', 'ln', 'log', 'det', 'max', 'min', 'gcd', 'lcm',
];
const PLAIN_FUNCTION_RE = new RegExp(`(?<![a-zA-Z\\\\])(${PLAIN_FUNCTIONS.join('|')})(?=\\s*[({^\\dA-Za-z\\\\])`, 'g');

/** Rewrites plain-text math into LaTeX; LaTeX input passes through mostly unchanged. */
export function plainToLatex(input: string): string {
  let s = unicodeScriptsToAscii(input, 'latex');
  if (!ASCII_ONLY.test(s)) s = s.replace(UNICODE_MATH_ANY, (c) => UNICODE_MATH_MAP.get(c) ?? c);
  s = s.replace(/\*\*/g, '^');
  // √(…), √x, √9, 根号2
  s = s.replace(/根号\s*/g, '√');
  s = rewriteRadicals(s);
  s = rewriteFunctionCall(s, 'sqrt', (inner) => `\\sqrt{${inner}}`);
  s = s.replace(PLAIN_FUNCTION_RE, (_m, name: string) => (name === 'log' ? '\\ln' : `\\${name}`));
  s = s.replace(/(?<![a-zA-Z\\])(?:pi)(?![a-zA-Z])/g, '\\pi ');
  s = s.replace(/(?<![a-zA-Z\\])(?:infinity|inf|oo)(?![a-zA-Z])/gi, '\\infty ');
  s = rewriteExponentGroups(s);
  // A single letter before "(" multiplies (m(v+u), x(x+1)); f, g, h stay function names.
  s = s.replace(/(?<![a-zA-Z\\_^])([a-eA-Ei-zI-Z])\s*\(/g, '$1\\cdot(');
  // Primed variables (t', v') are symbols, not derivatives, unless applied: f'(x).
  s = s.replace(/(?<![a-zA-Z\\])([a-zA-Z])'(?!\s*\()/g, '$1_{prime}');
  // \sin\theta/\cos\theta trips the parser; a bracketed single-token argument does not.
  s = s.replace(/(\\(?:sin|cos|tan|cot|sec|csc|sinh|cosh|tanh|ln|log|exp)(?:\^\{[^{}]*\})?)\s*(\\[a-zA-Z]+|[a-zA-Z])(?![a-zA-Z_({^])\s*/g, '$1($2) ');
  return subscriptDigitSuffixes(s);
}

function rewriteRadicals(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '√') {
      out += s[i];
      continue;
    }
    let j = i + 1;
    while (s[j] === ' ') j++;
    if (s[j] === '(' || s[j] === '{') {
      const close = matchingClose(s, j);
      if (close === -1) {
        out += '\\sqrt';
        continue;
      }
      out += `\\sqrt{${s.slice(j + 1, close)}}`;
      i = close;
    } else {
      const m = /^(\d+(?:\.\d+)?|\\[a-zA-Z]+|[a-zA-Z])/.exec(s.slice(j));
      if (!m) {
        out += '\\sqrt';
        continue;
      }
      out += `\\sqrt{${m[1]}}`;
      i = j + m[1]!.length - 1;
    }
  }
  return out;
}

function rewriteFunctionCall(s: string, name: string, fn: (inner: string) => string): string {
  const re = new RegExp(`(?<![a-zA-Z\\\\])${name}\\s*\\(`, 'g');
  let out = '';
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const open = m.index + m[0].length - 1;
    const close = matchingClose(s, open);
    if (close === -1) break;
    out += s.slice(last, m.index) + fn(s.slice(open + 1, close));
    last = close + 1;
    re.lastIndex = close + 1;
  }
  return out + s.slice(last);
}

/** x^(a+b) → x^{a+b}; 10^-34 → 10^{-34}; x^12 stays for LaTeX input but x^12 plain → x^{12}. */
function rewriteExponentGroups(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '^') {
      out += c;
      continue;
    }
    let j = i + 1;
    while (s[j] === ' ') j++;
    if (s[j] === '(') {
      const close = matchingClose(s, j);
      if (close !== -1) {
        out += `^{${s.slice(j + 1, close)}}`;
        i = close;
        continue;
      }
    }
    const m = /^([+-]?\d+(?:\.\d+)?)/.exec(s.slice(j));
    if (m && (m[1]!.length > 1 || m[1]!.startsWith('-'))) {
      out += `^{${m[1]}}`;
      i = j + m[1]!.length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

const FUNCTION_PREFIX = /^(?:arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|exp|ln|log|det)/;

/** Plain identifiers with digit suffixes: v0 → v_{0}, kq1q2 → kq_{1}q_{2} (not numbers, not commands). */
function subscriptDigitSuffixes(s: string): string {
  return s.replace(/(?<![\\a-zA-Z0-9_^])[a-zA-Z][a-zA-Z0-9]*\d[a-zA-Z0-9]*/g, (run) => {
    const fn = FUNCTION_PREFIX.exec(run)?.[0] ?? '';
    const rest = run.slice(fn.length).replace(/([a-zA-Z])(\d+)(?![\d.])/g, '$1_{$2}');
    return fn + rest;
  });
}
