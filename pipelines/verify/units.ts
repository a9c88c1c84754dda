/**
 * Units: parse "value unit" answers, convert to SI and compare numerically. Dimensions are
 * exponent vectors over (m, kg, s, A, K, mol, cd); temperatures carry an offset.
 */
import { parseChineseNumber, parseEnglishNumber, parseNumber } from './numbers.js';
import { cleanLatex, plainToLatex } from './latex.js';
import { numericValue, parseLatex, freeSymbols } from './cas.js';

type Dim = [number, number, number, number, number, number, number];
export interface Unit {
  dim: Dim;
  scale: number;
  /** Affine offset in kelvin (°C, °F); only meaningful for a lone temperature unit. */
  offset?: number;
  /** Canonical spelling (for "the question asks for this unit"). */
  name: string;
}

const D = (m = 0, kg = 0, s = 0, A = 0, K = 0, mol = 0, cd = 0): Dim => [m, kg, s, A, K, mol, cd];
const NONE = D();

const BASE: Record<string, { dim: Dim; scale: number; offset?: number; prefixable?: boolean }> = {
  m: { dim: D(1), scale: 1, prefixable: true },
  g: { dim: D(0, 1), scale: 1e-3, prefixable: true },
  s: { dim: D(0, 0, 1), scale: 1, prefixable: true },
  A: { dim: D(0, 0, 0, 1), scale: 1, prefixable: true },
  K: { dim: D(0, 0, 0, 0, 1), scale: 1, prefixable: true },
  mol: { dim: D(0, 0, 0, 0, 0, 1), scale: 1, prefixable: true },
  cd: { dim: D(0, 0, 0, 0, 0, 0, 1), scale: 1 },
  L: { dim: D(3), scale: 1e-3, prefixable: true },
  l: { dim: D(3), scale: 1e-3 },
  N: { dim: D(1, 1, -2), scale: 1, prefixable: true },
  J: { dim: D(2, 1, -2), scale: 1, prefixable: true },
  W: { dim: D(2, 1, -3), scale: 1, prefixable: true },
  Pa: { dim: D(-1, 1, -2), scale: 1, prefixable: true },
  V: { dim: D(2, 1, -3, -1), scale: 1, prefixable: true },
  C: { dim: D(0, 0, 1, 1), scale: 1, prefixable: true },
  F: { dim: D(-2, -1, 4, 2), scale: 1, prefixable: true },
  Ω: { dim: D(2, 1, -3, -2), scale: 1, prefixable: true },
  ohm: { dim: D(2, 1, -3, -2), scale: 1 },
  S: { dim: D(-2, -1, 3, 2), scale: 1 },
  H: { dim: D(2, 1, -2, -2), scale: 1, prefixable: true },
  T: { dim: D(0, 1, -2, -1), scale: 1, prefixable: true },
  Wb: { dim: D(2, 1, -2, -1), scale: 1 },
  Hz: { dim: D(0, 0, -1), scale: 1, prefixable: true },
  eV: { dim: D(2, 1, -2), scale: 1.602176634e-19, prefixable: true },
  cal: { dim: D(2, 1, -2), scale: 4.184, prefixable: true },
  Cal: { dim: D(2, 1, -2), scale: 4184 },
  atm: { dim: D(-1, 1, -2), scale: 101325 },
  bar: { dim: D(-1, 1, -2), scale: 1e5, prefixable: true },
  mmHg: { dim: D(-1, 1, -2), scale: 133.322387415 },
  torr: { dim: D(-1, 1, -2), scale: 133.322368421 },
  Torr: { dim: D(-1, 1, -2), scale: 133.322368421 },
  M: { dim: D(-3, 0, 0, 0, 0, 1), scale: 1e3, prefixable: true },
  min: { dim: D(0, 0, 1), scale: 60 },
  h: { dim: D(0, 0, 1), scale: 3600 },
  hr: { dim: D(0, 0, 1), scale: 3600 },
  d: { dim: D(0, 0, 1), scale: 86400 },
  t: { dim: D(0, 1), scale: 1000 },
  u: { dim: D(0, 1), scale: 1.66053906660e-27 },
  Da: { dim: D(0, 1), scale: 1.66053906660e-27 },
  '°C': { dim: D(0, 0, 0, 0, 1), scale: 1, offset: 273.15 },
  '℃': { dim: D(0, 0, 0, 0, 1), scale: 1, offset: 273.15 },
  '°F': { dim: D(0, 0, 0, 0, 1), scale: 5 / 9, offset: 255.3722222222 },
  '℉': { dim: D(0, 0, 0, 0, 1), scale: 5 / 9, offset: 255.3722222222 },
  '%': { dim: NONE, scale: 0.01 },
  ppm: { dim: NONE, scale: 1e-6 },
  ppb: { dim: NONE, scale: 1e-9 },
  rad: { dim: NONE, scale: 1 },
  N_A: { dim: NONE, scale: 6.02214076e23 },
};

const PREFIXES: Record<string, number> = {
  Y: 1e24, Z: 1e21, E: 1e18, P: 1e15, T: 1e12, G: 1e9, M: 1e6, k: 1e3, h: 1e2, da: 10, d: 0.1,
  c: 1e-2, m: 1e-3, μ: 1e-6, µ: 1e-6, u: 1e-6, n: 1e-9, p: 1e-12, f: 1e-15, a: 1e-18,
};

/** Unit words (English and Chinese) to symbols. Longest first when matching. */
const WORDS: [string, string][] = [
  ['degrees celsius', '°C'], ['degree celsius', '°C'], ['celsius', '°C'], ['摄氏度', '°C'], ['degrees fahrenheit', '°F'],
  ['kilometers per hour', 'km/h'], ['kilometres per hour', 'km/h'], ['meters per second', 'm/s'], ['metres per second', 'm/s'],
  ['千米每小时', 'km/h'], ['公里每小时', 'km/h'], ['米每秒', 'm/s'], ['千米/时', 'km/h'], ['米/秒', 'm/s'],
  ['平方千米', 'km^2'], ['平方公里', 'km^2'], ['平方厘米', 'cm^2'], ['平方毫米', 'mm^2'], ['平方分米', 'dm^2'], ['平方米', 'm^2'],
  ['立方厘米', 'cm^3'], ['立方分米', 'dm^3'], ['立方毫米', 'mm^3'], ['立方米', 'm^3'],
  ['kilopascals', 'kPa'], ['kilopascal', 'kPa'], ['pascals', 'Pa'], ['pascal', 'Pa'], ['microfarads', 'μF'], ['microfarad', 'μF'],
  ['millifarads', 'mF'], ['farads', 'F'], ['farad', 'F'], ['newtons', 'N'], ['newton', 'N'], ['joules', 'J'], ['joule', 'J'],
  ['kilojoules', 'kJ'], ['kilojoule', 'kJ'], ['kilowatts', 'kW'], ['kilowatt', 'kW'], ['watts', 'W'], ['watt', 'W'],
  ['volts', 'V'], ['volt', 'V'], ['milliamperes', 'mA'], ['milliamps', 'mA'], ['amperes', 'A'], ['ampere', 'A'], ['amps', 'A'],
  ['ohms', 'Ω'], ['ohm', 'Ω'], ['kilograms', 'kg'], ['kilogram', 'kg'], ['milligrams', 'mg'], ['grams', 'g'], ['gram', 'g'],
  ['kilometers', 'km'], ['kilometer', 'km'], ['kilometres', 'km'], ['centimeters', 'cm'], ['centimeter', 'cm'],
  ['centimetres', 'cm'], ['millimeters', 'mm'], ['millimeter', 'mm'], ['nanometers', 'nm'], ['nanometer', 'nm'],
  ['meters', 'm'], ['meter', 'm'], ['metres', 'm'], ['metre', 'm'], ['milliliters', 'mL'], ['milliliter', 'mL'],
  ['millilitres', 'mL'], ['liters', 'L'], ['liter', 'L'], ['litres', 'L'], ['litre', 'L'], ['moles', 'mol'], ['mole', 'mol'],
  ['kelvins', 'K'], ['kelvin', 'K'], ['seconds', 's'], ['second', 's'], ['sec', 's'], ['minutes', 'min'], ['minute', 'min'],
  ['hours', 'h'], ['hour', 'h'], ['days', 'd'], ['day', 'd'], ['hertz', 'Hz'], ['coulombs', 'C'], ['coulomb', 'C'],
  ['teslas', 'T'], ['tesla', 'T'], ['calories', 'cal'], ['calorie', 'cal'], ['kilocalories', 'kcal'], ['electronvolts', 'eV'],
  ['electron volts', 'eV'], ['atmospheres', 'atm'], ['atmosphere', 'atm'], ['percentage', '%'], ['percent', '%'], ['pct', '%'],
  ['千克', 'kg'], ['公斤', 'kg'], ['毫克', 'mg'], ['克', 'g'], ['吨', 't'], ['千米', 'km'], ['公里', 'km'], ['厘米', 'cm'],
  ['毫米', 'mm'], ['分米', 'dm'], ['纳米', 'nm'], ['微米', 'μm'], ['米', 'm'], ['毫升', 'mL'], ['升', 'L'], ['秒', 's'],
  ['分钟', 'min'], ['小时', 'h'], ['天', 'd'], ['千焦', 'kJ'], ['焦耳', 'J'], ['焦', 'J'], ['牛顿', 'N'], ['牛', 'N'],
  ['千帕', 'kPa'], ['帕斯卡', 'Pa'], ['帕', 'Pa'], ['千瓦时', 'kW·h'], ['千瓦', 'kW'], ['瓦特', 'W'], ['瓦', 'W'],
  ['毫安', 'mA'], ['安培', 'A'], ['安', 'A'], ['伏特', 'V'], ['伏', 'V'], ['欧姆', 'Ω'], ['欧', 'Ω'], ['摩尔', 'mol'],
  ['开尔文', 'K'], ['赫兹', 'Hz'], ['库仑', 'C'], ['标准大气压', 'atm'], ['大气压', 'atm'],
];
const WORDS_SORTED = [...WORDS].sort((a, b) => b[0].length - a[0].length);

function lookupSymbol(tok: string): { dim: Dim; scale: number; offset?: number } | null {
  const direct = BASE[tok];
  if (direct) return direct;
  for (const [p, f] of Object.entries(PREFIXES)) {
    if (tok.length > p.length && tok.startsWith(p)) {
      const b = BASE[tok.slice(p.length)];
      if (b && b.prefixable && !b.offset) return { dim: b.dim, scale: b.scale * f };
    }
  }
  return null;
}

function addDim(a: Dim, b: Dim, k: number): Dim {
  return a.map((x, i) => x + k * b[i]!) as Dim;
}

/** Parses a unit expression such as "m/s^2", "J/(mol·K)", "kg m^{-3}", "km/h", "米/秒". */
export function parseUnit(raw: string): Unit | null {
  let s = raw.trim();
  if (s.length === 0 || s.length > 60) return null;
  const original = s;
  s = s.replace(/\\(?:text|mathrm|rm|mbox|operatorname)\s*\{([^{}]*)\}/g, '$1');
  s = s.replace(/\\cdot|·|⋅|\*|•/g, ' ').replace(/\\,|\\;|\\ |~/g, ' ').replace(/\\Omega/g, 'Ω').replace(/\\mu\s*/g, 'μ');
  s = s.replace(/\\%/g, '%').replace(/\\circ\s*C/g, '°C').replace(/\^\s*\{?\s*\\circ\s*\}?\s*C/g, '°C').replace(/\^\s*\\circ/g, '°');
  s = s.replace(/⁻¹/g, '^-1').replace(/⁻²/g, '^-2').replace(/⁻³/g, '^-3').replace(/²/g, '^2').replace(/³/g, '^3');
  s = s.replace(/\^\s*\{\s*([+-]?\d+)\s*\}/g, '^$1').replace(/_\{([A-Za-z])\}/g, '_$1');
  const lower = s.toLowerCase();
  for (const [w, sym] of WORDS_SORTED) {
    if (lower === w) return parseUnit(sym);
  }
  for (const [w, sym] of WORDS_SORTED) {
    if (s.includes(w)) s = s.split(w).join(` ${sym} `);
  }
  if (/per /i.test(s)) s = s.replace(/\s+per\s+/gi, '/');
  // Everything after a single slash is the denominator ("J/mol·K" reads J/(mol·K)).
  s = s.replace(/[()]/g, ' ');
  const slash = s.split('/');
  if (slash.length > 3) return null;
  let dim = NONE;
  let scale = 1;
  let offset: number | undefined;
  let tokens = 0;
  for (let part = 0; part < slash.length; part++) {
    const sign = part === 0 ? 1 : -1;
    const toks = slash[part]!.trim().split(/\s+/).filter(Boolean);
    if (part > 0 && toks.length === 0) return null;
    for (const t of toks) {
      const m = /^([^\s^]+?)(?:\^([+-]?\d+))?$/.exec(t);
      if (!m) return null;
      const u = lookupSymbol(m[1]!);
      if (!u) return null;
      const k = sign * (m[2] ? Number(m[2]) : 1);
      dim = addDim(dim, u.dim, k);
      scale *= u.scale ** k;
      if (u.offset !== undefined) offset = u.offset;
      tokens++;
    }
  }
  if (tokens === 0) return null;
  if (offset !== undefined && tokens > 1) offset = undefined;
  return offset === undefined ? { dim, scale, name: original } : { dim, scale, offset, name: original };
}

export interface Quantity {
  value: number;
  /** Uncertainty (± part) in the same unit, when written. */
  error?: number;
  unit: Unit | null;
  unitText: string;
}

const UNCERTAIN = /^\(?\s*(.+?)\s*(?:±|\\pm|\+\/-)\s*(.+?)\s*\)?\s*(?:(?:×|\\times|\*|x)\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?)?$/;

/** Numeric value of the leading number part (plain or LaTeX). */
export function numericText(raw: string): number | null {
  const s = raw.trim();
  if (s.length === 0) return null;
  const n = parseNumber(s);
  if (n) return n.percent ? n.value / 100 : n.value;
  const word = parseEnglishNumber(s) ?? parseChineseNumber(s);
  if (word !== null) return word;
  // Letters other than e (exponent) and x (times) mean a formula, not a number: skip the CAS.
  if (/[a-df-wyzA-Z\u4e00-\u9fff]/.test(s.replace(/\\[a-zA-Z]+/g, '').replace(/\bpi\b|根号/g, ''))) return null;
  const cleaned = plainToLatex(cleanLatex(s));
  if (!/[\d\\]/.test(cleaned)) return null;
  const parsed = parseLatex(cleaned);
  if (!parsed.ok || !parsed.json || freeSymbols(parsed.json).size > 0) return null;
  const v = numericValue(parsed.json);
  return Number.isFinite(v) ? v : null;
}

/**
 * Splits "value unit" (e.g. "9.8 m/s²", "\frac{1}{2}\,\text{kg}", "5.8厘米", "(3.00 ± 0.01) × 10^8 m/s").
 * Returns null when the text is not a single quantity.
 */
export function parseQuantity(raw: string): Quantity | null {
  let s = raw.trim().replace(/\\(?:text|mathrm|rm|mbox|textnormal|operatorname)\s*\{\s*([^{}]*)\}/g, ' $1 ');
  s = s.replace(/\\[,;: !]/g, ' ').replace(/^\$+|\$+$/g, '').replace(/\s+/g, ' ').replace(/ \^/g, '^').trim();
  if (s.length === 0 || s.length > 200) return null;
  // Find the split between number and unit: the last position where the tail is a unit.
  for (let i = 1; i <= s.length; i++) {
    const head = s.slice(0, i).trim();
    const tail = s.slice(i).trim();
    if (head.length === 0) continue;
    const c = s[i];
    if (i < s.length && c !== ' ' && !/[A-Za-zΩμµ°℃℉%\u4e00-\u9fff]/.test(c!) && !(c === '\\' && /^\\(?:text|mathrm|Omega|mu|%|circ)/.test(s.slice(i)))) continue;
    const unit = tail.length === 0 ? null : parseUnit(tail);
    if (tail.length > 0 && !unit) continue;
    const q = parseValuePart(head);
    if (q) return { ...q, unit, unitText: tail };
  }
  return null;
}

function parseValuePart(head: string): { value: number; error?: number } | null {
  const u = UNCERTAIN.exec(head);
  if (u) {
    const exp = u[3] ? 10 ** Number(u[3]) : 1;
    const v = numericText(u[1]!);
    const e = numericText(u[2]!);
    if (v !== null && e !== null) return { value: v * exp, error: e * exp };
  }
  const v = numericText(head);
  return v === null ? null : { value: v };
}

export function sameDimension(a: Unit, b: Unit): boolean {
  return a.dim.every((x, i) => Math.abs(x - b.dim[i]!) < 1e-9);
}

/** Value in SI base units. */
export function toSI(value: number, unit: Unit | null): number {
  if (!unit) return value;
  return value * unit.scale + (unit.offset ?? 0);
}

/** Unit requested by the question: "多少 g", "in km/h", "单位为kg", "(单位：cm)", "______ kg/m³". */
export function requestedUnit(question: string | undefined): Unit | null {
  if (!question) return null;
  const patterns = [
    /(?:等于多少|是多少|为多少|多少)\s*([A-Za-zΩμ°℃%/²³^·\d\u4e00-\u9fff]{1,12}?)\s*[？?。，,）)]/,
    /\bin\s+(?:units\s+of\s+)?([A-Za-zΩμ°%/²³^·]{1,12})\s*[?.)]/,
    /单位(?:是|为|：|:)\s*([A-Za-zΩμ°℃%/²³^·\u4e00-\u9fff]{1,10})/,
    /_{2,}\s*\$*\s*([A-Za-zΩμ°℃%/²³^·\\{}]{1,12})\s*\$*\s*[。．.，,]?\s*$/,
  ];
  for (const re of patterns) {
    const m = re.exec(question);
    if (m) {
      const u = parseUnit(m[1]!.replace(/\$/g, ''));
      if (u) return u;
    }
  }
  return null;
}

/** Units mentioned anywhere in the question (for a unitless ground truth: "5.8" for a question in cm). */
export function unitsInQuestion(question: string | undefined): Unit[] {
  if (!question) return [];
  const found: Unit[] = [];
  const seen = new Set<string>();
  for (const [w, sym] of WORDS_SORTED) {
    if (question.includes(w) && !seen.has(sym)) {
      // 平方厘米 contains 厘米 and 米: only count the longest spelling at each place.
      const covered = WORDS_SORTED.some(([w2]) => w2.length > w.length && w2.includes(w) && question.includes(w2) && !question.split(w2).join('').includes(w));
      if (covered) continue;
      seen.add(sym);
      const u = parseUnit(sym);
      if (u) found.push(u);
    }
  }
  const re = /\d\s*([a-zA-ZΩμ]{1,4}(?:\/[a-zA-Z]{1,3})?)(?![a-zA-Z])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(question)) !== null) {
    if (seen.has(m[1]!)) continue;
    const u = parseUnit(m[1]!);
    if (u) {
      seen.add(m[1]!);
      found.push(u);
    }
  }
  return found;
}

/** Length-like base of an area/volume unit (cm^3 → cm) so that "5.8" in a cm³ question reads as cm. */
export function baseLengthUnit(u: Unit): Unit | null {
  const [m, ...rest] = u.dim;
  if (rest.some((x) => x !== 0) || !m || m < 1) return null;
  const scale = u.scale ** (1 / m);
  return { dim: D(1), scale, name: u.name };
}

/** Significant digits of a decimal literal ("1.60218e-19" → 6, "0.133322" → 6, "25" → 2). */
export function significantDigits(literal: string): number | null {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE×x*]|\\times|$)/.exec(literal.trim().replace(/\s+/g, ''));
  if (!m) return null;
  const digits = `${m[1] ?? ''}${m[2] ?? ''}`.replace(/^0+/, '');
  return digits.length > 0 ? digits.length : null;
}

function roundSig(v: number, digits: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  return Number(v.toPrecision(Math.max(1, Math.min(15, digits))));
}

export interface QuantityCompareOptions {
  relTol: number;
  question?: string;
  /** Gold written with few significant digits may be matched by a rounded prediction. */
  goldLiteral?: string;
}

/** Value closeness: relative tolerance, or the prediction rounded to the gold's significant digits. */
export function closeWithPrecision(pred: number, gold: number, relTol: number, goldSig: number | null): boolean {
  if (Math.abs(pred - gold) / (Math.abs(gold) + 1e-300) < relTol || pred === gold) return true;
  if (goldSig !== null && goldSig <= 12) return roundSig(pred, goldSig) === roundSig(gold, goldSig);
  return false;
}

const AVOGADRO_TEXTBOOK = 6.02e23;

/**
 * Compares two quantities. Decides `equal`/`different` when units are known or absent on both
 * sides, and `unknown` when the unit text could not be interpreted.
 */
export function compareQuantities(
  pred: Quantity,
  gold: Quantity,
  opts: QuantityCompareOptions,
): { kind: 'equal' | 'different' | 'unknown'; how: string } {
  // A value converted between units carries the ground truth's rounding: compare at its
  // significant digits then. Same-unit values use the relative tolerance only.
  const converted = !!pred.unit && !!gold.unit && (Math.abs(pred.unit.scale / gold.unit.scale - 1) > 1e-12 || pred.unit.offset !== gold.unit.offset);
  const constantBased = [pred.unitText, gold.unitText].some((t) => t.includes('N_A'));
  const goldSig = opts.goldLiteral && (converted || constantBased) ? significantDigits(opts.goldLiteral.replace(/\s*[^\d.eE+\-×x*^{}\\ ].*$/, '')) : null;
  const close = (p: number, g: number) => closeWithPrecision(p, g, opts.relTol, goldSig);
  const requested = requestedUnit(opts.question);
  const pu = pred.unit;
  const gu = gold.unit;
  const errorsMatch = (scaleP: number, scaleG: number) =>
    pred.error === undefined || gold.error === undefined || close(pred.error * scaleP, gold.error * scaleG);

  if (pu && gu) {
    if (!sameDimension(pu, gu)) return { kind: 'different', how: `unit ${pred.unitText} is not convertible to ${gold.unitText}` };
    if (requested && sameDimension(requested, pu) && Math.abs(pu.scale / requested.scale - 1) > 1e-9 && pu.name !== gold.unitText) {
      return { kind: 'different', how: `question asks for ${requested.name}` };
    }
    const p = toSI(pred.value, pu);
    const g = toSI(gold.value, gu);
    let ok = close(p, g);
    if (!ok && (pu.name.includes('N_A') || gu.name.includes('N_A'))) {
      const f = AVOGADRO_TEXTBOOK / 6.02214076e23;
      ok = close(pu.name.includes('N_A') ? p * f : p, gu.name.includes('N_A') ? g * f : g);
    }
    if (ok && !errorsMatch(pu.scale, gu.scale)) return { kind: 'different', how: 'uncertainty differs' };
    return ok ? { kind: 'equal', how: 'same quantity after unit conversion' } : { kind: 'different', how: 'different quantity' };
  }
  if (!pu && gu && gu.dim.every((x) => x === 0)) {
    // 0.5 vs 50%: the plain value, or the number written before the sign.
    const ok = close(pred.value, toSI(gold.value, gu)) || close(pred.value, gold.value);
    return ok ? { kind: 'equal', how: `same value (${gold.unitText})` } : { kind: 'different', how: 'different value' };
  }
  if (!pu && gu) {
    // A bare number is read in the ground truth's unit (or the unit the question asks for).
    const unit = requested && sameDimension(requested, gu) ? requested : gu;
    const ok = close(toSI(pred.value, unit), toSI(gold.value, gu));
    return ok ? { kind: 'equal', how: `value in ${unit.name}` } : { kind: 'different', how: 'different value' };
  }
  if (pu && !gu && pu.dim.every((x) => x === 0) && !requested) {
    // Dimensionless units (N_A, %, ppm): compare the plain value.
    const p = toSI(pred.value, pu);
    let ok = close(p, gold.value) || close(pred.value, gold.value);
    if (!ok && pu.name.includes('N_A')) ok = close(pred.value * AVOGADRO_TEXTBOOK, gold.value);
    return ok ? { kind: 'equal', how: `same value (${pred.unitText})` } : { kind: 'different', how: 'different value' };
  }
  if (pu && !gu) {
    let unit: Unit | null = requested && sameDimension(requested, pu) ? requested : null;
    if (!unit) {
      for (const q of unitsInQuestion(opts.question)) {
        const base = sameDimension(q, pu) ? q : baseLengthUnit(q);
        if (base && sameDimension(base, pu)) {
          unit = base;
          break;
        }
      }
    }
    if (!unit) return close(pred.value, gold.value) ? { kind: 'equal', how: 'same value (unit ignored)' } : { kind: 'different', how: 'different value' };
    const ok = close(toSI(pred.value, pu), toSI(gold.value, unit));
    return ok ? { kind: 'equal', how: `same value in ${unit.name}` } : { kind: 'different', how: `value differs in the question's unit ${unit.name}` };
  }
  return close(pred.value, gold.value) ? { kind: 'equal', how: 'same value' } : { kind: 'different', how: 'different value' };
}

/** "value unit" texts compared as quantities; null when either is not a quantity or neither has a unit. */
export function compareQuantityTexts(
  pred: string,
  gold: string,
  opts: { relTol: number; question?: string },
): { kind: 'equal' | 'different' | 'unknown'; how: string } | null {
  const qp = parseQuantity(pred);
  const qg = parseQuantity(gold);
  if (!qp || !qg || (!qp.unit && !qg.unit)) return null;
  return compareQuantities(qp, qg, { relTol: opts.relTol, question: opts.question, goldLiteral: gold });
}

/** Cheap pre-check: a number followed by something that could be a unit. */
export function mayHaveUnit(s: string): boolean {
  // The tail may carry a unit power: "m^2", "cm^{3}", "s^{-1}".
  return /\d\s*(?:\\(?:text|mathrm|mbox|,|;)\s*\{?\s*)?[A-Za-zΩμµ°℃℉%\u4e00-\u9fff](?:[^\d]|\^\s*\{?\s*-?\d\s*\}?){0,40}$/.test(s.trim());
}
