import { registeredStages } from '../stages.js';
import { InvalidArgumentError } from 'commander';
import { QueueWorker } from '../shared/runner/queue-worker.js';

/** `pipeline worker --queue redis://…`: serves units until SIGINT/SIGTERM, then finishes those in flight. */
export async function workerCommand(opts: {
  queue: string;
  stages?: string;
  concurrency?: number;
  metricsPort?: number;
  metricsHost: string;
  lockMs: number;
  stalledCheckMs: number;
}): Promise<void> {
  const stages = opts.stages?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = stages?.filter((s) => !registeredStages().includes(s)) ?? [];
  if (unknown.length) throw new InvalidArgumentError(`unknown stage(s) ${unknown.join(', ')} (expected ${registeredStages().join(', ')})`);
  const worker = new QueueWorker({ url: opts.queue, stages, concurrency: opts.concurrency, lockDurationMs: opts.lockMs, stalledIntervalMs: opts.stalledCheckMs });
  const names = await worker.start();
  const server = opts.metricsPort ? await worker.metrics.serve(opts.metricsPort, opts.metricsHost, () => worker.queueDepth()) : null;
  process.stdout.write(
    `worker ${worker.id} serving ${names.join(', ')} from ${opts.queue}${server ? `; metrics on http://${opts.metricsHost}:${opts.metricsPort}/metrics` : ''}\n`,
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
  await worker.close();
}
