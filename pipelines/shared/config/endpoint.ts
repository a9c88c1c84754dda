import { z } from 'zod';

/**
 * An OpenAI-compatible endpoint (policy, judge, teacher, ...). In its own module so that stage
 * config modules can use it without importing the whole config schema (which imports them).
 */
export const endpointSchema = z
  .object({
    name: z.string().min(1),
    baseUrl: z.url(),
    model: z.string().min(1),
    /** Name of the environment variable holding the API key (keys never live in the config). */
    apiKeyEnv: z.string().optional(),
  })
  .strict();

export type EndpointConfig = z.output<typeof endpointSchema>;
