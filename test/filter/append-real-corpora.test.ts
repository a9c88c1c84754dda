import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const TEXT = join(REPO_ROOT, '..', 'shared', 'corpora', 'math_stem_qa', 'text');

/** Real benchmarks with real duplicates (the Qwen copy of GSM8K) and multiple-choice questions (MMLU-STEM). */
const SETS: Array<[name: string, file: string, preset: string]> = [
  ['gsm8k', 'gsm8k_test.jsonl', 'gsm8k'],
  ['qwen', 'gsm8k_test.qwen25math_copy.jsonl', 'gsm8k'],
  ['mmlu', 'mmlu_stem_test.jsonl', 'mmlu'],
  ['math500', 'math500_test.jsonl', 'math500'],
  ['svamp', 'svamp_test.jsonl', 'svamp'],
];

function config(): PipelineConfigInput {
  return {
    shardsDir: 'shards',
    datasets: { math: { sources: SETS.map(([name, , preset]) => ({ name, type: 'qa', path: `${name}/*.jsonl`, format: 'jsonl', preset })), ingest: { unitRows: 400 } } },
  } as PipelineConfigInput;
}

/** Every input's filter decision with the sample kept in its place, and every kept row's dedup signals. */
async function outcome(loaded: LoadedConfig): Promise<{ ledger: string[]; kept: string[] }> {
  const ledger = await queryShards(loaded, `SELECT sample_id, decision, reason, json_extract_string(details, '$.kept_sample_id') AS keeper FROM ledger WHERE stage = 'filter' ORDER BY sample_id`);
  const kept = await queryShards(loaded, `SELECT id, signals.dedup.text_cluster AS tc, signals.dedup.image_cluster AS ic FROM filter_samples ORDER BY id`);
  return { ledger: ledger.map((r) => JSON.stringify(r)), kept: kept.map((r) => JSON.stringify(r)) };
}

describe.skipIf(!existsSync(TEXT))('filter: an append of real data decides as a full run does (../shared/corpora)', () => {
  const spaces: Workspace[] = [];
  afterAll(() => Promise.all(spaces.map((w) => w.cleanup())));

  it('90% then 10% of five benchmarks gives the decisions, keepers and dedup signals of one run over all of them', async () => {
    const [inc, full] = [await createWorkspace(), await createWorkspace()];
    spaces.push(inc, full);
    const later: Array<[string, string]> = [];
    for (const [name, file] of SETS) {
      const lines = readFileSync(join(TEXT, file), 'utf8').split('\n').filter(Boolean);
      const cut = Math.floor(lines.length * 0.9);
      const [first, rest] = [lines.slice(0, cut).join('\n') + '\n', lines.slice(cut).join('\n') + '\n'];
      await inc.write(`${name}/a.jsonl`, first);
      await full.write(`${name}/a.jsonl`, first);
      await full.write(`${name}/b.jsonl`, rest);
      later.push([`${name}/b.jsonl`, rest]);
    }
    const fullConfig = await full.config(config());
    await runCommand(fullConfig, 'ingest', {});
    await runCommand(fullConfig, 'filter', {});

    const incConfig = await inc.config(config());
    await runCommand(incConfig, 'ingest', {});
    await runCommand(incConfig, 'filter', {});
    for (const [rel, text] of later) await inc.write(rel, text);
    await runCommand(incConfig, 'ingest', {});
    const appended = (await runCommand(incConfig, 'filter', {})).at(-1)!;
    const record = JSON.parse(readFileSync(inc.path('shards/math/filter/_reduce/current.json'), 'utf8'));
    expect(record.summary.incremental).toBe(true);
    // the five new files' units, and no more than one old unit whose decisions really changed
    expect(appended.processed).toBeGreaterThanOrEqual(SETS.length);
    expect(appended.processed).toBeLessThanOrEqual(SETS.length + 1);

    const [a, b] = [await outcome(incConfig), await outcome(fullConfig)];
    expect(a.ledger.length).toBeGreaterThan(7000);
    expect(a.ledger).toEqual(b.ledger);
    expect(a.kept).toEqual(b.kept);
    // the copy is still found: every Qwen row is a duplicate of a GSM8K row, or the reverse
    const dups = a.ledger.filter((r) => JSON.parse(r).reason === 'exact_dup:text').length;
    expect(dups).toBeGreaterThanOrEqual(1319);
  }, 600_000);
});
