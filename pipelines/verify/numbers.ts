/**
 * Fast literal number parsing (before any CAS): separators, decimal commas, scientific notation,
 * percentages, fractions, mixed numbers, repeating decimals and number words.
 */

export interface ParsedNumber {
  value: number;
  /** Written with a percent sign / word (value is the number before the sign, e.g. 50 for 50%). */
  percent: boolean;
}

const THOUSANDS = /^([+-]?)([1-9]\d{0,2}(?:[ ,\u00a0\u2009\u202f]\d{3})+)(\.\d+)?$/;
// A decimal comma ("1,5") reads as a list here; free-text extraction converts decimal commas itself.
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d+))?$/;
const SCI = /^([+-]?(?:\d+\.?\d*|\.\d+))\s*(?:[eE]\s*([+-]?\d+)|(?:\*|×|x|\\times|\\cdot|·)\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?)$/;
const FRACTION = /^([+-]?)\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/;
const MIXED = /^([+-]?)(\d+)\s+(\d+)\s*\/\s*(\d+)$/;
const REPEATING = /^([+-]?\d*)\.(\d+)\s*(?:\.\.\.|…|\\ldots|\\dots|\\cdots)$/;
const PERCENT = /^(.*?)\s*(?:\\?%|％|\s*percent(?:age)?|\s*pct|个百分点)$/i;

/** Parses a number literal; returns null for anything that is not a single number. */
export function parseNumber(raw: string): ParsedNumber | null {
  let s = raw.trim();
  if (s.length === 0 || s.length > 80) return null;
  let percent = false;
  const pm = PERCENT.exec(s);
  if (pm) {
    s = pm[1]!.trim();
    percent = true;
  }
  s = s.replace(/^\$|\$$/g, '').trim();
  if (s.startsWith('(') && s.endsWith(')') && !/[(,;]/.test(s.slice(1, -1))) s = s.slice(1, -1).trim();
  const value = parseBareNumber(s);
  if (value === null || !Number.isFinite(value)) return null;
  return { value, percent };
}

function parseBareNumber(s: string): number | null {
  let m = THOUSANDS.exec(s);
  if (m) return Number(`${m[1]}${m[2]!.replace(/[ ,\u00a0\u2009\u202f]/g, '')}${m[3] ?? ''}`);
  m = DECIMAL.exec(s);
  if (m && (m[2]!.length > 0 || m[3] !== undefined)) {
    return Number(`${m[1]}${m[2] || '0'}${m[3] !== undefined ? '.' + m[3] : ''}`);
  }
  m = SCI.exec(s);
  if (m) return Number(m[1]) * 10 ** Number(m[2] ?? m[3]);
  m = MIXED.exec(s);
  if (m && Number(m[3]) < Number(m[4])) {
    const v = Number(m[2]) + Number(m[3]) / Number(m[4]);
    return m[1] === '-' ? -v : v;
  }
  m = FRACTION.exec(s);
  if (m) {
    const den = Number(m[3]);
    if (den === 0) return null;
    const v = Number(m[2]) / den;
    return m[1] === '-' ? -v : v;
  }
  m = REPEATING.exec(s);
  if (m) {
    // 0.333... and 0.1666... and 0.142857142857...: repeat the shortest trailing period.
    const [, intPart, frac] = m;
    const period = repeatingPeriod(frac!);
    const digits = `${intPart || '0'}.${frac}${frac!.slice(frac!.length - period).repeat(Math.ceil(20 / period))}`;
    return Number(digits);
  }
  return null;
}

function repeatingPeriod(frac: string): number {
  for (let p = 1; p <= 6 && 2 * p <= frac.length; p++) {
    const tail = frac.slice(-2 * p);
    if (tail.slice(0, p) === tail.slice(p)) return p;
  }
  return 1;
}

const EN_UNITS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17,
  eighteen: 18, nineteen: 19, a: 1, an: 1, single: 1, none: 0, no: 0, once: 1, twice: 2, dozen: 12,
};
const EN_TENS: Record<string, number> = {
  twenty: 20, thirty: 30, forty: 40, fourty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
};
const EN_SCALES: Record<string, number> = { hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9 };

/** English number words ("twenty-one", "one hundred and five"); null if not purely a number. */
export function parseEnglishNumber(raw: string): number | null {
  const words = raw.toLowerCase().trim().replace(/[.!]$/, '').split(/[\s-]+/).filter((w) => w && w !== 'and');
  if (words.length === 0 || words.length > 8) return null;
  let total = 0;
  let current = 0;
  let seen = false;
  for (const w of words) {
    if (w in EN_UNITS) {
      if ((w === 'a' || w === 'an' || w === 'no') && words.length === 1) return null;
      current += EN_UNITS[w]!;
    } else if (w in EN_TENS) current += EN_TENS[w]!;
    else if (w in EN_SCALES) {
      const scale = EN_SCALES[w]!;
      if (scale === 100) current = (current || 1) * 100;
      else {
        total += (current || 1) * scale;
        current = 0;
      }
    } else return null;
    seen = true;
  }
  return seen ? total + current : null;
}

const ZH_DIGITS: Record<string, number> = {
  零: 0, 〇: 0, 一: 1, 壹: 1, 二: 2, 贰: 2, 两: 2, 俩: 2, 三: 3, 叁: 3, 四: 4, 肆: 4, 五: 5, 伍: 5,
  六: 6, 陆: 6, 七: 7, 柒: 7, 八: 8, 捌: 8, 九: 9, 玖: 9,
};
const ZH_SMALL: Record<string, number> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
const ZH_BIG: Record<string, number> = { 万: 1e4, 萬: 1e4, 亿: 1e8, 億: 1e8 };

/** Chinese numerals (十一, 二十三, 一百零五, 两千); null if the text holds anything else. */
export function parseChineseNumber(raw: string): number | null {
  const s = raw.trim();
  if (s.length === 0 || s.length > 20) return null;
  let total = 0;
  let section = 0;
  let digit = -1;
  for (const c of s) {
    if (c in ZH_DIGITS) digit = ZH_DIGITS[c]!;
    else if (c in ZH_SMALL) {
      section += (digit === -1 ? 1 : digit) * ZH_SMALL[c]!;
      digit = -1;
    } else if (c in ZH_BIG) {
      total += (section + (digit === -1 ? 0 : digit)) * ZH_BIG[c]!;
      section = 0;
      digit = -1;
    } else return null;
  }
  return total + section + (digit === -1 ? 0 : digit);
}

/** Counting words attached to a Chinese number: 三只猫 → 三, 十本书 → 十. */
const ZH_CLASSIFIER = /^([零〇一二两俩三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟\d]+)\s*(?:个|只|本|朵|棵|位|名|人|辆|条|张|头|匹|块|颗|件|次|座|把|支|台|架|间|片|根|双|对|群)/;

/** A count written as digits, English words or Chinese numerals, with an optional noun after it. */
export function parseCount(raw: string): number | null {
  const s = raw.trim().replace(/[.。]$/, '');
  const n = parseNumber(s);
  if (n && !n.percent) return n.value;
  const en = parseEnglishNumber(s);
  if (en !== null) return en;
  const zh = parseChineseNumber(s);
  if (zh !== null) return zh;
  const cls = ZH_CLASSIFIER.exec(s);
  if (cls) {
    const head = cls[1]!;
    return /^\d+$/.test(head) ? Number(head) : parseChineseNumber(head);
  }
  return null;
}

/** |a - b| / (|b| + 1e-6) < relTol, GLM's relative comparison. */
export function relClose(a: number, b: number, relTol: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) / (Math.abs(b) + 1e-6) < relTol;
}

/** Math-Verify style: equal after rounding both to `digits` decimals. */
export function roundedEqual(a: number, b: number, digits: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const f = 10 ** digits;
  return Math.round(a * f) === Math.round(b * f) || Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
}

/** An integer literal (thousands separators allowed, an optional trailing %) as a bigint, exact beyond 2^53. */
export function integerLiteral(raw: string): bigint | null {
  const s = raw.trim().replace(/\s*(?:\\?%|％)$/, '');
  const m = /^([+-]?)(\d{1,400}|[1-9]\d{0,2}(?:[,\u00a0\u2009\u202f ]\d{3})+)$/.exec(s);
  if (!m) return null;
  const v = BigInt(m[2]!.replace(/[^\d]/g, ''));
  return m[1] === '-' ? -v : v;
}

/** "4 4/9" → "\\left(4+\\frac{4}{9}\\right)" (exact, for the CAS, which reads "4 4/9" as a product); null if not a mixed number. */
export function mixedNumberLatex(raw: string): string | null {
  const m = MIXED.exec(raw.trim());
  if (!m || Number(m[3]) >= Number(m[4])) return null;
  return `${m[1] === '-' ? '-' : ''}\\left(${m[2]}+\\frac{${m[3]}}{${m[4]}}\\right)`;
}
