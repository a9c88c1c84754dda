import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { loadConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, queryShards, REPO_ROOT, runCli, type Workspace } from '../support/workspace.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

describe('the bundled example job (pipeline.config.ts + examples/qa + examples/synthesize)', () => {
  it('runs ingest → synthesize → filter → difficulty → export with no server: tasks synthesised, duplicates and held-out eval items removed, labelled sources (MATH, MathVision `level`) get real tiers, the rest stay unrated, all exported', async () => {
    ws = await createWorkspace();
    const loaded = { ...(await loadConfig(join(REPO_ROOT, 'pipeline.config.ts'))), shardsDir: ws.path('shards') };
    const summaries = await runCommand(loaded, 'all', {});
    expect(summaries.map((s) => s.stage)).toEqual(['ingest', 'synthesize', 'filter', 'difficulty', 'export', 'ingest', 'filter', 'difficulty', 'export']);
    for (const s of summaries) expect(s.counts.in).toBe(s.counts.kept + s.counts.dropped + s.counts.quarantined);
    // 61 QA rows, 6 shape images (16 "locate every" tasks; one crowd region dropped), 8 rendered signs.
    expect(summaries[0]!.counts).toMatchObject({ in: 86, kept: 85, dropped: 1 });
    // synthesize passes all 85 through and adds 52 derived tasks (the filter's input)
    expect(summaries[1]!.counts).toMatchObject({ in: 85, kept: 85 });
    expect(summaries[2]!.counts).toMatchObject({ in: 137, kept: 121, dropped: 16 });
    const made = await queryShards(loaded, `SELECT generator, outcome, reason, count(*)::INT AS n FROM synthesize_outcomes GROUP BY ALL ORDER BY ALL`);
    expect(made).toEqual([
      { generator: 'count_boxes', outcome: 'generated', reason: 'ok', n: 14 },
      { generator: 'count_boxes', outcome: 'skipped', reason: 'crowd_region', n: 1 },
      { generator: 'count_boxes', outcome: 'skipped', reason: 'overlapping_boxes', n: 1 },
      { generator: 'count_boxes', outcome: 'skipped', reason: 'tiny_boxes', n: 1 },
      { generator: 'mc_to_open', outcome: 'generated', reason: 'ok', n: 8 },
      { generator: 'mc_to_open', outcome: 'skipped', reason: 'options_in_image', n: 1 },
      { generator: 'mc_to_open', outcome: 'skipped', reason: 'question_refers_to_options', n: 1 },
      { generator: 'read_text', outcome: 'generated', reason: 'ok', n: 20 },
      { generator: 'spatial_relations', outcome: 'generated', reason: 'ok', n: 10 },
      { generator: 'spatial_relations', outcome: 'skipped', reason: 'fewer_than_two_unique_objects', n: 3 },
    ]);
    const reasons = await queryShards(loaded, `SELECT reason, count(*)::INT AS n FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id WHERE l.stage = 'filter' AND l.decision = 'dropped' AND s.dataset = 'example' GROUP BY reason ORDER BY reason`);
    // 6 repeated GSM8K rows, and 7 of the 8 multiple-choice questions whose open form (emitted before them) is kept in their
    // place: their options make them near, not exact, duplicates of it. The eighth, Geometry3K's "Find x." over four numbers,
    // is too short for MinHash and stays beside its open form.
    expect(reasons).toEqual([{ reason: 'decontaminated:math500_heldout', n: 3 }, { reason: 'exact_dup:text', n: 6 }, { reason: 'near_dup:text', n: 7 }]);
    const replaced = await queryShards(loaded, `SELECT count(*)::INT AS n FROM ledger l JOIN synthesize_samples d ON d.id = json_extract_string(l.details, '$.kept_sample_id') WHERE l.stage = 'filter' AND d.derived_from.sample_id = l.sample_id`);
    expect(replaced).toEqual([{ n: 7 }]);
    const tiers = await queryShards(loaded, `SELECT tier, count(*)::INT AS n FROM samples WHERE dataset = 'example' GROUP BY tier ORDER BY tier`);
    // MATH-500 (7 after the 3 held-out items) and MathVision (10) carry `level` labels; GSM8K, AQuA, SVAMP, Geometry3K and the synthesised tasks do not.
    expect(tiers).toEqual([{ tier: 'easy', n: 11 }, { tier: 'hard', n: 2 }, { tier: 'medium', n: 4 }, { tier: 'unrated', n: 104 }]);
    const exported = await queryShards(loaded, `SELECT count(*)::INT AS n, count(*) FILTER (WHERE len(images) > 0)::INT AS with_images FROM export_verl`);
    // 13 QA rows with images, and every grounding, OCR and synthesised image task keeps its image through the filter
    expect(exported).toEqual([{ n: 121, with_images: 82 }]);
    const imageless = await queryShards(loaded, `SELECT count(*)::INT AS n FROM difficulty_samples WHERE derived_from IS NOT NULL AND derived_from.generator <> 'mc_to_open' AND len(media) = 0`);
    expect(imageless).toEqual([{ n: 0 }]);
    const verifiers = await queryShards(loaded, `SELECT reward_model.ground_truth IS NOT NULL AS gt, count(*)::INT AS n FROM export_verl GROUP BY ALL`);
    expect(verifiers).toEqual([{ gt: true, n: 121 }]);
  });

  it('exports the bundled pre-training samples as WebDataset shards, interleaved Parquet and SFT conversations', async () => {
    const loaded = { ...(await loadConfig(join(REPO_ROOT, 'pipeline.config.ts'))), shardsDir: ws.path('shards') };
    const kinds = await queryShards(loaded, `SELECT kind, count(*)::INT AS n FROM ingest_samples WHERE dataset = 'pretraining' GROUP BY kind ORDER BY kind`);
    expect(kinds).toEqual([{ kind: 'caption', n: 8 }, { kind: 'grounding', n: 12 }, { kind: 'interleaved', n: 3 }]);
    const ledger = await queryShards(loaded, `SELECT reason, count(*)::INT AS n FROM ledger WHERE stage = 'export' AND unit LIKE 'pretraining:%' GROUP BY reason`);
    // One of the three gallery pages repeats itself (code listings: 31% of its word 5-grams recur) and the filter drops it.
    expect(ledger).toEqual([{ reason: 'exported', n: 22 }]);
    const exportDir = ws.path('shards', 'pretraining', 'export');
    const { readFile } = await import('node:fs/promises');
    const shards = JSON.parse(await readFile(join(exportDir, 'webdataset', 'shardindex.json'), 'utf8')) as { shardlist: Array<{ url: string; nsamples: number }> };
    expect(shards.shardlist.map((s) => s.url.split('/')[0])).toEqual(['kind=caption', 'kind=grounding', 'kind=interleaved']);
    expect(shards.shardlist.reduce((n, s) => n + s.nsamples, 0)).toBe(22);
    const sft = JSON.parse(await readFile(join(exportDir, 'sft', 'manifest.json'), 'utf8')) as { files: Array<{ kind: string; samples: number }> };
    expect(sft.files.map((f) => [f.kind, f.samples])).toEqual([['caption', 8], ['grounding', 12]]);
  });

  it('answers SQL one-shot and interactively over the shards', async () => {
    const cfg = ws.path('pipeline.config.ts');
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(cfg, (await readFile(join(REPO_ROOT, 'pipeline.config.ts'), 'utf8')).replace("from './pipelines/", `from '${REPO_ROOT}/pipelines/`).replace("shardsDir: 'shards'", `shardsDir: '${ws.path('shards')}'`).replaceAll("'examples/", `'${REPO_ROOT}/examples/`));
    const oneShot = await runCli(['sql', '--config', cfg, '--json', "SELECT kind, count(*)::INT AS n FROM samples WHERE dataset = 'example' GROUP BY kind"]);
    expect(oneShot.code, oneShot.stderr).toBe(0);
    expect(oneShot.stdout.trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([{ kind: 'grounding', n: 60 }, { kind: 'ocr', n: 8 }, { kind: 'qa', n: 53 }]);
    const interactive = await runCli(['sql', '--config', cfg], { input: 'SELECT count(*) AS n\nFROM ledger\nWHERE stage = \'export\' AND unit NOT LIKE \'pretraining:%\';\nSELECT nonsense;\n.quit\n' });
    expect(interactive.code).toBe(0);
    expect(interactive.stdout).toMatch(/\b121\b/);
    expect(interactive.stdout).toContain('error:');
  });

  it('answers --help for every command and refuses an unknown stage with a clear message', async () => {
    for (const args of [['--help'], ['run', '--help'], ['status', '--help'], ['sql', '--help'], ['notebook', '--help'], ['serve', '--help']]) {
      const res = await runCli(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toContain('Usage: pipeline');
    }
    const bad = await runCli(['run', 'bogus']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown stage "bogus"');
  });

  it('names the bad field of an invalid config', async () => {
    const dir = await createWorkspace();
    try {
      await dir.write('pipeline.config.ts', `export default { datasets: { d: { sources: [{ name: 'x', type: 'qa', path: 'a.jsonl', format: 'xml' }] } } };`);
      const res = await runCli(['run', 'ingest', '--config', dir.path('pipeline.config.ts')]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/datasets\.d\.sources\[0\]\.format/);
    } finally {
      await dir.cleanup();
    }
  });
});
