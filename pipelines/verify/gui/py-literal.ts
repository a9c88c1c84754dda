/**
 * Parser for the Python literals GUI agents emit as actions: dicts and lists with single- or
 * double-quoted strings, True/False/None (and JSON's true/false/null), ints and floats.
 * Only literals: nothing is ever evaluated.
 */

export type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

class Parser {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  value(depth: number): PyValue {
    if (depth > 50) throw new Error('too deep');
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.dict(depth);
    if (c === '[' || c === '(') return this.list(depth);
    if (c === '"' || c === "'") return this.str();
    const word = /^(True|False|None|true|false|null)\b/.exec(this.s.slice(this.i, this.i + 6));
    if (word) {
      this.i += word[1]!.length;
      return word[1] === 'True' || word[1] === 'true' ? true : word[1] === 'False' || word[1] === 'false' ? false : null;
    }
    const num = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.i, this.i + 64));
    if (num) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    throw new Error(`unexpected ${c ?? 'end'} at ${this.i}`);
  }
  dict(depth: number): { [k: string]: PyValue } {
    const out: { [k: string]: PyValue } = {};
    this.i++;
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') throw new Error('bad key');
      this.ws();
      if (this.s[this.i] !== ':') throw new Error('expected :');
      this.i++;
      out[String(key)] = this.value(depth + 1);
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') throw new Error('expected , or }');
    }
  }
  list(depth: number): PyValue[] {
    const close = this.s[this.i] === '[' ? ']' : ')';
    const out: PyValue[] = [];
    this.i++;
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value(depth + 1));
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) throw new Error('expected , or ]');
    }
  }
  str(): string {
    const q = this.s[this.i]!;
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\') {
        const n = this.s[this.i + 1];
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n ?? '';
        this.i += 2;
        continue;
      }
      if (c === q) {
        this.i++;
        return out;
      }
      out += c;
      this.i++;
    }
    throw new Error('unterminated string');
  }
}

/** Parses a Python/JSON literal; throws on anything else (trailing text included). */
export function parsePyLiteral(text: string): PyValue {
  if (text.length > 100_000) throw new Error('literal too long');
  try {
    return JSON.parse(text) as PyValue;
  } catch {
    const p = new Parser(text);
    const v = p.value(0);
    p.ws();
    if (p.i !== text.length) throw new Error('trailing text');
    return v;
  }
}

/** Python `==` on literals: True == 1, 1 == 1.0, dicts by keys, lists element-wise. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const num = (x: PyValue) => (typeof x === 'boolean' ? Number(x) : x);
  const x = num(a);
  const y = num(b);
  if (typeof x === 'number' && typeof y === 'number') return x === y;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => pyEquals(v, y[i]!));
  const kx = Object.keys(x);
  const ky = Object.keys(y as object);
  return kx.length === ky.length && kx.every((k) => k in (y as object) && pyEquals((x as Record<string, PyValue>)[k]!, (y as Record<string, PyValue>)[k]!));
}
