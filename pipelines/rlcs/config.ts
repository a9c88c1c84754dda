import { z } from 'zod';
import { TIERS } from '../../schemas/tier.js';

/** RLCS defaults: solved and unsolved groups carry no GRPO signal, so they are down-weighted. */
export const DEFAULT_TIER_WEIGHTS = { solved: 0.1, easy: 0.5, medium: 1, hard: 1, unsolved: 0.1, unrated: 1 } as const;

const tierWeightsSchema = z
  .object(Object.fromEntries(TIERS.map((t) => [t, z.number().min(0).optional()])) as Record<(typeof TIERS)[number], z.ZodOptional<z.ZodNumber>>)
  .strict();

/** Online RLCS: importing trainer logs (`rlcs import`) and sampling the next iteration (`rlcs sample`). */
export const rlcsSchema = z
  .object({
    /** Sampling weight per tier (missing tiers take the defaults above). */
    weights: tierWeightsSchema.default({}),
    /** EMA weight of the newest observed pass rate of a sample (1 = only the latest step counts). */
    passRateEma: z.number().gt(0).max(1).default(0.5),
    /** An online EMA pass rate within this of 1 (of 0) puts the sample in `solved` (`unsolved`). */
    pointTolerance: z.number().min(0).lt(0.5).default(0.05),
    /** EMA weight of the newest expansion ratio (per training step). */
    expansionEma: z.number().gt(0).max(1).default(0.3),
    /** Cap on expansion_ratio = 1 / (1 − not_valid_sample_rate); a step where every group is not valid would be infinite. */
    maxExpansion: z.number().min(1).default(4),
    /** A per-rollout score at or above this counts as correct when the log line carries no explicit correctness. */
    correctThreshold: z.number().default(0.5),
    /** Seed of the sampler; the draw for step N is a function of (seed, N, tiers). */
    seed: z.number().int().default(0),
  })
  .strict();

export type RlcsConfig = z.output<typeof rlcsSchema>;

export function tierWeights(config: RlcsConfig): Record<(typeof TIERS)[number], number> {
  const out = { ...DEFAULT_TIER_WEIGHTS } as Record<(typeof TIERS)[number], number>;
  for (const t of TIERS) if (config.weights[t] !== undefined) out[t] = config.weights[t]!;
  return out;
}
