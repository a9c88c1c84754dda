/**
 * Answers that must never score: hedges ("10 (or 8)", "A or B", "等合理答案"), several alternative
 * values for a single-valued ground truth, and descriptions of a method instead of a result.
 */
import { splitTopLevel } from './text.js';

const PAREN_ALTERNATIVE = /[（(]\s*(?:or|或者?|也可能(?:是|为)?|也可(?:以)?(?:是|为)?|亦可|可能(?:是|为)?)\s*[^)）]*[)）]/i;
const HEDGE_PHRASES = [
  /(?:等|其他|其它|之类的?)\s*(?:合理|正确)?\s*答案/,
  /答案不唯一/,
  /\b(?:or|and)\s+(?:other|similar)\s+(?:reasonable|possible|valid)\s+(?:answers?|values?|options?)/i,
  /\bor\s+(?:something|anything)\s+(?:similar|else)\b/i,
  /\b(?:either)\b.+\bor\b/i,
  /\b(?:possibly|probably|maybe|perhaps)\b/i,
  /\bnot sure\b|\bI think\b|\bcould be\b|\bmight be\b/i,
  /可能是.+(?:也可能|或)/,
];

/** Whether the ground truth itself lists several values (then "a or b" may be a full answer). */
export function isMultiValued(gold: string): boolean {
  if (/\\pm|±|∓|\\cup|∪/.test(gold)) return true;
  if (/\bor\b|或|和|\band\b|、|;|；/i.test(gold)) return true;
  const inner = gold.replace(/^\s*[{[(]|[}\])]\s*$/g, '');
  return splitTopLevel(inner, [',', '，']).length > 1;
}

/** Reason string when the prediction hedges, else null. */
export function hedgeReason(pred: string, gold: string): string | null {
  if (PAREN_ALTERNATIVE.test(pred) && !PAREN_ALTERNATIVE.test(gold)) return 'hedged answer (parenthesised alternative)';
  for (const re of HEDGE_PHRASES) {
    if (re.test(pred) && !re.test(gold)) return 'hedged answer';
  }
  if (!isMultiValued(gold)) {
    const alternatives = splitTopLevel(pred, [' or ', ' OR ', '或者', '或']).map((s) => s.trim()).filter(Boolean);
    // Only value-like alternatives hedge; "or" inside a sentence is ordinary language.
    const valueLike = alternatives.every((a) => [...a].length <= 24 && a.split(/\s+/).length <= 4);
    if (alternatives.length > 1 && valueLike && new Set(alternatives.map((a) => a.toLowerCase())).size > 1) {
      return 'hedged answer (alternatives for a single-valued answer)';
    }
  }
  return null;
}

const METHOD_START =
  /^(?:to\s+\w+\s*,?\s*)?(?:use|using|apply|applying|calculate|compute|find|solve|determine|substitute|plug|set\s+up|identify|measure|estimate|look|read|check|compare|divide|multiply|add|subtract|consider|observe|count|refer)\b/i;
const METHOD_PHRASES = [
  /\b(?:from|based on|read (?:off|from)|using) the (?:graph|chart|figure|image|diagram|table|plot)\b/i,
  /\bvisual inspection\b/i,
  /\b(?:the|a) (?:formula|method|approach|theorem|rule|principle) (?:for|of|to)\b/i,
  /\blabels? from the\b|\bvalues? from (?:the )?graph\b/i,
];

/** Reason string when the prediction describes how to get the answer instead of giving it. */
export function methodOnlyReason(pred: string, gold: string): string | null {
  const text = pred
    .replace(/\\(?:text|textbf|mathrm)\s*\{/g, ' ')
    .replace(/[{}\\$]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const words = text.split(' ').filter((w) => /[a-zA-Z]/.test(w));
  if (words.length < 4) return null;
  const goldWords = gold.split(/\s+/).filter((w) => /[a-zA-Z]{2,}/.test(w)).length;
  if (goldWords >= 4) return null;
  if (METHOD_START.test(text)) return 'describes a method, not an answer';
  for (const re of METHOD_PHRASES) if (re.test(text) && !re.test(gold)) return 'describes a method, not an answer';
  return null;
}
