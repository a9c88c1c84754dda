/**
 * A recursive-descent parser for the LaTeX most answers are written in, producing MathJSON in the
 * shapes the engine's canonical form uses: arithmetic ("\frac{3}{4}\pi", "2\sqrt{2}+x^2"),
 * subscripted and Greek symbols, elementary functions (\sin^2 x, \log_2 8, \sqrt[3]{x}, |x - 1|,
 * n!), ± and ∓, relations and their chains, tuples, lists, sets, intervals, unions, \in, and
 * pmatrix/bmatrix/vmatrix environments. It covers the bulk of answers at a small fraction of the
 * engine's cost; anything it is not sure about (function calls such as f(x), mixed numbers, "1/2x",
 * text, commands it does not know) returns null and goes to the engine. Generated tests check that
 * it reads the same values as the engine's canonical parse.
 */
import type { MathJson } from './cas.js';

type Tok =
  | { t: 'num'; v: string }
  | { t: 'sym'; v: string }
  | { t: 'op'; v: '+' | '-' | '*' | '/' | '^' }
  | { t: 'open'; v: '(' | '{' | '[' | '\\{' }
  | { t: 'close'; v: ')' | '}' | ']' | '\\}' }
  | { t: 'cmd'; v: 'frac' | 'sqrt' | 'pi' | 'inf' | 'empty' }
  | { t: 'func'; v: string; base?: MathJson }
  | { t: 'pm'; v: 'Measurement' | 'MinusPlus' }
  | { t: 'rel'; v: string }
  | { t: 'in' }
  | { t: 'cup' }
  | { t: 'bar' }
  | { t: 'bang' }
  | { t: 'mat'; v: MathJson }
  | { t: 'colon' }
  | { t: 'comma' };

const RELATION_COMMANDS: Record<string, string> = {
  le: 'LessEqual', leq: 'LessEqual', ge: 'GreaterEqual', geq: 'GreaterEqual', ne: 'NotEqual', neq: 'NotEqual', lt: 'Less', gt: 'Greater',
};

/** Function commands and their canonical heads (\exp becomes a power of e). */
const FUNCTIONS: Record<string, string> = {
  sin: 'Sin', cos: 'Cos', tan: 'Tan', cot: 'Cot', sec: 'Sec', csc: 'Csc',
  arcsin: 'Arcsin', arccos: 'Arccos', arctan: 'Arctan', sinh: 'Sinh', cosh: 'Cosh', tanh: 'Tanh',
  ln: 'Ln', log: 'Log', exp: 'Exp',
};
const INVERSE: Record<string, string> = { Sin: 'Arcsin', Cos: 'Arccos', Tan: 'Arctan' };

/** Greek letters whose engine symbol names are their command names. */
const GREEK = new Set(['alpha', 'beta', 'gamma', 'theta', 'lambda', 'mu', 'sigma', 'omega', 'Delta']);

const SYMBOLS: Record<string, string> = { e: 'ExponentialE', i: 'ImaginaryUnit' };
const FUNCTION_NAMES = new Set(['f', 'g', 'h', 'F', 'G', 'H']);

const MATRIX_ENVS = new Set(['pmatrix', 'bmatrix', 'matrix', 'vmatrix', 'array']);

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/** A subscript after a symbol: "_1", "_{12}", "_a", "_{ab}"; its text and the index after it, or null. */
function subscript(s: string, i: number): { text: string; end: number } | null {
  if (s[i] !== '_') return null;
  const c = s[i + 1];
  if (isDigit(c) || isLetter(c)) return { text: c!, end: i + 2 };
  if (c !== '{') return null;
  const close = s.indexOf('}', i + 2);
  if (close === -1) return null;
  const text = s.slice(i + 2, close).trim();
  return /^[a-zA-Z0-9]+$/.test(text) ? { text, end: close + 1 } : null;
}

function tokenize(s: string, depth: number): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  // "\frac12", "\sqrt3": digits right after the command are one-digit arguments.
  let shortArgs = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ') {
      i++;
      continue;
    }
    if (shortArgs > 0 && isDigit(c)) {
      out.push({ t: 'num', v: c });
      shortArgs--;
      i++;
      continue;
    }
    shortArgs = 0;
    if (isDigit(c) || c === '.') {
      let j = i;
      while (j < s.length && (isDigit(s[j]) || s[j] === '.')) j++;
      const v = s.slice(i, j);
      if (!/^\d+(?:\.\d+)?$/.test(v)) return null;
      // "2 3" is one number to the engine: leave it to the engine.
      if (out.length > 0 && out[out.length - 1]!.t === 'num') return null;
      out.push({ t: 'num', v });
      i = j;
      continue;
    }
    if (isLetter(c)) {
      const sub = subscript(s, i + 1);
      if (sub) {
        out.push({ t: 'sym', v: `${c}_${sub.text}` });
        i = sub.end;
      } else {
        out.push({ t: 'sym', v: SYMBOLS[c] ?? c });
        i++;
      }
      continue;
    }
    switch (c) {
      case '+':
      case '-':
      case '*':
      case '/':
      case '^':
        out.push({ t: 'op', v: c });
        i++;
        continue;
      case '=':
      case '<':
      case '>':
        if (s[i + 1] === '=' || s[i + 1] === '>' || s[i + 1] === '<') return null;
        out.push({ t: 'rel', v: c === '=' ? 'Equal' : c === '<' ? 'Less' : 'Greater' });
        i++;
        continue;
      case ':':
        out.push({ t: 'colon' });
        i++;
        continue;
      case ',':
        out.push({ t: 'comma' });
        i++;
        continue;
      case '(':
      case '{':
      case '[':
        out.push({ t: 'open', v: c });
        i++;
        continue;
      case ')':
      case '}':
      case ']':
        out.push({ t: 'close', v: c });
        i++;
        continue;
      case '|':
        out.push({ t: 'bar' });
        i++;
        continue;
      case '!':
        if (s[i + 1] === '=') return null;
        out.push({ t: 'bang' });
        i++;
        continue;
    }
    if (c !== '\\') return null;
    const next = s[i + 1];
    if (next === '{' || next === '}') {
      out.push(next === '{' ? { t: 'open', v: '\\{' } : { t: 'close', v: '\\}' });
      i += 2;
      continue;
    }
    let j = i + 1;
    while (j < s.length && isLetter(s[j])) j++;
    const name = s.slice(i + 1, j);
    if (name.length === 0) return null;
    i = j;
    if (name === 'frac' || name === 'dfrac' || name === 'tfrac') {
      out.push({ t: 'cmd', v: 'frac' });
      shortArgs = 2;
    } else if (name === 'sqrt') {
      out.push({ t: 'cmd', v: 'sqrt' });
      if (s[i] !== '[') shortArgs = 1;
    } else if (name === 'pi') out.push({ t: 'cmd', v: 'pi' });
    else if (name === 'infty') out.push({ t: 'cmd', v: 'inf' });
    else if (name === 'emptyset' || name === 'varnothing') out.push({ t: 'cmd', v: 'empty' });
    else if (name === 'cdot' || name === 'times') out.push({ t: 'op', v: '*' });
    else if (name === 'div') out.push({ t: 'op', v: '/' });
    else if (name === 'pm' || name === 'mp') out.push({ t: 'pm', v: name === 'pm' ? 'Measurement' : 'MinusPlus' });
    else if (name === 'cup') out.push({ t: 'cup' });
    else if (name === 'in') out.push({ t: 'in' });
    else if (name === 'vert' || name === 'lvert' || name === 'rvert') out.push({ t: 'bar' });
    else if (name in RELATION_COMMANDS) out.push({ t: 'rel', v: RELATION_COMMANDS[name]! });
    else if (GREEK.has(name)) {
      const sub = subscript(s, i);
      out.push({ t: 'sym', v: sub ? `${name}_${sub.text}` : name });
      if (sub) i = sub.end;
    } else if (name in FUNCTIONS) {
      const head = FUNCTIONS[name]!;
      if (head === 'Log' && s[i] === '_') {
        const sub = subscript(s, i);
        if (!sub || !/^\d+$/.test(sub.text)) return null;
        out.push({ t: 'func', v: head, base: Number(sub.text) });
        i = sub.end;
      } else out.push({ t: 'func', v: head });
    } else if (name === 'left' || name === 'right') {
      while (s[i] === ' ') i++;
      if (s[i] === '.') i++;
    } else if (name === 'begin') {
      const m = /^\{([a-z]+)\}/.exec(s.slice(i, i + 12));
      if (!m || !MATRIX_ENVS.has(m[1]!)) return null;
      const endTag = `\\end{${m[1]}}`;
      const close = s.indexOf(endTag, i);
      if (close === -1) return null;
      let bodyStart = i + m[0].length;
      if (m[1] === 'array') {
        // \begin{array}{cc}: the column specification is layout.
        const spec = /^\s*\{[lcr|\s]*\}/.exec(s.slice(bodyStart, bodyStart + 40));
        if (!spec) return null;
        bodyStart += spec[0].length;
      }
      const mat = matrix(s.slice(bodyStart, close), depth);
      if (mat === null) return null;
      out.push({ t: 'mat', v: m[1] === 'vmatrix' ? ['Determinant', mat] : mat });
      i = close + endTag.length;
    } else return null;
  }
  return out;
}

/** The body of a matrix environment: rows split at \\, cells at &, each cell an expression. */
function matrix(body: string, depth: number): MathJson | null {
  if (body.includes('\\begin')) return null;
  const rows = body.split('\\\\').map((r) => r.trim());
  while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  if (rows.length === 0) return null;
  const parsed: MathJson[] = [];
  let width = -1;
  for (const row of rows) {
    const cells = row.split('&').map((c) => parseAt(c, depth + 1));
    if (cells.some((c) => c === null || (Array.isArray(c) && REL_HEADS.has(c[0] as string)))) return null;
    if (width !== -1 && cells.length !== width) return null;
    width = cells.length;
    parsed.push(['List', ...(cells as MathJson[])]);
  }
  return ['Matrix', ['List', ...parsed]];
}

const REL_HEADS = new Set(['Equal', 'Less', 'Greater', 'LessEqual', 'GreaterEqual', 'NotEqual']);

class Parser {
  private k = 0;
  private absDepth = 0;
  constructor(private readonly toks: Tok[]) {}

  /** One relation (or chain), or a comma list of them (a tuple, as the engine reads it). */
  parse(): MathJson | null {
    const first = this.relation();
    if (first === null) return null;
    if (this.peek()?.t === 'colon') {
      // A ratio "7 : 32" (also "A : B = 1", where the engine binds "=" tighter than ":").
      this.k++;
      const second = this.relation();
      return second === null || this.k !== this.toks.length ? null : ['Colon', first, second];
    }
    const items = [first];
    while (this.peek()?.t === 'comma') {
      this.k++;
      const next = this.relation();
      if (next === null) return null;
      items.push(next);
    }
    if (this.k !== this.toks.length) return null;
    return items.length === 1 ? items[0]! : ['Tuple', ...items];
  }

  private peek(): Tok | undefined {
    return this.toks[this.k];
  }

  /** a op b op c: one head with all operands when the operators agree, else a conjunction of pairs; x ∈ S. */
  private relation(): MathJson | null {
    const first = this.union();
    if (first === null) return null;
    const operands = [first];
    const ops: string[] = [];
    for (let t = this.peek(); t && (t.t === 'rel' || t.t === 'in'); t = this.peek()) {
      this.k++;
      const next = this.union();
      if (next === null) return null;
      ops.push(t.t === 'in' ? 'Element' : t.v);
      operands.push(next);
    }
    if (ops.length === 0) return first;
    if (ops.includes('Element')) {
      if (ops.length !== 1) return null;
      const set = operands[1]!;
      // x ∈ [a, b] is the closed interval, as the engine reads it.
      const closed = Array.isArray(set) && set[0] === 'List' && set.length === 3 ? ['Interval', set[1]!, set[2]!] : set;
      return ['Element', operands[0]!, closed];
    }
    if (ops.includes('NotEqual') && ops.length > 1) return null;
    if (ops.every((o) => o === ops[0])) return [ops[0]!, ...operands];
    if (ops.includes('Equal')) return null;
    return ['And', ...ops.map((o, i) => [o, operands[i]!, operands[i + 1]!] as MathJson)];
  }

  /** A ∪ B ∪ …: pairs in the union read as intervals, (a, b) open and [a, b] closed. */
  private union(): MathJson | null {
    const first = this.expr();
    if (first === null) return null;
    if (this.peek()?.t !== 'cup') return first;
    const parts = [first];
    while (this.peek()?.t === 'cup') {
      this.k++;
      const next = this.expr();
      if (next === null) return null;
      parts.push(next);
    }
    const items: MathJson[] = [];
    for (const p of parts) {
      const h = Array.isArray(p) ? p[0] : null;
      if ((h === 'Tuple' || h === 'List') && Array.isArray(p) && p.length === 3) {
        const [, a, b] = p as [string, MathJson, MathJson];
        items.push(h === 'Tuple' ? ['Interval', ['Open', a], ['Open', b]] : ['Interval', a, b]);
      } else if (h === 'Interval' || h === 'Set' || p === 'EmptySet') items.push(p);
      else return null;
    }
    return ['Union', ...items];
  }

  private expr(): MathJson | null {
    const t0 = this.peek();
    if (t0?.t === 'pm') {
      // "\pm 3": the engine's Measurement(0, 3); everything after ± is its second operand.
      this.k++;
      const rest = this.expr();
      return rest === null ? null : [t0.v, 0, rest];
    }
    const first = this.unary();
    if (first === null) return null;
    const terms: MathJson[] = [first];
    let sub: MathJson | null = null;
    const sum = (): MathJson => {
      if (sub !== null) return terms.length === 1 ? ['Subtract', terms[0]!, sub] : ['Add', ...terms, ['Negate', sub]];
      return terms.length === 1 ? terms[0]! : ['Add', ...terms];
    };
    for (let t = this.peek(); t && ((t.t === 'op' && (t.v === '+' || t.v === '-')) || t.t === 'pm'); t = this.peek()) {
      this.k++;
      if (t.t === 'pm') {
        const rest = this.expr();
        return rest === null ? null : [t.v, sum(), rest];
      }
      const rhs = this.term();
      if (rhs === null) return null;
      if (t.v === '-') {
        // The engine's raw form: a - b is Subtract(a, b) for two terms, Add(a, Negate(b)) beyond.
        if (terms.length === 1 && sub === null) sub = rhs;
        else {
          if (sub !== null) terms.push(['Negate', sub]), (sub = null);
          terms.push(['Negate', rhs]);
        }
      } else {
        if (sub !== null) terms.push(['Negate', sub]), (sub = null);
        terms.push(rhs);
      }
    }
    return sum();
  }

  private unary(): MathJson | null {
    const t = this.peek();
    if (t && t.t === 'op' && t.v === '-') {
      this.k++;
      const x = this.term();
      if (x === null) return null;
      if (x === 'PositiveInfinity') return 'NegativeInfinity';
      return typeof x === 'number' ? -x : ['Negate', x];
    }
    if (t && t.t === 'op' && t.v === '+') {
      this.k++;
      return this.term();
    }
    return this.term();
  }

  private startsFactor(t: Tok): boolean {
    if (t.t === 'bar') return this.absDepth === 0;
    return t.t === 'num' || t.t === 'sym' || t.t === 'cmd' || t.t === 'func' || t.t === 'mat' || (t.t === 'open' && (t.v === '(' || t.v === '\\{'));
  }

  private term(): MathJson | null {
    let left = this.power();
    if (left === null) return null;
    const factors: MathJson[] = [left];
    for (;;) {
      const t = this.peek();
      if (!t) break;
      if (t.t === 'op' && t.v === '*') {
        this.k++;
        const r = this.power();
        if (r === null) return null;
        factors.push(r);
      } else if (t.t === 'op' && t.v === '/') {
        this.k++;
        const r = this.power();
        if (r === null) return null;
        // "1/2x": the engine's reading of implicit products after "/" is not ours to guess.
        const n = this.peek();
        if (n && this.startsFactor(n)) return null;
        left = ['Divide', factors.length === 1 ? factors[0]! : ['Multiply', ...factors], r];
        factors.length = 0;
        factors.push(left);
      } else if (this.startsFactor(t)) {
        const prev = this.toks[this.k - 1]!;
        // "f(x)" may be a function call, "2\frac{1}{3}" a mixed number, "(x)(y)" a call: the engine decides.
        if (t.t === 'open' && t.v === '(' && (prev.t === 'sym' || (prev.t === 'close' && prev.v === ')' && typeof factors[factors.length - 1] === 'string'))) return null;
        if (t.t === 'cmd' && t.v === 'frac' && prev.t === 'num') return null;
        if (t.t === 'num') return null;
        const r = this.power();
        if (r === null) return null;
        factors.push(r);
      } else break;
    }
    return factors.length === 1 ? factors[0]! : ['Multiply', ...factors];
  }

  /** An exponent: a braced group, one digit, or one symbol. */
  private exponent(): MathJson | null {
    const e = this.peek();
    if (e && e.t === 'open' && e.v === '{') return this.group('}');
    if (e && e.t === 'num' && e.v.length === 1) {
      this.k++;
      return Number(e.v);
    }
    if (e && e.t === 'sym') {
      this.k++;
      return e.v;
    }
    return null;
  }

  private power(): MathJson | null {
    let base = this.primary();
    if (base === null) return null;
    if (this.peek()?.t === 'bang') {
      this.k++;
      base = ['Factorial', base];
    }
    const t = this.peek();
    if (!t || t.t !== 'op' || t.v !== '^') return base;
    this.k++;
    const exp = this.exponent();
    if (exp === null) return null;
    const after = this.peek();
    if (after && ((after.t === 'op' && after.v === '^') || after.t === 'bang')) return null;
    return ['Power', base, exp];
  }

  private group(close: ')' | '}' | ']'): MathJson | null {
    this.k++;
    const inner = this.expr();
    const t = this.peek();
    if (inner === null || !t || t.t !== 'close' || t.v !== close) return null;
    this.k++;
    return inner;
  }

  /** "{x + 1}" groups; "{1, 2, 3}" is a tuple to the engine. */
  private bracedGroup(): MathJson | null {
    this.k++;
    const items: MathJson[] = [];
    for (;;) {
      const e = this.expr();
      if (e === null) return null;
      items.push(e);
      const t = this.peek();
      this.k++;
      if (t?.t === 'comma') continue;
      if (t?.t !== 'close' || t.v !== '}') return null;
      return items.length === 1 ? items[0]! : ['Tuple', ...items];
    }
  }

  /** Items up to a closing bracket: "(x + 1)" groups, "(1, 2)" is a tuple, "[a, b)" an interval, "\{…\}" a set. */
  private bracketed(open: '(' | '[' | '\\{'): MathJson | null {
    this.k++;
    const items: MathJson[] = [];
    const savedAbs = this.absDepth;
    this.absDepth = 0;
    try {
      if (open === '\\{' && this.peek()?.t === 'close' && (this.peek() as { v: string }).v === '\\}') {
        this.k++;
        return 'EmptySet';
      }
      for (;;) {
        const e = open === '(' ? this.expr() : this.relationOrExpr(open);
        if (e === null) return null;
        items.push(e);
        const t = this.peek();
        if (t?.t === 'comma') {
          this.k++;
          continue;
        }
        if (t?.t !== 'close') return null;
        this.k++;
        if (open === '\\{') return t.v === '\\}' ? ['Set', ...items] : null;
        if (open === '(' && t.v === ')') return items.length === 1 ? items[0]! : ['Tuple', ...items];
        if (open === '[' && t.v === ']') return items.length === 1 ? null : ['List', ...items];
        if (items.length !== 2) return null;
        if (open === '(' && t.v === ']') return ['Interval', ['Open', items[0]!], items[1]!];
        if (open === '[' && t.v === ')') return ['Interval', items[0]!, ['Open', items[1]!]];
        return null;
      }
    } finally {
      this.absDepth = savedAbs;
    }
  }

  /** Set and list items: expressions (relations inside braces are set-builder notation: the engine's). */
  private relationOrExpr(open: '[' | '\\{'): MathJson | null {
    const e = this.expr();
    const t = this.peek();
    if (e === null || (t && (t.t === 'rel' || t.t === 'in') && open === '\\{')) return null;
    return e;
  }

  /** A \frac or \sqrt argument: a braced group, or one digit or letter ("\frac12", "\sqrt 2"). */
  private argument(): MathJson | null {
    const t = this.peek();
    if (!t) return null;
    if (t.t === 'open' && t.v === '{') return this.group('}');
    if (t.t === 'num' && t.v.length === 1) {
      this.k++;
      return Number(t.v);
    }
    if (t.t === 'sym') {
      this.k++;
      return t.v;
    }
    if (t.t === 'cmd' && t.v === 'pi') {
      this.k++;
      return 'Pi';
    }
    return null;
  }

  /** \sin^2 x, \sin(x), \log_2 8, \exp x: the engine's heads, the argument parenthesised or a run of factors. */
  private func(t: Extract<Tok, { t: 'func' }>): MathJson | null {
    this.k++;
    let head = t.v;
    let power: MathJson | null = null;
    if (this.peek()?.t === 'op' && (this.peek() as { v: string }).v === '^') {
      this.k++;
      power = this.exponent();
      if (power === null) return null;
      if (power === -1 || (Array.isArray(power) && power[0] === 'Negate' && power[1] === 1)) {
        if (!(head in INVERSE)) return null;
        head = INVERSE[head]!;
        power = null;
      }
    }
    let arg: MathJson | null;
    const n = this.peek();
    if (n?.t === 'open' && n.v === '(') {
      arg = this.group(')');
    } else {
      // "\sin 2x": the factors up to the next operator; "\sin x \cos y" is a product of two calls.
      const factors: MathJson[] = [];
      for (let f = this.peek(); f && (f.t === 'num' || f.t === 'sym' || (f.t === 'cmd' && f.v !== 'inf' && f.v !== 'empty')); f = this.peek()) {
        if (f.t === 'num' && factors.length > 0) return null;
        const p = this.power();
        if (p === null) return null;
        factors.push(p);
      }
      if (factors.length === 0) return null;
      // "\log y \cdot z", "\sin x / 2": how far the argument reaches is the engine's to decide.
      const after = this.peek();
      if (after && after.t === 'op' && (after.v === '*' || after.v === '/' || after.v === '^')) return null;
      arg = factors.length === 1 ? factors[0]! : ['Multiply', ...factors];
    }
    if (arg === null) return null;
    let call: MathJson;
    if (head === 'Exp') call = ['Power', 'ExponentialE', arg];
    else if (head === 'Log' && t.base !== undefined) call = ['Log', arg, t.base];
    else call = [head, arg];
    return power === null ? call : ['Power', call, power];
  }

  private primary(): MathJson | null {
    const t = this.peek();
    if (!t) return null;
    switch (t.t) {
      case 'num':
        this.k++;
        if (!t.v.includes('.') && t.v.length > 15) return { num: t.v };
        return Number(t.v);
      case 'sym': {
        this.k++;
        const n = this.peek();
        if (!(FUNCTION_NAMES.has(t.v) && n?.t === 'open' && n.v === '(')) return t.v;
        // f(x), g(2), h(x, y): a function value (other letters before "(" multiply, see plainToLatex).
        this.k++;
        const a: MathJson[] = [];
        for (;;) {
          const e = this.expr();
          if (e === null) return null;
          a.push(e);
          const c = this.peek();
          this.k++;
          if (c?.t === 'comma') continue;
          return c?.t === 'close' && c.v === ')' ? [t.v, ...a] : null;
        }
      }
      case 'mat':
        this.k++;
        return t.v;
      case 'func':
        return this.func(t);
      case 'bar': {
        if (this.absDepth > 0) return null;
        this.k++;
        this.absDepth++;
        const inner = this.expr();
        this.absDepth--;
        if (inner === null || this.peek()?.t !== 'bar') return null;
        this.k++;
        return ['Abs', inner];
      }
      case 'open':
        if (t.v === '{') return this.bracedGroup();
        return this.bracketed(t.v === '(' ? '(' : t.v === '[' ? '[' : '\\{');
      case 'cmd': {
        this.k++;
        if (t.v === 'pi') return 'Pi';
        if (t.v === 'inf') return 'PositiveInfinity';
        if (t.v === 'empty') return 'EmptySet';
        if (t.v === 'sqrt') {
          const n = this.peek();
          if (n?.t === 'open' && n.v === '[') {
            const index = this.group(']');
            const a = index === null ? null : this.argument();
            return a === null ? null : ['Root', a, index!];
          }
          const a = this.argument();
          return a === null ? null : ['Sqrt', a];
        }
        const a = this.argument();
        if (a === null) return null;
        const b = this.argument();
        return b === null ? null : ['Divide', a, b];
      }
    }
    return null;
  }
}

function parseAt(latex: string, depth: number): MathJson | null {
  if (latex.length > 400 || depth > 3) return null;
  const toks = tokenize(latex, depth);
  if (!toks || toks.length === 0) return null;
  return new Parser(toks).parse();
}

/** MathJSON of answer LaTeX, or null when the engine should parse it. */
export function parseArithmetic(latex: string): MathJson | null {
  return parseAt(latex, 0);
}
