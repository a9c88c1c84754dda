import type { LoadedConfig } from '../shared/config/load.js';
import { ConfigError } from '../shared/config/load.js';
import { connect } from '../shared/store/duckdb.js';
import { DatasetLayout } from '../shared/store/layout.js';
import { importLogs, type ImportReport } from '../rlcs/import-logs.js';
import { sampleIteration, type SampleResult } from '../rlcs/sampler.js';
import { RlcsPaths } from '../rlcs/store.js';

function datasetOf(loaded: LoadedConfig, only: string | undefined): string {
  const names = Object.keys(loaded.config.datasets);
  if (only !== undefined) {
    if (!names.includes(only)) throw new ConfigError(`no dataset "${only}" in ${loaded.file} (datasets: ${names.join(', ')})`);
    return only;
  }
  if (names.length !== 1) throw new ConfigError(`${loaded.file} has ${names.length} datasets; name one with --dataset (${names.join(', ')})`);
  return names[0]!;
}

function pathsOf(loaded: LoadedConfig, dataset: string): RlcsPaths {
  return new RlcsPaths(new DatasetLayout(loaded.shardsDir, dataset));
}

export async function rlcsImportCommand(loaded: LoadedConfig, logs: string[], opts: { dataset?: string; json?: boolean }): Promise<ImportReport> {
  const dataset = datasetOf(loaded, opts.dataset);
  const cfg = loaded.config.datasets[dataset]!;
  const report = await importLogs(await connect(), pathsOf(loaded, dataset), logs, cfg.rlcs, cfg.difficulty.tiers);
  if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(formatImport(dataset, report));
  return report;
}

export function formatImport(dataset: string, r: ImportReport): string {
  const lines = [`${dataset}: rlcs import ${r.import_id ?? '(nothing new)'} against ${r.universe} rated samples`];
  for (const f of r.files) {
    const reasons = Object.entries(f.malformed_reasons).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(
      `  ${f.log_file}: bytes ${f.start_offset}–${f.end_offset}${f.rewritten ? ' (file was rewritten: read again from the start)' : ''} | ` +
        `lines ${f.lines} = matched ${f.matched} + unknown ${f.unknown} + malformed ${f.malformed}${reasons ? ` (${reasons})` : ''}`,
    );
  }
  const t = r.totals;
  lines.push(`  total: lines ${t.lines} = matched ${t.matched} + unknown ${t.unknown} + malformed ${t.malformed}; ${t.observations} (sample, step) groups`);
  const tiers = Object.entries(r.state.tiers).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`  online state: ${r.state.samples_with_history} samples with history (${tiers || 'none'}); tier moves: ${r.state.moves_this_import} from this import, ${r.state.moves_total} in all`);
  return lines.join('\n') + '\n';
}

export async function rlcsSampleCommand(
  loaded: LoadedConfig,
  opts: { dataset?: string; step: number; batchSize: number; seed?: number; json?: boolean },
): Promise<SampleResult> {
  const dataset = datasetOf(loaded, opts.dataset);
  const cfg = loaded.config.datasets[dataset]!;
  const result = await sampleIteration(await connect(), pathsOf(loaded, dataset), cfg.rlcs, { step: opts.step, batchSize: opts.batchSize, seed: opts.seed });
  if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const e = result.expansion;
    const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stdout.write(
      `${dataset}: step ${result.step}: drew ${result.drawn} for batch ${result.batch_size} (expansion_ratio ${e.ratio.toFixed(3)}` +
        (e.lastStep === null ? ', no history yet' : `; step ${e.lastStep}: not valid ${(e.lastRate! * 100).toFixed(1)}% → ${e.lastRaw!.toFixed(3)}, EMA over ${e.steps} steps`) +
        `)\n  tier mix: ${fmt(result.tier_mix)}\n  population: ${fmt(result.population_mix)}\n  weights: ${fmt(result.weights)}\n  manifest: ${result.manifest}\n`,
    );
  }
  return result;
}
