import { registeredStages } from '../stages.js';
import { InvalidArgumentError } from 'commander';
import { loadConfig } from '../shared/config/load.js';
import { QueueWorker } from '../shared/runner/queue-worker.js';
import { runsWorker, type ScheduledRun } from '../shared/runner/schedules.js';
import { runCommand } from './run.js';

/** One scheduled run, as `pipeline run` would do it; its summary lines become the job's result. */
async function scheduledRun(run: ScheduledRun, url: string): Promise<string> {
  const summaries = await runCommand(await loadConfig(run.configFile), run.stage, { dataset: run.dataset, queue: run.distributed ? url : undefined });
  return summaries.map((s) => `${s.stage}: ${s.processed} processed, ${s.skipped} unchanged, ${s.pending} pending`).join('; ');
}

/** `pipeline worker --queue redis://…`: serves units until SIGINT/SIGTERM, then finishes those in flight. */
export async function workerCommand(opts: {
  queue: string;
  stages?: string;
  concurrency?: number;
  metricsPort?: number;
  metricsHost: string;
  lockMs: number;
  stalledCheckMs: number;
  runs?: boolean;
}): Promise<void> {
  const stages = opts.stages?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = stages?.filter((s) => !registeredStages().includes(s)) ?? [];
  if (unknown.length) throw new InvalidArgumentError(`unknown stage(s) ${unknown.join(', ')} (expected ${registeredStages().join(', ')})`);
  const worker = new QueueWorker({ url: opts.queue, stages, concurrency: opts.concurrency, lockDurationMs: opts.lockMs, stalledIntervalMs: opts.stalledCheckMs });
  const names = await worker.start();
  const runs = opts.runs ? runsWorker(opts.queue, (run) => scheduledRun(run, opts.queue)) : null;
  const server = opts.metricsPort ? await worker.metrics.serve(opts.metricsPort, opts.metricsHost, () => worker.queueDepth()) : null;
  process.stdout.write(
    `worker ${worker.id} serving ${names.join(', ')}${runs ? ' and scheduled runs' : ''} from ${opts.queue}${server ? `; metrics on http://${opts.metricsHost}:${opts.metricsPort}/metrics` : ''}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.stdout.write('worker stopping after the units in flight\n');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server?.close();
  if (runs) {
    await runs.worker.close();
    runs.connection.disconnect();
  }
  await worker.close();
}
