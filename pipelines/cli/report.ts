import type { LoadedConfig } from '../shared/config/load.js';
import { writeReport, type ReportOptions, type ReportResult } from '../report/report.js';
import type { DatasetRunSummary } from './run.js';

function say(result: ReportResult): void {
  process.stdout.write(result.written ? `report written: ${result.path}\n` : `report unchanged (shards unchanged since it was written): ${result.path}\n`);
}

export async function reportCommand(loaded: LoadedConfig, opts: { dataset?: string; out?: string; force?: boolean }): Promise<void> {
  say(await writeReport(loaded, opts));
}

/** The report at the end of `run all`, recording what the run did per dataset. */
export async function reportAfterRun(loaded: LoadedConfig, summaries: DatasetRunSummary[], dataset: string | undefined): Promise<void> {
  const runs: NonNullable<ReportOptions['runs']> = new Map();
  for (const s of summaries) {
    const list = runs.get(s.dataset) ?? [];
    list.push({ stage: s.stage, processed: s.processed, skipped: s.skipped, seconds: Math.round(s.seconds * 10) / 10 });
    runs.set(s.dataset, list);
  }
  say(await writeReport(loaded, { dataset, runs }));
}
