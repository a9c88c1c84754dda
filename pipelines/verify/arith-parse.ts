/**
 * A small recursive-descent parser for plain arithmetic LaTeX ("\frac{3}{4}\pi", "2\sqrt{2}+x^2",
 * "-(x+1)^{3}/5"), producing MathJSON in the engine's canonical shapes. It covers the bulk of
 * answers at a fraction of the engine's cost; anything it is not sure about (function calls,
 * mixed numbers, "1/2x", commands it does not know) returns null and goes to the engine.
 */
import type { MathJson } from './cas.js';

type Tok =
  | { t: 'num'; v: string }
  | { t: 'sym'; v: string }
  | { t: 'op'; v: '+' | '-' | '*' | '/' | '^' }
  | { t: 'open'; v: '(' | '{' }
  | { t: 'close'; v: ')' | '}' }
  | { t: 'cmd'; v: 'frac' | 'sqrt' | 'pi' }
  | { t: 'rel'; v: string }
  | { t: 'comma' };

const RELATION_COMMANDS: Record<string, string> = {
  le: 'LessEqual', leq: 'LessEqual', ge: 'GreaterEqual', geq: 'GreaterEqual', ne: 'NotEqual', neq: 'NotEqual', lt: 'Less', gt: 'Greater',
};

const SYMBOLS: Record<string, string> = { e: 'ExponentialE', i: 'ImaginaryUnit' };

function tokenize(s: string): Tok[] | null {
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
    if (shortArgs > 0 && c >= '0' && c <= '9') {
      out.push({ t: 'num', v: c });
      shortArgs--;
      i++;
      continue;
    }
    shortArgs = 0;
    if ((c >= '0' && c <= '9') || c === '.') {
      let j = i;
      while (j < s.length && ((s[j]! >= '0' && s[j]! <= '9') || s[j] === '.')) j++;
      const v = s.slice(i, j);
      if (!/^\d+(?:\.\d+)?$/.test(v)) return null;
      // "2 3" is one number to the engine: leave it to the engine.
      if (out.length > 0 && out[out.length - 1]!.t === 'num') return null;
      out.push({ t: 'num', v });
      i = j;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      out.push({ t: 'sym', v: c });
      i++;
      continue;
    }
    if (c === '+' || c === '-' || c === '*' || c === '/' || c === '^') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      if (s[i + 1] === '=' || s[i + 1] === '>' || s[i + 1] === '<') return null;
      out.push({ t: 'rel', v: c === '=' ? 'Equal' : c === '<' ? 'Less' : 'Greater' });
      i++;
      continue;
    }
    if (c === ',') {
      out.push({ t: 'comma' });
      i++;
      continue;
    }
    if (c === '(' || c === '{') {
      out.push({ t: 'open', v: c });
      i++;
      continue;
    }
    if (c === ')' || c === '}') {
      out.push({ t: 'close', v: c });
      i++;
      continue;
    }
    if (c === '\\') {
      const m = /^\\([a-zA-Z]+)/.exec(s.slice(i, i + 12));
      if (!m) return null;
      const name = m[1]!;
      i += m[0].length;
      if (name === 'frac' || name === 'dfrac' || name === 'tfrac') {
        out.push({ t: 'cmd', v: 'frac' });
        shortArgs = 2;
      } else if (name === 'sqrt') {
        if (s[i] === '[') return null;
        out.push({ t: 'cmd', v: 'sqrt' });
        shortArgs = 1;
      } else if (name === 'pi') out.push({ t: 'cmd', v: 'pi' });
      else if (name === 'cdot' || name === 'times') out.push({ t: 'op', v: '*' });
      else if (name in RELATION_COMMANDS) out.push({ t: 'rel', v: RELATION_COMMANDS[name]! });
      else if (name === 'left' || name === 'right') {
        while (s[i] === ' ') i++;
        if (s[i] !== '(' && s[i] !== ')') return null;
      } else return null;
      continue;
    }
    return null;
  }
  return out;
}

class Parser {
  private k = 0;
  constructor(private readonly toks: Tok[]) {}

  /** One expression, one relation between two ("x \\le 5"), or a comma list of expressions (a tuple, as the engine reads it). */
  parse(): MathJson | null {
    const first = this.relation();
    if (first === null) return null;
    const items = [first];
    while (this.peek()?.t === 'comma') {
      this.k++;
      const next = this.relation();
      if (next === null) return null;
      items.push(next);
    }
    if (this.k !== this.toks.length) return null;
    if (items.length === 1) return items[0]!;
    // Lists of relations ("x = 1, y = 2") are the engine's to read.
    return items.some((x) => Array.isArray(x) && typeof x[0] === 'string' && REL_HEADS.has(x[0])) ? null : ['Tuple', ...items];
  }

  private relation(): MathJson | null {
    const left = this.expr();
    if (left === null) return null;
    const t = this.peek();
    if (!t || t.t !== 'rel') return left;
    this.k++;
    const right = this.expr();
    if (right === null || this.peek()?.t === 'rel') return null;
    return [t.v, left, right];
  }

  private peek(): Tok | undefined {
    return this.toks[this.k];
  }

  private expr(): MathJson | null {
    const first = this.unary();
    if (first === null) return null;
    const terms: MathJson[] = [first];
    let sub: MathJson | null = null;
    for (let t = this.peek(); t && t.t === 'op' && (t.v === '+' || t.v === '-'); t = this.peek()) {
      this.k++;
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
    if (sub !== null) return terms.length === 1 ? ['Subtract', terms[0]!, sub] : ['Add', ...terms, ['Negate', sub]];
    return terms.length === 1 ? terms[0]! : ['Add', ...terms];
  }

  private unary(): MathJson | null {
    const t = this.peek();
    if (t && t.t === 'op' && t.v === '-') {
      this.k++;
      const x = this.term();
      if (x === null) return null;
      return typeof x === 'number' ? -x : ['Negate', x];
    }
    if (t && t.t === 'op' && t.v === '+') {
      this.k++;
      return this.term();
    }
    return this.term();
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
        if (n && startsPrimary(n)) return null;
        left = ['Divide', factors.length === 1 ? factors[0]! : ['Multiply', ...factors], r];
        factors.length = 0;
        factors.push(left);
      } else if (startsPrimary(t)) {
        const prev = this.toks[this.k - 1]!;
        // "f(x)" may be a function call, "2\frac{1}{3}" a mixed number: the engine decides.
        if (t.t === 'open' && t.v === '(' && prev.t === 'sym') return null;
        if (t.t === 'cmd' && t.v === 'frac' && prev.t === 'num') return null;
        if (t.t === 'num') return null;
        const r = this.power();
        if (r === null) return null;
        factors.push(r);
      } else break;
    }
    return factors.length === 1 ? factors[0]! : ['Multiply', ...factors];
  }

  private power(): MathJson | null {
    const base = this.primary();
    if (base === null) return null;
    const t = this.peek();
    if (!t || t.t !== 'op' || t.v !== '^') return base;
    this.k++;
    const e = this.peek();
    let exp: MathJson | null;
    if (e && e.t === 'open' && e.v === '{') exp = this.group('}');
    else if (e && e.t === 'num' && e.v.length === 1) {
      this.k++;
      exp = Number(e.v);
    } else if (e && e.t === 'sym') {
      this.k++;
      exp = SYMBOLS[e.v] ?? e.v;
    } else return null;
    if (exp === null) return null;
    const after = this.peek();
    if (after && after.t === 'op' && after.v === '^') return null;
    return ['Power', base, exp];
  }

  private group(close: ')' | '}'): MathJson | null {
    this.k++;
    const inner = this.expr();
    const t = this.peek();
    if (inner === null || !t || t.t !== 'close' || t.v !== close) return null;
    this.k++;
    return inner;
  }

  /** "(x + 1)" is grouping, "(1, 2)" a tuple. */
  private parenthesised(): MathJson | null {
    this.k++;
    const items: MathJson[] = [];
    for (;;) {
      const e = this.expr();
      if (e === null) return null;
      items.push(e);
      const t = this.peek();
      if (t?.t === 'comma') {
        this.k++;
        continue;
      }
      if (t?.t === 'close' && t.v === ')') {
        this.k++;
        return items.length === 1 ? items[0]! : ['Tuple', ...items];
      }
      return null;
    }
  }

  /** A \\frac or \\sqrt argument: a braced group, or one digit or letter ("\\frac12", "\\sqrt 2"). */
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
      return SYMBOLS[t.v] ?? t.v;
    }
    return null;
  }

  private primary(): MathJson | null {
    const t = this.peek();
    if (!t) return null;
    if (t.t === 'num') {
      this.k++;
      if (!t.v.includes('.') && t.v.length > 15) return { num: t.v };
      return Number(t.v);
    }
    if (t.t === 'sym') {
      this.k++;
      return SYMBOLS[t.v] ?? t.v;
    }
    if (t.t === 'open' && t.v === '(') return this.parenthesised();
    if (t.t === 'open') return this.group('}');
    if (t.t === 'cmd') {
      this.k++;
      if (t.v === 'pi') return 'Pi';
      const a = this.argument();
      if (a === null) return null;
      if (t.v === 'sqrt') return ['Sqrt', a];
      const b = this.argument();
      return b === null ? null : ['Divide', a, b];
    }
    return null;
  }
}

const REL_HEADS = new Set(['Equal', 'Less', 'Greater', 'LessEqual', 'GreaterEqual', 'NotEqual']);

function startsPrimary(t: Tok): boolean {
  return t.t === 'num' || t.t === 'sym' || t.t === 'cmd' || (t.t === 'open' && t.v === '(');
}

/** MathJSON of plain arithmetic LaTeX, or null when the engine should parse it. */
export function parseArithmetic(latex: string): MathJson | null {
  if (latex.length > 400) return null;
  const toks = tokenize(latex);
  if (!toks || toks.length === 0) return null;
  return new Parser(toks).parse();
}
