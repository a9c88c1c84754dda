/**
 * `pnpm bench synthesize`: the model-based generators (recaption, teacher_questions) against the
 * loopback server in its own process (bench/_synthesize-server.ts). Prints, per generator: requests/s,
 * generated samples/s, CPU ms of this process per generated sample, the keep rate with its reasons,
 * and the same for a rerun that replays every request from the journal. Peer: a bare `fetch` loop
 * sending the same number of requests at the same concurrency, CPU per request compared.
 */
import { rm } from 'node:fs/promises';
import { modelSynthesisConfigSchema, openModelSynthesis } from '../pipelines/synthesize/model/index.js';
import { recaptionGenerator } from '../pipelines/synthesize/model/recaption.js';
import { teacherQuestionsGenerator } from '../pipelines/synthesize/model/teacher-questions.js';
import type { Generator } from '../pipelines/synthesize/generator.js';
import type { ModelSynthesisContext } from '../pipelines/synthesize/model/context.js';
import type { Sample } from '../schemas/sample.js';
import { captionSample, offerAll, stageContextIn } from '../test/synthesize/model/support.js';
import { createWorkspace } from '../test/support/workspace.js';
import { BENCH_MODELS, benchCaption, startSynthesisServerProcess } from './_synthesize-server.js';

const CONCURRENCY = 16;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

export async function benchSynthesizeModels(): Promise<void> {
  const count = Number(process.env.BENCH_SYNTH_SAMPLES ?? 300);
  const server = await startSynthesisServerProcess(count);
  const ws = await createWorkspace('stratum-bench-synth-');
  try {
    const stage = await stageContextIn(ws.dir);
    const samples: Sample[] = [];
    for (let i = 0; i < count; i++) samples.push(await captionSample(stage, i, benchCaption(i)));
    const config = modelSynthesisConfigSchema.parse({
      concurrency: CONCURRENCY,
      recaption: { endpoint: { name: 'cap', baseUrl: server.baseUrl, model: BENCH_MODELS.captioner } },
      questions: { domain: 'math', teacher: { endpoint: { name: 't', baseUrl: server.baseUrl, model: BENCH_MODELS.teacher } }, solver: { endpoint: { name: 's', baseUrl: server.baseUrl, model: BENCH_MODELS.solver }, n: 8 } },
    });
    process.stdout.write(`${count} caption samples with a 32×24 PNG each, concurrency ${CONCURRENCY}, solver n = 8\n`);
    // Peer, first (it also warms the HTTP client up): as many captioner requests as samples, bare fetch, same concurrency, tiny bodies.
    const body = JSON.stringify({ model: BENCH_MODELS.captioner, messages: [{ role: 'user', content: benchCaption(1) }], n: 1, temperature: 0.2, top_p: 1, max_tokens: 512 });
    const bare = async (requests: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next++ < requests) await (await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
        }),
      );
    };
    await bare(100); // warm-up, not measured: the generators below run on a warm client too
    const cpu = process.cpuUsage();
    const start = performance.now();
    await bare(count);
    const bareCpu = cpuMs(cpu) / count;
    const bareRate = count / ((performance.now() - start) / 1000);

    let recaptionCpuPerRequest = 0;
    for (const generator of [recaptionGenerator(config.recaption), teacherQuestionsGenerator(config.questions)] as Generator<ModelSynthesisContext>[]) {
      for (const pass of ['first run', 'rerun (journal replay)']) {
        const ctx = await openModelSynthesis(await stageContextIn(ws.dir), config);
        const cpu = process.cpuUsage();
        const start = performance.now();
        const offered = await offerAll(samples, [generator], ctx, CONCURRENCY);
        const wallS = (performance.now() - start) / 1000;
        const usedMs = cpuMs(cpu);
        const requests = Object.values(ctx.counters).reduce((s, c) => s + c.requests, 0);
        const generated = offered.reduce((s, o) => s + o.result.tasks.length + (o.result.derived?.length ?? 0), 0);
        const reasons = new Map<string, number>();
        for (const o of offered) for (const s of o.result.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
        const candidates = generator.name === 'recaption' ? offered.length : generated + [...reasons].filter(([r]) => r !== 'teacher_item_malformed').reduce((s, [, n]) => s + n, 0);
        process.stdout.write(
          `${generator.name.padEnd(18)} ${pass.padEnd(24)} requests ${String(requests).padStart(5)} (${(requests / wallS).toFixed(0)}/s)  generated ${generated} (${(generated / wallS).toFixed(1)}/s)  ` +
            `CPU ${(usedMs / Math.max(1, generated)).toFixed(2)} ms/generated sample  keep ${((100 * generated) / Math.max(1, candidates)).toFixed(0)}% of ${candidates}` +
            `${reasons.size ? `  rejected: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')}` : ''}\n`,
        );
        if (generator.name === 'recaption' && pass === 'first run') recaptionCpuPerRequest = usedMs / Math.max(1, requests);
      }
    }
    process.stdout.write(
      `peer: bare fetch         requests ${String(count).padStart(5)} (${bareRate.toFixed(0)}/s)  CPU ${bareCpu.toFixed(2)} ms/request; ` +
        `recaption spends ${(recaptionCpuPerRequest / bareCpu).toFixed(1)}× that per request (image read + base64, prompt, checks, journal append)\n`,
    );
  } finally {
    server.stop();
    await ws.cleanup();
    await rm(ws.dir, { recursive: true, force: true });
  }
}
