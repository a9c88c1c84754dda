/**
 * Runs the model generators over samples in a child process, as a stage worker would, so a test can
 * SIGKILL it mid-run (STRATUM_FAULT=journal-append:<n>) and run it again.
 * Usage: node --import tsx child-run.ts <spec.json>; spec: { dir, baseUrl, samples, out }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { modelGenerators, modelSynthesisConfigSchema, openModelSynthesis } from '../../../pipelines/synthesize/model/index.js';
import type { Sample } from '../../../schemas/sample.js';
import { modelConfig, offerAll, stageContextIn } from './support.js';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { dir: string; baseUrl: string; samples: string; out: string };
const stage = await stageContextIn(spec.dir);
// One request in flight at a time: a kill right after a journal append leaves nothing asked and unjournalled.
const config = modelSynthesisConfigSchema.parse(modelConfig(spec.baseUrl, { concurrency: 1 }));
const ctx = await openModelSynthesis(stage, config);
const samples = JSON.parse(readFileSync(spec.samples, 'utf8')) as Sample[];
const offered = await offerAll(samples, modelGenerators(config), ctx, 1);
await ctx.close();
writeFileSync(spec.out, JSON.stringify({ offered, counters: ctx.counters }));
process.exit(0);
