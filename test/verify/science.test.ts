import { describe, expect, it } from 'vitest';
import { compareChemistry, elementCounts, parseEquation, parseSpecies } from '../../pipelines/verify/chemistry.js';
import { comparePhysics } from '../../pipelines/verify/physics.js';
import { parseQuantity, parseUnit, requestedUnit, toSI } from '../../pipelines/verify/units.js';
import { score } from './helpers.js';

const phys = (p: string, g: string, question?: string) => comparePhysics(p, g, { question }).kind;
const chem = (p: string, g: string, question?: string) => compareChemistry(p, g, { question }).kind;

describe('units', () => {
  it('parses compound units and converts to SI', () => {
    expect(toSI(1, parseUnit('km/h'))).toBeCloseTo(1 / 3.6, 12);
    expect(toSI(1, parseUnit('J/(mol·K)'))).toBe(1);
    expect(parseUnit('J mol^{-1} K^{-1}')!.dim).toEqual(parseUnit('J/(mol·K)')!.dim);
    expect(toSI(1, parseUnit('mmHg'))).toBeCloseTo(133.322, 3);
    expect(toSI(0, parseUnit('°C'))).toBeCloseTo(273.15, 9);
    expect(toSI(1, parseUnit('M'))).toBe(1000);
    expect(toSI(2.5, parseUnit('μF'))).toBeCloseTo(2.5e-6, 15);
    expect(parseUnit('米/秒')!.dim).toEqual(parseUnit('m/s')!.dim);
    expect(parseUnit('apples')).toBeNull();
  });
  it('splits value and unit, including uncertainties and LaTeX', () => {
    expect(parseQuantity('9.8 m/s²')).toMatchObject({ value: 9.8, unitText: 'm/s²' });
    expect(parseQuantity('\\dfrac{6\\sqrt{2}}{5}\\,\\text{V}')!.value).toBeCloseTo(1.697, 3);
    expect(parseQuantity('(3.00 ± 0.01) × 10^8 m/s')).toMatchObject({ value: 3e8, error: 1e6 });
    expect(parseQuantity('5.8厘米')!.unitText).toBe('厘米');
  });
  it('finds the unit a question asks for', () => {
    expect(requestedUnit('1 m/s 等于多少 km/h？')!.scale).toBeCloseTo(1 / 3.6, 12);
    expect(requestedUnit('What is the speed in km/h?')).not.toBeNull();
    expect(requestedUnit('求宽。')).toBeNull();
  });
});

describe('physics', () => {
  it('converts units before comparing', () => {
    expect(phys('1 km', '1000 m')).toBe('equal');
    expect(phys('1 hour', '3600 seconds')).toBe('equal');
    expect(phys('10 m/s', '36 km/h')).toBe('equal');
    expect(phys('1 eV', '1.60218 × 10^-19 J')).toBe('equal');
    expect(phys('15°C', '15 degrees Celsius')).toBe('equal');
    expect(phys('2.5 μF', '2.5 microfarads')).toBe('equal');
    expect(phys('(9.81 ± 0.01) m/s²', '9.81 ± 0.01 m/s²')).toBe('equal');
    expect(phys('7.6 m/s²', '7.61 m/s²')).toBe('different');
    expect(phys('5 N', '5 J')).toBe('different');
  });
  it('rejects a unit other than the one the question asks for', () => {
    expect(phys('1 m/s', '3.6 km/h', '1 m/s 等于多少 km/h？')).toBe('different');
    expect(phys('4800', '4800J', '重力对它做的功为多少J.')).toBe('equal');
  });
  it('compares formulas as equations', () => {
    expect(phys('F=ma', 'a=F/m')).toBe('equal');
    expect(phys('P=IV', 'I=P/V')).toBe('equal');
    expect(phys('E = mc²', 'E = mc^2')).toBe('equal');
    expect(phys('v = v₀ + at', 'v = v0 + at')).toBe('equal');
    expect(phys('F=ma', 'F=mg')).toBe('different');
    expect(phys('P=IV', 'P=I/V')).toBe('different');
    expect(phys('sinθ/cosθ', 'tanθ')).toBe('equal');
  });
  it('leaves descriptions to the judge and rejects hedges', () => {
    expect(phys('竖直向下', '沿地心方向')).toBe('unknown');
    expect(phys('20N (38.4N或40N等合理答案均可)', '20N')).toBe('different');
  });
});

describe('chemistry', () => {
  it('normalises formulas, charges and state symbols', () => {
    expect(parseSpecies('SO4^{2-}')).toEqual({ formula: 'SO4', charge: '2-', state: null });
    expect(parseSpecies('CO₂(g)')).toEqual({ formula: 'CO2', charge: '', state: 'g' });
    expect(elementCounts('Ca(OH)2')).toEqual(new Map([['Ca', 1], ['O', 2], ['H', 2]]));
    expect(chem('H₂SO₄', 'H2SO4')).toBe('equal');
    expect(chem('CH₄', 'CH_{4}')).toBe('equal');
    expect(chem('Fe3+', 'Fe^{3+}')).toBe('equal');
    expect(chem('CO2', 'CO2(g)')).toBe('equal');
    expect(chem('CO2(g)', 'CO2(s)')).toBe('different');
    expect(chem('Cl-', 'Cl+')).toBe('different');
    expect(chem('H2O2', 'H2O')).toBe('different');
    expect(chem('NaCl', '氯化钠')).toBe('unknown');
  });
  it('compares balanced equations up to order, arrow and a common factor', () => {
    expect(parseEquation('2H2 + O2 → 2H2O')).not.toBeNull();
    expect(chem('H2 + 0.5 O2 → H2O', '2H2 + O2 = 2H2O')).toBe('equal');
    expect(chem('2HCl + Zn → ZnCl2 + H2', 'Zn + 2HCl → ZnCl2 + H2')).toBe('equal');
    expect(chem('H2O ⇌ H+ + OH-', 'H2O → H+ + OH-')).toBe('equal');
    expect(chem('\\mathrm{S} + \\mathrm{O_2} → \\mathrm{SO_2}', 'S + O₂ → SO₂')).toBe('equal');
    expect(chem('N2 + 3H2 ⇌ 2NH3', 'N2 + 3H2 ⇌ 2NH2')).toBe('different');
    expect(chem('2Na + Cl2 → 2NaCl', 'Na + Cl2 → NaCl')).toBe('different');
  });
  it('converts concentrations, energies, pressures and temperatures', () => {
    expect(chem('1 mM', '0.001 mol/L')).toBe('equal');
    expect(chem('1 kcal/mol', '4.184 kJ/mol')).toBe('equal');
    expect(chem('1 atm', '101.325 kPa')).toBe('equal');
    expect(chem('298.15 K', '25 °C')).toBe('equal');
    expect(chem('3N_A', '1.806×10²⁴')).toBe('equal');
    expect(chem('pH = 7.0', 'pH = 7')).toBe('equal');
    expect(chem('100 kJ/mol', '200 kJ/mol')).toBe('different');
  });
  it('scores through verify()', async () => {
    expect(await score('chemistry', 'H₂O', 'H2O')).toBe(1);
    expect(await score('physics', '1 km', '1000 m')).toBe(1);
  });
});
