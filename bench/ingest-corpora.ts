/**
 * Every category of ../shared/corpora through the ingest stage in one job: one source per layout,
 * then the funnel per source (in = kept + dropped + quarantined), where the planted bad inputs
 * ended up, throughput and peak RSS. Slow OCR/PDF paths run on a slice of their inputs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatTable } from '../pipelines/cli/table.js';
import { runCommand } from '../pipelines/cli/run.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';

const C = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora');

/** Planted or naturally bad inputs, and the decision each must get. */
const EXPECTED: Array<{ like: string; decision: string; reason: RegExp }> = [
  { like: '%natural_images/skimage_data/truncated.jpg', decision: 'quarantined', reason: /^corrupt_image$/ },
  { like: '%video/decord/corrupted.mp4', decision: 'quarantined', reason: /^corrupt_video$/ },
  { like: '%ocr/docling_ocr/ocr_test.pdf', decision: 'dropped', reason: /^has_text_layer$|^kept$/ },
];

function sources(): NonNullable<PipelineConfigInput['datasets'][string]>['sources'] {
  const q = (p: string) => join(C, p);
  return [
    { name: 'gsm8k', type: 'qa', path: q('math_stem_qa/text/gsm8k_test.jsonl'), format: 'jsonl', preset: 'gsm8k' },
    { name: 'math500', type: 'qa', path: q('math_stem_qa/text/math500_test.jsonl'), format: 'jsonl', preset: 'math500' },
    { name: 'mathvision', type: 'qa', path: q('math_stem_qa/mathvision_testmini/testmini.jsonl'), format: 'jsonl', preset: 'mathvision' },
    { name: 'geometry3k', type: 'qa', path: q('math_stem_qa/geometry3k_intergps/*/data.json'), format: 'json', preset: 'geometry3k' },
    { name: 'tabmwp', type: 'qa', path: q('chart_doc_qa/tabmwp_test1k/problems_test1k.json'), format: 'json', preset: 'tabmwp', domain: 'chart' },
    { name: 'finchart-qa', type: 'qa', path: q('chart_doc_qa/finchart_bench_sample/QA_data.sample.json'), format: 'json', preset: 'finchart', domain: 'chart', verifier: 'chart' },
    { name: 'coco-captions', type: 'caption', layout: 'coco-captions', path: q('image_caption/coco_val2017_sample/captions_val2017_subset.json'), imageRoot: q('image_caption/coco_val2017_sample/images') },
    { name: 'natural', type: 'caption', layout: 'folder', path: q('natural_images'), requireCaption: false },
    { name: 'coco-boxes', type: 'grounding', format: 'coco', path: q('grounding/coco_mini/annotations/instances_val2017.json') },
    { name: 'coco128', type: 'grounding', format: 'yolo', path: q('grounding/coco128_yolo_val_subset'), labelsDir: 'labels_detection', classes: 'object_detection_config.yaml' },
    { name: 'mmc4', type: 'interleaved', format: 'mmc4', path: q('interleaved/mmc4_shard151_partial') },
    { name: 'skimage-html', type: 'interleaved', format: 'html', path: q('interleaved/skimage_gallery_html/auto_examples') },
    { name: 'gui', type: 'gui', path: q('interleaved/skimage_gallery_html/auto_examples/*/plot_a*.html') },
    { name: 'papers', type: 'pdf', path: q('ocr/pdfs_debian/sample-sigconf.pdf') },
    { name: 'tesseract-pairs', type: 'ocr', mode: 'pairs', path: q('ocr/tesseract_testing') },
    { name: 'sroie', type: 'ocr', mode: 'pairs', path: q('ocr/sroie_receipts/img'), groundTruth: q('ocr/sroie_receipts/box') },
    { name: 'born-digital', type: 'ocr', mode: 'pdf-text', path: q('ocr/pdfs_debian/shortsample.pdf') },
    { name: 'scanned', type: 'ocr', mode: 'pdf-scanned', path: q('ocr/docling_ocr/ocr_test*.pdf') },
    { name: 'scene-text', type: 'ocr', mode: 'scene-text', path: q('ocr/qwen25vl_cookbook_unlabeled/ocr') },
    { name: 'video', type: 'video', path: q('video') },
  ] as NonNullable<PipelineConfigInput['datasets'][string]>['sources'];
}

export async function benchIngestCorpora(): Promise<void> {
  if (!existsSync(C)) {
    process.stdout.write('skipped: ../shared/corpora absent\n');
    return;
  }
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-corpora-'));
  try {
    const loaded = validateConfig({ shardsDir: join(dir, 'shards'), datasets: { corpora: { sources: sources(), ingest: { unitRows: 500 } } } }, join(dir, 'pipeline.config.ts'));
    const started = performance.now();
    const [summary] = await runCommand(loaded, 'ingest', {});
    const seconds = (performance.now() - started) / 1000;
    const conn = await connect();
    await createShardViews(conn, loaded.shardsDir, ['corpora']);
    const funnel = await conn.runAndReadAll(`
      SELECT split_part(unit, ':', 1) AS source, count(*)::INT AS "in",
             count(*) FILTER (WHERE decision = 'kept')::INT AS kept,
             count(*) FILTER (WHERE decision = 'dropped')::INT AS dropped,
             count(*) FILTER (WHERE decision = 'quarantined')::INT AS quarantined,
             string_agg(DISTINCT CASE WHEN decision <> 'kept' THEN reason END, ', ') AS reasons
      FROM ledger GROUP BY 1 ORDER BY 1`);
    process.stdout.write(formatTable(funnel.columnNames(), funnel.getRowsJson() as unknown[][]) + '\n');
    const kinds = await conn.runAndReadAll(`SELECT kind, count(*)::INT AS samples, sum(len(media))::INT AS media FROM samples GROUP BY 1 ORDER BY 1`);
    process.stdout.write(formatTable(kinds.columnNames(), kinds.getRowsJson() as unknown[][]) + '\n');
    let allAsExpected = true;
    for (const e of EXPECTED) {
      const rows = (await conn.runAndReadAll(`SELECT decision, reason FROM ledger WHERE source_uri LIKE '${e.like}'`)).getRowObjectsJson();
      const ok = rows.length > 0 && rows.every((r) => (r.decision === e.decision && e.reason.test(String(r.reason))) || (r.decision === 'kept' && e.reason.test('kept')));
      allAsExpected &&= ok;
      process.stdout.write(`planted ${e.like.replace('%', '…/')}: ${rows.map((r) => `${r.decision} (${r.reason})`).join('; ') || 'not seen'} ${ok ? 'as expected' : 'UNEXPECTED'}\n`);
    }
    const c = summary!.counts;
    process.stdout.write(
      `funnel ${c.in === c.kept + c.dropped + c.quarantined ? 'balances' : 'DOES NOT BALANCE'}: in ${c.in} = kept ${c.kept} + dropped ${c.dropped} + quarantined ${c.quarantined}; ` +
        `planted inputs ${allAsExpected ? 'all where expected' : 'NOT all where expected'}; ${seconds.toFixed(1)} s, ${Math.round(c.in / seconds)} inputs/s; ` +
        `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (main process)\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchIngestCorpora();
