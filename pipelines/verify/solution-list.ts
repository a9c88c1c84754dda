/**
 * Answers that are lists of solutions, in the forms models and golds write them: "2, -3",
 * "x = 2 or x = -3", "x = \pm 2", "\{-2, 2\}", "(p, q) = (3, 2)" — as the items to compare
 * unordered. A parenthesised or bracketed whole ("(1, 2)", "[1, 2)") is one item: a tuple or an
 * interval, never a solution list.
 */
import { splitTopLevel } from './text.js';

const SEPARATORS = [',', ';', '，', '；', '、', ' and ', ' 和 ', '和', '\\lor', '\\text{ or }', '\\text{or}', ' or ', '或'];
const PLUS_MINUS = /\\pm(?![a-zA-Z])|±|\\mp(?![a-zA-Z])|∓/g;

/** The inner text of a set written with braces ("\{1, 2\}", "{1, 2}"), else null. */
function setInner(s: string): string | null {
  const t = s.trim();
  if (t.startsWith('\\{') && t.endsWith('\\}')) return balanced(t.slice(2, -2)) ? t.slice(2, -2) : null;
  if (t.startsWith('\\left\\{') && t.endsWith('\\right\\}')) return t.slice(7, -8);
  return null;
}

/** The bracket opening the text closes at its end ("(1, 2)", "[0, 1)"; not "(x, y) = (5, 8)"). */
function closesAtEnd(t: string): boolean {
  let d = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '(' || c === '[' || c === '{') d++;
    else if (c === ')' || c === ']' || c === '}') {
      d--;
      if (d === 0) return i === t.length - 1;
    }
  }
  return false;
}

function balanced(s: string): boolean {
  let d = 0;
  for (const c of s) {
    if (c === '{') d++;
    else if (c === '}' && --d < 0) return false;
  }
  return d === 0;
}

/** "a \pm b" → ["a + b", "a - b"]; several ± signs are expanded in lockstep (one sign choice each). */
export function expandPlusMinus(s: string): string[] {
  if (!PLUS_MINUS.test(s)) return [s];
  PLUS_MINUS.lastIndex = 0;
  const plus = s.replace(PLUS_MINUS, (m) => (m === '\\mp' || m === '∓' ? '-' : '+'));
  const minus = s.replace(PLUS_MINUS, (m) => (m === '\\mp' || m === '∓' ? '+' : '-'));
  return [plus, minus];
}

/** "x = 3" → "3" when the left side is a label (letters, no digits) and the right side holds no letters. */
export function stripLabel(item: string): string {
  const parts = splitTopLevel(item, ['=']);
  if (parts.length !== 2) return item;
  const [lhs, rhs] = [parts[0]!.trim(), parts[1]!.trim()];
  if (lhs.length === 0 || rhs.length === 0 || /[<>]|\\(?:le|ge|ne)/.test(item)) return item;
  const bare = (x: string) => x.replace(/\\(?:frac|sqrt|pi|left|right|cdot|times|mathrm|text|operatorname)(?![a-zA-Z])/g, '');
  if (/\d/.test(bare(lhs).replace(/_\{?\d+\}?/g, '')) || !/[A-Za-z]/.test(lhs)) return item;
  if (/[A-Za-z]/.test(bare(rhs).replace(/\\[a-zA-Z]+/g, '').replace(/\b[ei]\b/g, ''))) return item;
  return rhs;
}

export interface SolutionItems {
  items: string[];
  /** The text was a list (separators, a braced set, "or", ±), not one value. */
  isList: boolean;
  /** Written as a set ("\{…\}"): unordered whatever the options say. */
  isSet: boolean;
  /** One parenthesised / bracketed whole: a tuple, a point or an interval. */
  bracketed: boolean;
}

/** The solution items of an answer text. */
export function solutionItems(text: string): SolutionItems {
  let t = text.trim();
  // A bare TeX group "{1, 3}" is grouping, not a set.
  while (t.startsWith('{') && t.endsWith('}') && balanced(t.slice(1, -1))) t = t.slice(1, -1).trim();
  const inner = setInner(t);
  const isSet = inner !== null;
  if (inner !== null) t = inner;
  // "(11,7)or(7,11)": joined tuples are a list even without spaces around the word.
  if (/[)\]]\s*(?:or|and)\s*[([]/.test(t)) t = t.replace(/([)\]])\s*(?:or|and)\s*(?=[([])/g, '$1, ');
  if (/^[([].*[)\]]$/s.test(t) && closesAtEnd(t) && splitTopLevel(t, [',', ';']).length === 1 && !/\\pm|±/.test(t)) {
    return { items: [normaliseTuple(t)], isList: isSet, isSet, bracketed: !isSet };
  }
  const groups = labelledGroups(t);
  if (groups) return { items: groups, isList: true, isSet: true, bracketed: false };
  const raw = splitTopLevel(t, SEPARATORS).map((x) => x.trim()).filter((x) => x.length > 0);
  const items = raw.flatMap(expandPlusMinus).map(normaliseTuple);
  return { items, isList: isSet || items.length > 1, isSet, bracketed: false };
}

/** "(0;-2;6)" → "(0,-2,6)": semicolons as the separators of a tuple. */
function normaliseTuple(item: string): string {
  if (/^\(.*\)$/.test(item) && item.includes(';') && !item.includes(',')) return item.replace(/;/g, ',');
  return item;
}

/** The unknown an item "x_1 = 3" assigns (subscripts dropped: "x"), or null when it is not a labelled constant. */
export function labelBase(item: string): string | null {
  if (stripLabel(item) === item) return null;
  const lhs = item.slice(0, item.indexOf('=')).trim();
  return lhs.replace(/_\{?[\w]+\}?$/, '').trim();
}

const FUNCTION_LABEL = /^\s*[a-zA-Z](?:_\{?\w+\}?)?\s*(?:\\left)?\(\s*[a-zA-Z](?:\s*,\s*[a-zA-Z])*\s*(?:\\right)?\)\s*=(?!=)/;

/** "f(x) = x^2 + 1" → "x^2 + 1" (the engine reads p(x) as a product p·x, so the label goes as text). */
export function stripFunctionLabel(s: string): string {
  const m = FUNCTION_LABEL.exec(s);
  return m && !s.slice(m[0].length).includes('=') ? s.slice(m[0].length).trim() : s;
}

const GROUP_SEPARATORS = [';', '；', ' and ', ' or ', '\\lor', ' 和 ', '或'];

/**
 * Solutions written as groups of labelled assignments, "p = 5, q = 2; p = 7, q = 2" (or joined by
 * "and"/"or"): each group is one tuple with its unknowns in alphabetical order (x, y, z; p, q;
 * x_1, x_2), so the answer compares with "(5, 2), (7, 2)" and with groups labelled in another order. Null unless there are several groups, each assigning the
 * same two or more distinct unknowns a value.
 */
function labelledGroups(t: string): string[] | null {
  if (!t.includes('=')) return null;
  const parts = splitTopLevel(t, GROUP_SEPARATORS).map((x) => x.trim()).filter((x) => x.length > 0);
  if (parts.length < 2) return null;
  let order: string[] | null = null;
  const tuples: string[] = [];
  for (const part of parts) {
    const items = splitTopLevel(part, [',', '，']).map((x) => x.trim());
    if (items.length < 2) return null;
    const values = new Map<string, string>();
    for (const item of items) {
      const value = stripLabel(item);
      if (value === item) return null;
      const label = item.slice(0, item.indexOf('=')).trim().replace(/\s+/g, '');
      if (values.has(label)) return null;
      values.set(label, value);
    }
    order ??= [...values.keys()].sort();
    if (order.length !== values.size || order.some((l) => !values.has(l))) return null;
    tuples.push(`(${order.map((l) => values.get(l)!).join(', ')})`);
  }
  return tuples;
}
