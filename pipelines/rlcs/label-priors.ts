/**
 * Difficulty priors from human or dataset labels (MATH `level`, MathVision `level`, OlympiadBench
 * `difficulty`, any source field). A rule maps a label value to a tier or a pass rate; the prior then
 * counts as `weight` pseudo-rollouts and is pooled with whatever model-based grading the sample has,
 * so labels alone give real tiers with no server, and models refine them when present (GLM-4.1V §5.3
 * merges pass@k of reference models with human labels). The sample's `per_model` list names every
 * source its tier came from: model names, and `label:<field>=<value>` for the prior.
 */
import type { Difficulty, Sample } from '../../schemas/sample.js';
import { DEFAULT_TIER_THRESHOLDS, tierInterval, tierOf, type RatedTier, type TierThresholds } from '../difficulty/tiers.js';
import type { LabelRule } from './label-rule.js';

export type { LabelRule } from './label-rule.js';

export interface LabelPrior {
  /** `label:<field>=<value>`, as recorded in `per_model`. */
  name: string;
  passRate: number;
  weight: number;
}

/** The pass rate a tier stands for: the point tiers' own value, the middle of a range tier. */
export function tierPassRate(tier: RatedTier, thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS): number {
  const { lo, hi } = tierInterval(tier, thresholds);
  return (lo + hi) / 2;
}

function lookup(meta: unknown, path: string): unknown {
  let cur = meta;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function parseMeta(meta: string): unknown {
  try {
    return JSON.parse(meta);
  } catch {
    return undefined;
  }
}

/** The first rule that applies to the sample and has a mapping for its label value, or null. */
export function labelPriorOf(sample: Sample, rules: readonly LabelRule[], thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS): LabelPrior | null {
  if (rules.length === 0) return null;
  const meta = parseMeta(sample.meta);
  for (const rule of rules) {
    if (rule.sources && !rule.sources.includes(sample.source.name)) continue;
    const raw = lookup(meta, rule.field);
    if (raw === undefined || raw === null || typeof raw === 'object') continue;
    const value = String(raw).trim();
    const trailing = /(-?\d+(?:\.\d+)?)\s*$/.exec(value)?.[1];
    const target = rule.map[value] ?? (trailing !== undefined ? rule.map[trailing] : undefined);
    if (target === undefined) continue;
    const passRate = typeof target === 'number' ? target : tierPassRate(target, thresholds);
    return { name: `label:${rule.field}=${value}`, passRate, weight: rule.weight };
  }
  return null;
}

/**
 * The sample's difficulty with the label prior pooled in. `k`/`n` keep counting real rollouts only;
 * `pass_rate` is (Σ model successes + prior·weight) / (Σ model rollouts + weight), and the tier
 * follows it. Without model grading the tier is the label's own, and the source is `human`.
 */
export function withLabelPrior(sample: Sample, prior: LabelPrior | null, thresholds: TierThresholds, ratedAt: string): Sample {
  if (!prior) return sample;
  const d = sample.difficulty;
  const modelRows = d.per_model.filter((m) => !m.model.startsWith('label:'));
  const modelK = modelRows.reduce((s, m) => s + m.k, 0);
  const modelN = modelRows.reduce((s, m) => s + m.n, 0);
  const passRate = (modelK + prior.passRate * prior.weight) / (modelN + prior.weight);
  const pseudoK = Math.round(prior.passRate * prior.weight);
  const difficulty: Difficulty = {
    pass_rate: passRate,
    k: modelK,
    n: modelN,
    tier: tierOf(passRate, thresholds),
    per_model: [...modelRows, { model: prior.name, k: pseudoK, n: prior.weight, pass_rate: prior.passRate }],
    source: modelN > 0 ? 'offline' : 'human',
    rated_at: modelN > 0 ? d.rated_at : ratedAt,
    history: [...d.history, { at: ratedAt, source: 'human', k: pseudoK, n: prior.weight }],
  };
  return { ...sample, difficulty };
}
