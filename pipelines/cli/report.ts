import type { LoadedConfig } from '../shared/config/load.js';
import { writeReport, type ReportOptions, type ReportResult } from '../report/report.js';
import type { DatasetRunSummary } from './run.js';

function say(result: ReportResult, cpu: NodeJS.CpuUsage): void {
  const used = process.cpuUsage(cpu);
  const cost = `${((used.user + used.system) / 1e6).toFixed(2)} s CPU`;
  process.stdout.write(result.written ? `report written: ${result.path} | ${cost}\n` : `report unchanged (shards unchanged since it was written): ${result.path} | ${cost}\n`);
}

export async function reportCommand(loaded: LoadedConfig, opts: { dataset?: string; out?: string; force?: boolean }): Promise<void> {
  const cpu = process.cpuUsage();
  say(await writeReport(loaded, opts), cpu);
}

/** The report at the end of `run all`, recording what the run did per dataset. */
export async function reportAfterRun(loaded: LoadedConfig, summaries: DatasetRunSummary[], dataset: string | undefined): Promise<void> {
  const cpu = process.cpuUsage();
  const runs: NonNullable<ReportOptions['runs']> = new Map();
  for (const s of summaries) {
    const list = runs.get(s.dataset) ?? [];
    list.push({ stage: s.stage, processed: s.processed, skipped: s.skipped, seconds: Math.round(s.seconds * 10) / 10 });
    runs.set(s.dataset, list);
  }
  say(await writeReport(loaded, { dataset, runs }), cpu);
}
