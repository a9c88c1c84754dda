import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { loadConfig } from '../shared/config/load.js';
import { datasetNames } from '../shared/runner/context.js';
import { addSchedule, listSchedules, recentRuns, removeSchedule } from '../shared/runner/schedules.js';
import { registeredStages } from '../stages.js';
import { formatTable } from './table.js';

export async function scheduleAdd(
  id: string,
  opts: { queue: string; cron?: string; tz?: string; every?: number; stage: string; config: string; dataset?: string; distributed?: boolean },
): Promise<void> {
  if (opts.stage !== 'all' && !registeredStages().includes(opts.stage)) throw new InvalidArgumentError(`unknown stage "${opts.stage}"`);
  // Validated now, so a typo fails here and not at 2 a.m.
  const loaded = await loadConfig(opts.config);
  if (opts.dataset) datasetNames(loaded, opts.dataset);
  const info = await addSchedule(opts.queue, id, { cron: opts.cron, everyMs: opts.every, tz: opts.tz }, {
    configFile: resolve(opts.config),
    stage: opts.stage,
    dataset: opts.dataset,
    distributed: !!opts.distributed,
  });
  process.stdout.write(`schedule ${info.id}: ${info.cron ?? `every ${info.everyMs} ms`}; next run ${info.next ?? '?'}\n`);
}

export async function scheduleList(url: string): Promise<void> {
  const schedules = await listSchedules(url);
  process.stdout.write(
    formatTable(
      ['schedule', 'when', 'tz', 'next run', 'stage', 'dataset', 'config'],
      schedules.map((s) => [s.id, s.cron ?? `every ${s.everyMs} ms`, s.tz ?? '', s.next ?? '', s.run?.stage ?? '', s.run?.dataset ?? 'all', s.run?.configFile ?? '']),
    ) + '\n',
  );
  const runs = await recentRuns(url);
  if (runs.length) {
    process.stdout.write('\nlast runs:\n' + formatTable(['finished', 'state', 'result'], runs.map((r) => [r.finishedAt ?? '', r.state, r.error ?? r.output ?? ''])) + '\n');
  }
}

export async function scheduleRemove(id: string, url: string): Promise<void> {
  if (!(await removeSchedule(url, id))) throw new InvalidArgumentError(`no schedule "${id}"`);
  process.stdout.write(`schedule ${id} removed\n`);
}
