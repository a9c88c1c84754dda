#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../shared/config/load.js';
import { UserError } from '../shared/errors.js';
import { registeredStages } from '../stages.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const program = new Command('pipeline')
  .description('Stratum: curate vision-language RL and pre-training data (ingest → filter → difficulty → export)')
  .showHelpAfterError();

const configOption = () => new Option('-c, --config <file>', 'pipeline config file').default(DEFAULT_CONFIG_FILE);
const datasetOption = () => new Option('-d, --dataset <name>', 'only this dataset (default: all in the config)');

program
  .command('run')
  .description('run a stage (or all stages in order) for each dataset; committed, unchanged work units are skipped')
  .argument('<stage>', `one of ${[...registeredStages(), 'all'].join(', ')}`)
  .addOption(configOption())
  .addOption(datasetOption())
  .option('-f, --force', 'redo every work unit even when committed and unchanged')
  .option('-l, --limit <units>', 'process at most N pending work units; a later run continues', positiveInt)
  .option('-q, --queue <url>', 'hand units to BullMQ workers through this Redis (redis://host:port); this process plans, reduces and commits')
  .option('--attempts <n>', 'with --queue: deliveries per unit before it counts as failed', positiveInt, 3)
  .option('--no-report', '`run all`: do not write the HTML report at the end')
  .action(async (stage: string, opts: { config: string; dataset?: string; force?: boolean; limit?: number; queue?: string; attempts: number; report: boolean }) => {
    if (stage !== 'all' && !registeredStages().includes(stage)) {
      throw new InvalidArgumentError(`unknown stage "${stage}" (expected ${[...registeredStages(), 'all'].join(', ')})`);
    }
    const { runCommand } = await import('./run.js');
    const loaded = await loadConfig(opts.config);
    const summaries = await runCommand(loaded, stage, opts);
    if (stage === 'all' && opts.report) {
      const { reportAfterRun } = await import('./report.js');
      await reportAfterRun(loaded, summaries, opts.dataset);
    }
  });

program
  .command('report')
  .description('write one self-contained HTML file about the shards: funnel per stage and step, reasons, sources, tiers, rollouts, duplicates, gallery, timing, changes since the last run')
  .addOption(configOption())
  .addOption(datasetOption())
  .option('-o, --out <file>', 'where to write it (default: <shardsDir>/report.html)')
  .option('-f, --force', 'write it even when the shards are unchanged since the file was written')
  .action(async (opts: { config: string; dataset?: string; out?: string; force?: boolean }) => {
    const { reportCommand } = await import('./report.js');
    await reportCommand(await loadConfig(opts.config), opts);
  });

program
  .command('worker')
  .description('process units of `run --queue` from BullMQ on Redis; run one per machine (shards on a shared filesystem, same path everywhere)')
  .requiredOption('-q, --queue <url>', 'Redis URL, e.g. redis://10.0.0.5:6379')
  .option('-s, --stages <list>', 'comma-separated stages this worker runs (default: all), e.g. ingest,filter on CPU hosts and difficulty on GPU hosts')
  .option('--concurrency <n>', 'units at once per stage (default: each stage\'s own)', positiveInt)
  .option('--metrics-port <port>', 'serve Prometheus metrics on http://HOST:PORT/metrics', positiveInt)
  .option('--metrics-host <host>', 'address the metrics endpoint binds', '127.0.0.1')
  .option('--lock-ms <ms>', 'a worker silent this long is presumed dead and its unit handed to another', positiveInt, 30_000)
  .option('--stalled-check-ms <ms>', 'how often to look for units whose worker died', positiveInt, 30_000)
  .option('--runs', 'also start the runs that `schedule add` schedules (one at a time)')
  .action(async (opts: { queue: string; stages?: string; concurrency?: number; metricsPort?: number; metricsHost: string; lockMs: number; stalledCheckMs: number; runs?: boolean }) => {
    const { workerCommand } = await import('./worker.js');
    await workerCommand(opts);
  });

const schedule = program.command('schedule').description('recurring runs through BullMQ job schedulers; `pipeline worker --runs` starts them');
schedule
  .command('add')
  .description('add or replace a schedule, e.g. `schedule add nightly --cron "0 2 * * *" --stage all`')
  .argument('<id>', 'schedule name')
  .requiredOption('-q, --queue <url>', 'Redis URL')
  .option('--cron <expr>', 'cron pattern (5 or 6 fields)')
  .option('--tz <zone>', 'time zone of the cron pattern, e.g. Europe/Berlin (default: the worker\'s)')
  .option('--every <ms>', 'instead of --cron: every N milliseconds', positiveInt)
  .option('--stage <stage>', 'stage to run, or all', 'all')
  .addOption(configOption())
  .addOption(datasetOption())
  .option('--distributed', 'hand the run\'s units to queue workers instead of running them in the worker that starts the run')
  .action(async (id: string, opts: { queue: string; cron?: string; tz?: string; every?: number; stage: string; config: string; dataset?: string; distributed?: boolean }) => {
    const { scheduleAdd } = await import('./schedule.js');
    await scheduleAdd(id, opts);
  });
schedule
  .command('list')
  .description('schedules with their next run, and the last runs with their outcome')
  .requiredOption('-q, --queue <url>', 'Redis URL')
  .action(async (opts: { queue: string }) => {
    const { scheduleList } = await import('./schedule.js');
    await scheduleList(opts.queue);
  });
schedule
  .command('remove')
  .argument('<id>', 'schedule name')
  .requiredOption('-q, --queue <url>', 'Redis URL')
  .action(async (id: string, opts: { queue: string }) => {
    const { scheduleRemove } = await import('./schedule.js');
    await scheduleRemove(id, opts.queue);
  });

program
  .command('status')
  .description('per stage: work units done/pending and the funnel in = kept + dropped + quarantined, with counts per reason')
  .addOption(configOption())
  .addOption(datasetOption())
  .action(async (opts: { config: string; dataset?: string }) => {
    const { statusCommand } = await import('./status.js');
    await statusCommand(await loadConfig(opts.config), opts.dataset);
  });

program
  .command('sql')
  .description('DuckDB SQL over the shards with views samples, ledger, rollouts (and <stage>_samples); interactive without a query')
  .argument('[query]', 'SQL to run once; omit for an interactive prompt')
  .addOption(configOption())
  .addOption(datasetOption())
  .option('--json', 'print rows as JSON lines instead of a table')
  .action(async (query: string | undefined, opts: { config: string; dataset?: string; json?: boolean }) => {
    const { sqlCommand } = await import('./sql.js');
    await sqlCommand(await loadConfig(opts.config), query, opts);
  });

program
  .command('notebook')
  .description('run a DuckDB SQL notebook (cells separated by `-- %%` lines) against the shards')
  .argument('<file>', 'e.g. notebooks/overview.sql')
  .addOption(configOption())
  .addOption(datasetOption())
  .action(async (file: string, opts: { config: string; dataset?: string }) => {
    const { notebookCommand } = await import('./sql.js');
    await notebookCommand(await loadConfig(opts.config), file, opts);
  });

const models = program.command('models').description('image and image–text models for the filter (registered, never downloaded during a run)');
models
  .command('list')
  .description('the built-in image model and every registered model')
  .addOption(configOption())
  .action(async (opts: { config: string }) => {
    const { modelsListCommand } = await import('./models.js');
    await modelsListCommand(await loadConfig(opts.config));
  });
models
  .command('add')
  .description('register a Hugging Face ONNX export (onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, preprocessor_config.json, config.json)')
  .argument('<dir>', 'folder of the export')
  .requiredOption('-n, --name <name>', 'name to use in filter.embed.imageModel')
  .addOption(configOption())
  .option('--variant <variant>', 'use onnx/vision_model_<variant>.onnx (e.g. fp16)')
  .action(async (dir: string, opts: { config: string; name: string; variant?: string }) => {
    const { modelsAddCommand } = await import('./models.js');
    await modelsAddCommand(await loadConfig(opts.config), dir, opts.name, opts.variant);
  });
models
  .command('pull')
  .description('download a CLIP-family ONNX export from a Hugging Face-compatible hub (checksummed, resumable) and register it; runs never download')
  .argument('<repo>', 'owner/name on the hub')
  .option('-n, --name <name>', 'name to register (default: the repository name)')
  .option('-r, --revision <revision>', 'branch, tag or commit', 'main')
  .option('--variant <variant>', 'pull onnx/vision_model_<variant>.onnx (e.g. fp16)')
  .option('--hub <url>', 'hub address (default: HF_ENDPOINT, else https://huggingface.co); HF_TOKEN for gated models')
  .addOption(configOption())
  .action(async (repo: string, opts: { config: string; name?: string; revision: string; variant?: string; hub?: string }) => {
    const { modelsPullCommand } = await import('./models.js');
    await modelsPullCommand(await loadConfig(opts.config), repo, opts);
  });

program
  .command('serve')
  .description('run a service')
  .argument('<service>', 'reward: the verifier as an HTTP reward service for trainers')
  .option('-p, --port <port>', 'port to listen on', positiveInt, 8088)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .action(async (service: string, opts: { port: number; host: string }) => {
    if (service !== 'reward') throw new InvalidArgumentError(`unknown service "${service}" (expected reward)`);
    const { serveReward } = await import('./serve.js');
    await serveReward(opts);
  });

const rlcs = program.command('rlcs').description('online RL with Curriculum Sampling: import trainer logs, sample the next iteration (docs/rlcs.md)');
rlcs
  .command('import')
  .description('read trainer rollout logs (verl rollout_data_dir, pass@k group logs, {id|index, step, score} JSONL) into the pass-rate history; only new lines are read')
  .argument('<logs...>', 'log files or folders (searched for *.jsonl)')
  .addOption(configOption())
  .addOption(datasetOption())
  .option('--json', 'print the report as JSON')
  .action(async (logs: string[], opts: { config: string; dataset?: string; json?: boolean }) => {
    const { rlcsImportCommand } = await import('./rlcs.js');
    await rlcsImportCommand(await loadConfig(opts.config), logs, opts);
  });
rlcs
  .command('sample')
  .description('write the manifest of step N: tier-weighted draw of ceil(B × expansion_ratio) samples, seeded')
  .requiredOption('--step <n>', 'training step the manifest is for', (v) => (v === '0' ? 0 : positiveInt(v)))
  .requiredOption('--batch-size <b>', 'prompts per step before expansion', positiveInt)
  .option('--seed <s>', 'seed (default: rlcs.seed from the config)', (v) => { if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('expected an integer'); return Number(v); })
  .addOption(configOption())
  .addOption(datasetOption())
  .option('--json', 'print the result as JSON')
  .action(async (opts: { config: string; dataset?: string; step: number; batchSize: number; seed?: number; json?: boolean }) => {
    const { rlcsSampleCommand } = await import('./rlcs.js');
    await rlcsSampleCommand(await loadConfig(opts.config), opts);
  });

// `pipeline status | head`: a reader that stops early is not an error; leave quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

try {
  await program.parseAsync(process.argv.filter((a, i) => !(i === 2 && a === '--')));
} catch (err) {
  if (err instanceof UserError || err instanceof InvalidArgumentError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  // Matched by name: importing the rollout client here would load it for every command.
  if (err instanceof Error && err.name === 'RolloutError') {
    process.stderr.write(`error: ${err.message}\nCommitted work units and every finished request are kept; run the same command again to resume.\n`);
    process.exit(3);
  }
  throw err;
}
