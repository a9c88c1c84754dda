import { z } from 'zod';
import { modelSynthesisConfigSchema } from './model/config.js';
import { GENERATORS, generatorEntry, generatorNames } from './registry.js';
import { templateProblem } from './templates.js';

/**
 * The `synthesize` section of a dataset: which generators run with which options. Without the
 * section the stage does not run (the chain is ingest → filter ...); `synthesize: {}` runs every
 * rule generator with its defaults. A generator name that does not exist is refused here, at load
 * time, with the valid names.
 */
export const synthesizeSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Seeds every generator's random stream (with the source sample id and the generator name). */
    seed: z.number().int().default(0),
    /** Per generator: `{ enabled, ...options }` (docs/synthesize.md lists them); missing generators run with their defaults. */
    generators: z
      .record(z.string(), z.unknown())
      .default({})
      .superRefine((given, ctx) => {
        for (const [name, value] of Object.entries(given)) {
          const entry = generatorEntry(name);
          if (!entry) {
            ctx.addIssue({ code: 'custom', path: [name], message: `unknown generator "${name}" (generators: ${generatorNames().join(', ')})` });
            continue;
          }
          const parsed = entry.options.safeParse(value ?? {});
          if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as never);
        }
      })
      .transform((given) => Object.fromEntries(GENERATORS.map((g) => [g.generator.name, g.options.parse(given[g.generator.name] ?? {})])) as Record<string, { enabled: boolean } & Record<string, unknown>>),
    /** Question phrasings replacing the bundled prompts/synthesize/<name>.txt, per template name. */
    templates: z
      .record(z.string(), z.array(z.string().min(1)).min(1))
      .default({})
      .superRefine((given, ctx) => {
        for (const [name, phrasings] of Object.entries(given)) {
          const problem = templateProblem(name, phrasings);
          if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
        }
      }),
    /**
     * Endpoints and settings of the model generators (recaption, teacher_questions; docs/synthesize-models.md).
     * They run only when enabled under `generators`; without an endpoint they skip every sample with `no_endpoint`.
     */
    models: modelSynthesisConfigSchema.default(() => modelSynthesisConfigSchema.parse({})),
  })
  .strict();

export type SynthesizeConfig = z.output<typeof synthesizeSchema>;
