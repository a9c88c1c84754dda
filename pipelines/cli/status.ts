import type { LoadedConfig } from '../shared/config/load.js';
import { datasetNames, stageContext } from '../shared/runner/context.js';
import { readFailures, type UnitFailure } from '../shared/runner/failures.js';
import { readManifest } from '../shared/runner/manifest.js';
import { applyUnits, planStage, readReduceRecord } from '../shared/runner/run-stage.js';
import { createShardViews } from '../shared/store/views.js';
import { loadStage, resolveUpstream, stageChain } from '../stages.js';
import { formatTable } from './table.js';

/** Per dataset and stage: units done / stale / pending, the funnel, and counts per reason from the ledger. */
export async function statusCommand(loaded: LoadedConfig, only: string | undefined): Promise<void> {
  for (const dataset of datasetNames(loaded, only)) {
    const ctx = await stageContext(loaded, dataset, new AbortController().signal);
    const rows: unknown[][] = [];
    const failed: Array<UnitFailure & { stage: string }> = [];
    const notes: string[] = [];
    const stages = stageChain(ctx.config);
    for (const stage of stages) {
      for (const where of [stage, `${stage}/_map`]) for (const f of await readFailures(ctx.layout.stageDir(where))) failed.push({ ...f, stage: where });
      const manifest = await readManifest(ctx.layout.manifest(stage), stage);
      let planned: { id: string; fingerprint: string; configHash: string }[] = [];
      let planError = '';
      try {
        const definition = await loadStage(stage);
        const units = await planStage(definition, ctx, resolveUpstream(stage, ctx.config));
        const record = definition.kind === 'global' ? await readReduceRecord(ctx, stage) : null;
        planned = definition.kind === 'global' ? applyUnits(units, record) : units;
        // a global stage's reduce may say how its steps ran (e.g. a rule that could not be applied)
        for (const note of (record?.summary.notes as string[] | undefined) ?? []) notes.push(`${stage}: ${note}`);
      } catch (err) {
        planError = (err as Error).message;
      }
      const done = planned.filter((u) => {
        const r = manifest.units[u.id];
        return r && r.fingerprint === u.fingerprint && r.configHash === u.configHash;
      }).length;
      const committed = Object.values(manifest.units);
      const sum = (k: 'in' | 'kept' | 'dropped' | 'quarantined') => committed.reduce((n, u) => n + u.counts[k], 0);
      rows.push([stage, done, planned.length - done, sum('in'), sum('kept'), sum('dropped'), sum('quarantined'), planError ? `cannot plan: ${planError}` : '']);
    }
    process.stdout.write(`\n# ${dataset}\n`);
    process.stdout.write(formatTable(['stage', 'units done', 'units pending', 'in', 'kept', 'dropped', 'quarantined', 'note'], rows) + '\n');
    if (notes.length) process.stdout.write(`\nnotes:\n${notes.map((n) => `  ${n}`).join('\n')}\n`);
    if (failed.length) {
      process.stdout.write(`\nfailed units (last run; every attempt used):\n`);
      process.stdout.write(formatTable(['stage', 'unit', 'attempts', 'failed at', 'error'], failed.map((f) => [f.stage, f.label, f.attempts, f.failedAt, f.error])) + '\n');
    }
    await createShardViews(ctx.conn, loaded.shardsDir, [dataset], stages);
    const reasons = await ctx.conn.runAndReadAll(
      `SELECT stage, decision, reason, count(*)::BIGINT AS n FROM ledger GROUP BY ALL ORDER BY stage, decision, n DESC`,
    );
    process.stdout.write('\nreasons:\n' + formatTable(reasons.columnNames(), reasons.getRowsJson() as unknown[][]) + '\n');
    if (stages.includes('synthesize')) {
      // The synthesize stage adds samples: what each generator made, and its skips by reason.
      const made = await ctx.conn.runAndReadAll(
        `SELECT generator, outcome, reason, count(*)::BIGINT AS n FROM synthesize_outcomes GROUP BY ALL ORDER BY generator, outcome, n DESC, reason`,
      );
      process.stdout.write('\nsynthesized (per generator):\n' + formatTable(made.columnNames(), made.getRowsJson() as unknown[][]) + '\n');
    }
  }
}
