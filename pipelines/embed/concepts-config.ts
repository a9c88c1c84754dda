import { z } from 'zod';
import { SAMPLE_KINDS } from '../../schemas/sample.js';

/**
 * `filter.concepts`: MetaCLIP-style balancing. Captions are matched against a vocabulary of
 * concepts (whole words or word sequences, after the filter's text normalisation); in the reduce,
 * a concept matched by n surviving samples keeps each of them with probability min(1, t / n)
 * (seeded, per sample and concept), and a sample survives when any of its concepts keeps it, so
 * head concepts are capped near t while tail concepts are kept whole.
 */
export const conceptsSchema = z
  .object({
    /** Concept entries, or a file with one entry per line (relative to the config file). */
    vocabulary: z.union([z.array(z.string().min(1)), z.string().min(1)]).default([]),
    /** t: samples kept per concept (MetaCLIP: 20,000 for 400M pairs). */
    maxPerConcept: z.number().int().min(1).default(20_000),
    /** Samples of the balanced kinds that match no concept: `keep` (default) or `drop` (MetaCLIP drops them). */
    unmatched: z.enum(['keep', 'drop']).default('keep'),
    kinds: z.array(z.enum(SAMPLE_KINDS)).default(['caption']),
    seed: z.number().int().default(0),
  })
  .strict();

export type ConceptsConfig = z.output<typeof conceptsSchema>;
export const CONCEPTS_DEFAULTS: ConceptsConfig = conceptsSchema.parse({});
