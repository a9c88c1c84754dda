/**
 * Chemistry: formulas and ions (H₂SO₄ = H2SO4 = H_{2}SO_{4}; Fe3+ = Fe^{3+}), state symbols
 * ((aq) may be omitted, never contradicted), balanced equations (any arrow, any order, coefficients
 * up to a common factor), and quantities with units (1 M = 1 mol/L, 1 kcal = 4.184 kJ, N_A).
 */
import { hedgeReason } from './hedging.js';
import { compareLabelledQuantities, type ScienceOptions } from './physics.js';
import { canonicalText, hasCjk, toHalfWidth, unicodeScriptsToAscii } from './text.js';
import { different, equal, unknown, type Verdict } from './types.js';

export interface Species {
  formula: string;
  charge: string;
  state: string | null;
}

const STATE = /\((s|l|g|aq)\)$/i;
const ARROWS = /\\(?:xlongequal|xrightarrow|longrightarrow|rightarrow|rightleftharpoons|leftrightarrow|to)(?:\[[^\]]*\])?(?:\{[^{}]*\})?|⇌|⇄|⟶|→|↔|═|=+|->|<=>|<->/;

function stripChemMarkup(s: string): string {
  let t = unicodeScriptsToAscii(toHalfWidth(s), 'plain');
  t = t.replace(/\\ce\s*\{([\s\S]*)\}/g, '$1');
  t = t.replace(/\\(?:mathrm|text|rm|textrm|mathbf)\s*\{([^{}]*)\}/g, '$1');
  t = t.replace(/\\(?:mathrm|text|rm)\s*\{([^{}]*)\}/g, '$1');
  t = t.replace(/\$|\\[,;! ]/g, '').replace(/\\left|\\right/g, '');
  t = t.replace(/_\{(\d+)\}|_(\d+)/g, '$1$2');
  t = t.replace(/\\uparrow|\\downarrow|↑|↓/g, '');
  return t.trim();
}

/** Splits a species into formula, charge and state ("SO4^{2-}" → SO4, 2-, null). */
export function parseSpecies(raw: string): Species | null {
  let t = stripChemMarkup(raw).replace(/\s+/g, '');
  let state: string | null = null;
  const sm = STATE.exec(t);
  if (sm) {
    state = sm[1]!.toLowerCase();
    t = t.slice(0, -sm[0].length);
  }
  let charge = '';
  const cm = /\^?\{?(\d*)([+-])\}?$/.exec(t);
  if (cm && cm.index > 0) {
    const n = cm[1] === '' || cm[1] === '1' ? '' : cm[1]!;
    charge = `${n}${cm[2]}`;
    t = t.slice(0, cm.index);
    // Fe3+ : the digit before the sign is the charge, not a subscript.
  }
  t = t.replace(/\^$/, '');
  if (!/^(?:[A-Z][a-z]?\d*|\((?:[A-Z][a-z]?\d*)+\)\d*|\[(?:[A-Z][a-z]?\d*|\((?:[A-Z][a-z]?\d*)+\)\d*)+\]\d*|·\d*(?:[A-Z][a-z]?\d*)+)+$/.test(t)) return null;
  return { formula: t, charge, state };
}

/** Element counts of a formula ("Ca(OH)2" → Ca1 O2 H2). */
export function elementCounts(formula: string): Map<string, number> | null {
  const counts = new Map<string, number>();
  const stack: Map<string, number>[] = [counts];
  const re = /([A-Z][a-z]?)(\d*)|([([])|([)\]])(\d*)|·(\d*)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(formula)) !== null) {
    consumed += m[0].length;
    if (m[1]) {
      const top = stack[stack.length - 1]!;
      top.set(m[1], (top.get(m[1]) ?? 0) + (m[2] ? Number(m[2]) : 1));
    } else if (m[3]) stack.push(new Map());
    else if (m[4]) {
      const group = stack.pop();
      if (!group || stack.length === 0) return null;
      const k = m[5] ? Number(m[5]) : 1;
      const top = stack[stack.length - 1]!;
      for (const [e, n] of group) top.set(e, (top.get(e) ?? 0) + n * k);
    }
  }
  return consumed === formula.length && stack.length === 1 ? counts : null;
}

function sameCounts(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export function compareSpecies(p: Species, g: Species): Verdict {
  if (p.state && g.state && p.state !== g.state) return different(`state (${p.state}) ≠ (${g.state})`);
  if (p.charge !== g.charge) return different('different charge');
  if (p.formula === g.formula) return equal('same formula');
  const pc = elementCounts(p.formula);
  const gc = elementCounts(g.formula);
  if (pc && gc && !sameCounts(pc, gc)) return different('different formula');
  return unknown('same composition, different notation');
}

interface Term {
  coef: number;
  species: string;
}

/** Terms that may appear in an equation besides species (energy, light, electrons). */
const NON_SPECIES_TERMS = /^(?:energy|heat|light|hv|hν|e-|e\^-|e−|能量|热量|热|光|光照|电能)$/;

function parseSide(side: string): Term[] | null {
  const terms = side.split(/\s\+\s|\s*\+\s+|\+(?=\s*\d*\s*[A-Z(\[])/).map((x) => x.trim()).filter(Boolean);
  const out: Term[] = [];
  for (const t of terms) {
    const m = /^(\d+(?:\.\d+)?|\d+\/\d+)?\s*(.+)$/.exec(t);
    if (!m) return null;
    const coef = m[1] ? (m[1].includes('/') ? Number(m[1].split('/')[0]) / Number(m[1].split('/')[1]) : Number(m[1])) : 1;
    const sp = parseSpecies(m[2]!);
    const word = canonicalText(m[2]!).toLowerCase();
    if (!sp && !NON_SPECIES_TERMS.test(word)) return null;
    const key = sp ? `${sp.formula}${sp.charge ? '^' + sp.charge : ''}` : word;
    out.push({ coef, species: key });
  }
  return out;
}

/** Reactants and products of an equation, or null when the text is not one. */
export function parseEquation(raw: string): { left: Term[]; right: Term[] } | null {
  const t = stripChemMarkup(raw).replace(/\\\\/g, ' ');
  const parts = t.split(ARROWS);
  if (parts.length !== 2) return null;
  const left = parseSide(parts[0]!);
  const right = parseSide(parts[1]!);
  if (!left || !right || left.length === 0 || right.length === 0) return null;
  return { left, right };
}

function sideMap(terms: Term[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of terms) m.set(t.species, (m.get(t.species) ?? 0) + t.coef);
  return m;
}

function proportional(a: Map<string, number>[], b: Map<string, number>[]): boolean {
  let ratio: number | null = null;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.size !== y.size) return false;
    for (const [k, v] of x) {
      const w = y.get(k);
      if (w === undefined) return false;
      const r = w / v;
      if (ratio === null) ratio = r;
      else if (Math.abs(r - ratio) > 1e-9 * Math.max(1, Math.abs(ratio))) return false;
    }
  }
  return true;
}

export function compareEquations(pred: string, gold: string): Verdict | null {
  const p = parseEquation(pred);
  const g = parseEquation(gold);
  if (!p || !g) return null;
  const [pl, pr, gl, gr] = [sideMap(p.left), sideMap(p.right), sideMap(g.left), sideMap(g.right)];
  if (proportional([pl, pr], [gl, gr]) || proportional([pl, pr], [gr, gl])) return equal('same balanced equation');
  return different('different equation');
}

function splitList(s: string): string[] {
  return stripChemMarkup(s).split(/\s*(?:、|,|，|;|；|和|and)\s*/).map((x) => x.trim()).filter(Boolean);
}

export function compareChemistry(predRaw: string, goldRaw: string, opts: ScienceOptions): Verdict {
  const pred = predRaw.trim();
  const gold = goldRaw.trim();
  if (pred.length === 0) return different('empty answer');
  if (pred === gold || canonicalText(pred) === canonicalText(gold)) return equal('exact match');
  const hedge = hedgeReason(pred, gold);
  if (hedge && !/等|or\b|或/.test(gold)) return different(hedge);

  const eq = compareEquations(pred, gold);
  if (eq) return eq;

  const ps = parseSpecies(pred);
  const gs = parseSpecies(gold);
  if (ps && gs) {
    const v = compareSpecies(ps, gs);
    if (v.kind !== 'unknown') return v;
  }

  const q = compareLabelledQuantities(pred, gold, opts);
  if (q) return q;

  // Lists of species: "Zn²⁺、Cu²⁺".
  const plist = splitList(pred);
  const glist = splitList(gold);
  if (plist.length > 1 && glist.length > 1) {
    const pSp = plist.map(parseSpecies);
    const gSp = glist.map(parseSpecies);
    if (pSp.every(Boolean) && gSp.every(Boolean)) {
      if (pSp.length !== gSp.length) return different('different number of species');
      const key = (s: Species) => `${s.formula}^${s.charge}`;
      const a = pSp.map((s) => key(s!)).sort();
      const b = gSp.map((s) => key(s!)).sort();
      return a.every((x, i) => x === b[i]) ? equal('same species') : different('different species');
    }
  }
  if (hasCjk(pred) || hasCjk(gold)) return unknown('names or descriptions');
  if (ps && !gs) return unknown('formula vs. text');
  return unknown('not decidable without a judge');
}
