import { z } from 'zod';
import { TIERS } from '../../schemas/tier.js';
import type { RatedTier } from '../difficulty/tiers.js';

// The config schema of a label rule, apart from label-priors.ts so that rating samples does not load zod.
const RATED = TIERS.filter((t) => t !== 'unrated') as RatedTier[];

export const labelRuleSchema = z
  .object({
    /** Dot path into the source record's unmapped fields (the sample's `meta`), e.g. `level`. */
    field: z.string().min(1),
    /** Only samples from these sources (config source names); default: every source. */
    sources: z.array(z.string()).optional(),
    /**
     * Label value → tier name or pass rate in [0, 1]. Values are matched as strings; `Level 5`
     * also matches the key `5` (the trailing number).
     */
    map: z.record(z.string(), z.union([z.enum(RATED as [RatedTier, ...RatedTier[]]), z.number().min(0).max(1)])),
    /** How many rollouts the label is worth when pooled with model grading. */
    weight: z.number().int().positive().default(8),
  })
  .strict();

export type LabelRule = z.output<typeof labelRuleSchema>;
