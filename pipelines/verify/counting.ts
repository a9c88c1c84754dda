/** Counting: integers written as digits, "1.0", English words or Chinese numerals (三只猫). */
import { hedgeReason } from './hedging.js';
import { parseCount } from './numbers.js';
import { different, equal, unknown, type Verdict } from './types.js';

export function compareCount(pred: string, gold: string): Verdict {
  const p = pred.trim();
  const g = gold.trim();
  if (p.length === 0) return different('empty answer');
  if (p === g) return equal('exact match');
  const hedge = hedgeReason(p, g);
  if (hedge) return different(hedge);
  const gc = parseCount(g);
  if (gc === null) return unknown('ground truth is not a count');
  const pc = parseCount(p);
  if (pc === null) {
    return /\d/.test(p) ? unknown('answer is not a plain count') : different('no count in the answer');
  }
  return pc === gc ? equal(`count ${pc}`) : different(`count ${pc} ≠ ${gc}`);
}
