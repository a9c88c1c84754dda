import { setMaxListeners } from 'node:events';
import type { LoadedConfig } from '../shared/config/load.js';
import { datasetNames, stageContext } from '../shared/runner/context.js';
import { runStage, type StageRunSummary } from '../shared/runner/run-stage.js';
import { loadStage, resolveUpstream, stageChain } from '../stages.js';

/** CPU seconds (user + system) of this process and its threads since `start`; child processes (decode pools) are not included. */
export function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export type DatasetRunSummary = StageRunSummary & { dataset: string };

export async function runCommand(
  loaded: LoadedConfig,
  stage: string,
  opts: { dataset?: string; force?: boolean; limit?: number; queue?: string; attempts?: number },
): Promise<DatasetRunSummary[]> {
  const executor = opts.queue ? new (await import('../shared/runner/queue-executor.js')).QueueExecutor({ url: opts.queue, attempts: opts.attempts }) : undefined;
  const controller = new AbortController();
  // Every in-flight request listens on this one signal (hundreds at high concurrency), each removing its listener when done.
  setMaxListeners(0, controller.signal);
  const onSignal = (): void => {
    process.stderr.write('\nstopping after the units in flight commit (Ctrl-C again to abort now)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  const summaries: DatasetRunSummary[] = [];
  try {
    for (const dataset of datasetNames(loaded, opts.dataset)) {
      const ctx = await stageContext(loaded, dataset, controller.signal);
      for (const name of stage === 'all' ? stageChain(ctx.config) : [stage]) {
        const cpu = process.cpuUsage();
        const definition = await loadStage(name);
        const summary = await runStage(definition, ctx, { force: opts.force, limitUnits: opts.limit, upstream: resolveUpstream(name, ctx.config), executor });
        summaries.push({ ...summary, dataset });
        const c = summary.counts;
        process.stdout.write(
          `${dataset}/${name}: ${summary.processed} unit(s) processed, ${summary.skipped} unchanged, ${summary.pending} pending` +
            `${summary.removed ? `, ${summary.removed} removed` : ''}${summary.reduced === undefined ? '' : summary.reduced ? `, reduce ran (${(summary.reduceCpuSeconds ?? 0).toFixed(2)} s CPU)` : ', reduce unchanged'}` +
            ` | in ${c.in} = kept ${c.kept} + dropped ${c.dropped} + quarantined ${c.quarantined}` +
            ` | ${summary.seconds.toFixed(1)} s, ${cpuSeconds(cpu).toFixed(2)} s CPU\n`,
        );
        if (controller.signal.aborted) return summaries;
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    await executor?.close();
  }
  return summaries;
}
