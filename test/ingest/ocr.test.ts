import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { lineBoxCsv, textImage, type TextImage } from '../fixtures/ocr/make-images.js';
import { imageOnlyPdf, TEXT_PAGE_LINES, textOnlyPdf, twoColumnPdf } from '../fixtures/pdf/make-pdfs.js';
import { createWorkspace, makePng, makeTruncatedJpeg, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;
let receipt: TextImage;

const CORPUS = ['Curriculum sampling keeps the middle tiers busy', 'Every input gets exactly one decision', 'Boxes are normalised to the 0 to 999 scale', '东京 is skipped by the default fonts'];

beforeAll(async () => {
  ws = await createWorkspace('stratum-ocr-');
  // pairs: plain text beside the image, tesstrain .gt.txt, SROIE line boxes in another folder, planted bad input
  const page = await textImage(['Hello OCR world', 'second line'], { size: 24 });
  await ws.write('pairs/img/page.png', page.png);
  await ws.write('pairs/img/page.txt', '\uFEFFHello OCR world\r\nsecond line\r\n\r\n');
  await ws.write('pairs/img/line.png', (await textImage(['tesstrain line'])).png);
  await ws.write('pairs/img/line.gt.txt', 'tesstrain line\n');
  receipt = await textImage(['TOTAL: 12,50', 'CASH 20,00'], { width: 400 });
  await ws.write('pairs/img/receipt.png', receipt.png);
  await ws.write('pairs/boxes/receipt.csv', lineBoxCsv(receipt.boxes));
  await ws.write('pairs/img/no-truth.png', (await textImage(['nothing'])).png);
  await ws.write('pairs/img/empty.png', (await textImage(['empty'])).png);
  await ws.write('pairs/img/empty.txt', ' \n\n');
  await ws.write('pairs/img/bad-boxes.png', (await textImage(['bad'])).png);
  await ws.write('pairs/boxes/bad-boxes.csv', '1,2,3,4,5,6,7,8,fine\n1,2,three,4,5,6,7,8,broken\n');
  await ws.write('pairs/img/broken.jpg', await makeTruncatedJpeg());
  await ws.write('pairs/img/broken.txt', 'text of a broken image');
  await ws.write('pairs/img/latin1.png', (await textImage(['café'])).png);
  await ws.write('pairs/img/latin1.txt', Buffer.from('caf\xe9', 'latin1'));
  // pdf-text: a born-digital page, a scan, a blank page
  await ws.write('pdfs/invoice.pdf', textOnlyPdf());
  await ws.write('pdfs/scan.pdf', imageOnlyPdf());
  await ws.write('pdfs/paper.pdf', twoColumnPdf());
  // synthetic: two backgrounds, one too small, one corrupt, a text corpus
  await ws.write('backgrounds/a.png', await makePng(11, 320, 200));
  await ws.write('backgrounds/b.png', await makePng(12, 300, 300));
  await ws.write('backgrounds/tiny.png', await makePng(13, 16, 16));
  await ws.write('backgrounds/broken.jpg', await makeTruncatedJpeg());
  await ws.write('corpus/lines.txt', CORPUS.join('\n') + '\n');
  loaded = await ws.config({
    datasets: {
      t: {
        sources: [
          { name: 'pairs', type: 'ocr', mode: 'pairs', path: 'pairs/img', groundTruth: 'pairs/boxes' },
          { name: 'pairs-beside', type: 'ocr', mode: 'pairs', path: 'pairs/img/page.png' },
          { name: 'pairs-glob', type: 'ocr', mode: 'pairs', path: 'pairs/img/rec*.png', groundTruth: 'pairs/boxes' },
          { name: 'layer', type: 'ocr', mode: 'pdf-text', path: 'pdfs', renderDpi: 72 },
          { name: 'synth', type: 'ocr', mode: 'synthetic', path: 'backgrounds', text: 'corpus', samplesPerImage: 2, fontSize: [14, 30], lines: [1, 3] },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(() => ws?.cleanup());

describe('ocr source: pairs, pdf-text and synthetic modes', () => {
  it('gives every image, page and rendering one decision, with a reason for each left out', async () => {
    const rows = await queryShards(loaded, `SELECT split_part(unit, ':', 1) AS s, source_uri AS uri, locator, decision, reason FROM ledger ORDER BY s, uri, locator`);
    const byInput = Object.fromEntries(rows.map((r) => [`${r.s} ${r.uri}#${r.locator}`, `${r.decision} ${r.reason}`]));
    expect(byInput).toEqual({
      'layer pdfs/invoice.pdf#page:1': 'kept ok',
      'layer pdfs/paper.pdf#page:1': 'kept ok',
      'layer pdfs/paper.pdf#page:2': 'dropped blank_page',
      'layer pdfs/paper.pdf#page:3': 'kept ok',
      'layer pdfs/scan.pdf#page:1': 'dropped image_only_page',
      'pairs pairs/img/bad-boxes.png#file': 'quarantined malformed_line_boxes',
      'pairs pairs/img/broken.jpg#file': 'quarantined corrupt_image',
      'pairs pairs/img/empty.png#file': 'quarantined empty_ground_truth',
      'pairs pairs/img/latin1.png#file': 'quarantined ground_truth_not_utf8',
      'pairs pairs/img/line.png#file': 'kept ok',
      'pairs pairs/img/no-truth.png#file': 'quarantined missing_ground_truth',
      'pairs pairs/img/page.png#file': 'kept ok',
      'pairs pairs/img/receipt.png#file': 'kept ok',
      'pairs-beside pairs/img/page.png#file': 'kept ok',
      'pairs-glob pairs/img/receipt.png#file': 'kept ok',
      'synth backgrounds/a.png#variant:0': 'kept ok',
      'synth backgrounds/a.png#variant:1': 'kept ok',
      'synth backgrounds/b.png#variant:0': 'kept ok',
      'synth backgrounds/b.png#variant:1': 'kept ok',
      'synth backgrounds/broken.jpg#variant:0': 'quarantined corrupt_image',
      'synth backgrounds/broken.jpg#variant:1': 'quarantined corrupt_image',
      'synth backgrounds/tiny.png#variant:0': 'dropped background_too_small',
      'synth backgrounds/tiny.png#variant:1': 'dropped background_too_small',
    });
    const [funnel] = await queryShards(loaded, `SELECT count(*)::INT AS n, count(*) FILTER (decision = 'kept')::INT AS kept FROM ledger`);
    const [samples] = await queryShards(loaded, `SELECT count(*)::INT AS n FROM samples`);
    expect(samples?.n).toBe(funnel?.kept);
  });

  it('pairs an image with its text file as written, as an OCR task for the ocr verifier', async () => {
    const [row] = await queryShards(loaded, `SELECT kind, content, task, signals.extra AS extra FROM samples WHERE source.name = 'pairs-beside'`);
    expect(row?.kind).toBe('ocr');
    const content = row?.content as Array<{ type: string; text: string | null; media_id: string | null }>;
    expect(content.map((p) => p.type)).toEqual(['image', 'text']);
    expect(content[1]?.text).toBe('Hello OCR world\nsecond line');
    expect(row?.task).toMatchObject({
      question: 'Read all the text in the image.',
      answer: '<|begin_of_box|>Hello OCR world\nsecond line<|end_of_box|>',
      answer_type: 'text',
      verifier: 'ocr',
      boxes: [],
    });
    expect(JSON.parse(row?.extra as string)).toMatchObject({ text_origin: 'ground-truth', ground_truth: 'pairs/img/page.txt', ground_truth_format: 'text' });
    const [gt] = await queryShards(loaded, `SELECT task.answer_raw AS a FROM samples WHERE source.uri = 'pairs/img/line.png'`);
    expect(gt?.a).toBe('tesstrain line');
  });

  it('reads SROIE-style line boxes (commas inside the text) and normalises them to 0–999', async () => {
    const [row] = await queryShards(loaded, `SELECT task FROM samples WHERE source.uri = 'pairs/img/receipt.png'`);
    const task = row?.task as { answer_raw: string; boxes: Array<{ label: string; x1: number; y1: number; x2: number; y2: number }> };
    expect(task.answer_raw).toBe('TOTAL: 12,50\nCASH 20,00');
    expect(task.boxes.map((b) => b.label)).toEqual(['TOTAL: 12,50', 'CASH 20,00']);
    const first = receipt.boxes[0] as TextImage['boxes'][number];
    expect(task.boxes[0]).toMatchObject({
      x1: Math.round((first.x1 / receipt.width) * 1000),
      y1: Math.round((first.y1 / receipt.height) * 1000),
      x2: Math.round((first.x2 / receipt.width) * 1000),
      y2: Math.round((first.y2 / receipt.height) * 1000),
    });
  });

  it('pairs born-digital PDF pages with their text layer, lines in reading order with boxes', async () => {
    const [row] = await queryShards(loaded, `SELECT task, media, signals.extra AS extra FROM samples WHERE source.uri = 'pdfs/invoice.pdf'`);
    const task = row?.task as { answer_raw: string; boxes: Array<{ label: string; x1: number; y1: number; x2: number; y2: number }> };
    expect(task.answer_raw).toBe(TEXT_PAGE_LINES.join('\n'));
    expect(task.boxes.map((b) => b.label)).toEqual(TEXT_PAGE_LINES);
    // the page is 360 × 180 pt, rendered at 72 dpi; lines start at x = 30 pt, baselines 40 pt apart
    expect((row?.media as Array<{ width: number; height: number }>)[0]).toMatchObject({ width: 360, height: 180 });
    for (const b of task.boxes) expect(Math.abs(b.x1 - 83)).toBeLessThanOrEqual(3);
    expect(task.boxes.map((b) => b.y2 - b.y1).every((h) => h > 60 && h < 160)).toBe(true);
    expect(JSON.parse(row?.extra as string)).toMatchObject({ text_origin: 'text-layer', page: 1, pages: 1, render_dpi: 72 });
    const [paper] = await queryShards(loaded, `SELECT task.answer_raw AS a FROM samples WHERE source.uri = 'pdfs/paper.pdf' AND source.locator = 'page:1'`);
    const lines = (paper?.a as string).split('\n');
    expect(lines[0]).toBe('Curriculum Sampling for Visual Reasoning');
    expect(lines.findIndex((l) => l.startsWith('Left column second'))).toBeLessThan(lines.findIndex((l) => l.startsWith('Right column opening')));
  });

  it('draws corpus text on backgrounds with exact ground truth, boxes inside the image, and the same pixels on a rerun', async () => {
    const rows = await queryShards(loaded, `SELECT source.uri AS uri, source.locator AS locator, task, media, signals.content_hash AS hash FROM samples WHERE source.name = 'synth' ORDER BY uri, locator`);
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const task = row.task as { answer_raw: string; boxes: Array<{ label: string; x1: number; y1: number; x2: number; y2: number }> };
      const lines = task.answer_raw.split('\n');
      expect(task.boxes.map((b) => b.label)).toEqual(lines);
      // every drawn line is (a word-boundary cut of) a corpus line the default fonts can draw
      for (const line of lines) expect(CORPUS.slice(0, 3).some((c) => c.startsWith(line))).toBe(true);
      for (const b of task.boxes) {
        expect(b.x1).toBeGreaterThanOrEqual(0);
        expect(b.x2).toBeLessThanOrEqual(999);
        expect(b.x2).toBeGreaterThan(b.x1);
        expect(b.y2).toBeGreaterThan(b.y1);
      }
      expect((row.media as Array<{ mime: string }>)[0]?.mime).toBe('image/jpeg');
    }
    const before = rows.map((r) => [(r.media as Array<{ id: string }>)[0]?.id, r.hash]);
    await runCommand(loaded, 'ingest', { force: true });
    const again = await queryShards(loaded, `SELECT media, signals.content_hash AS hash FROM samples WHERE source.name = 'synth' ORDER BY source.uri, source.locator`);
    expect(again.map((r) => [(r.media as Array<{ id: string }>)[0]?.id, r.hash])).toEqual(before);
  });
});

const SHARED = join(import.meta.dirname, '../../../shared/corpora/ocr');

describe.skipIf(!existsSync(join(SHARED, 'sroie_receipts')))('ocr pairs on real datasets (../shared/corpora)', () => {
  let real: LoadedConfig;
  let rw: Workspace;
  beforeAll(async () => {
    rw = await createWorkspace('stratum-ocr-real-');
    // three receipts copied into the temporary workspace (SROIE has no licence to redistribute; nothing is committed)
    for (const id of ['000', '001', '002']) {
      await rw.write(`sroie/img/${id}.jpg`, await readFile(join(SHARED, `sroie_receipts/img/${id}.jpg`)));
      await rw.write(`sroie/box/${id}.csv`, await readFile(join(SHARED, `sroie_receipts/box/${id}.csv`)));
    }
    real = await rw.config({
      datasets: {
        r: {
          sources: [
            { name: 'sroie', type: 'ocr', mode: 'pairs', path: 'sroie/img', groundTruth: 'sroie/box' },
            { name: 'tess', type: 'ocr', mode: 'pairs', path: join(SHARED, 'tesseract_testing/phototest.tif') },
          ],
        },
      },
    });
    await runCommand(real, 'ingest', {});
  });
  afterAll(() => rw?.cleanup());

  it('reads SROIE receipts (line boxes in box/, images in img/) and the tesseract test page', async () => {
    const rows = await queryShards(real, `SELECT source.name AS s, task.answer_raw AS text, len(task.boxes)::INT AS boxes, task.boxes[1] AS first FROM samples ORDER BY source.uri`);
    expect(rows).toHaveLength(4);
    const sroie0 = rows.find((r) => r.s === 'sroie');
    expect((sroie0?.text as string).split('\n')[0]).toBe('TAN WOON YANN');
    expect(sroie0?.boxes).toBe(44);
    expect(sroie0?.first).toMatchObject({ label: 'TAN WOON YANN' });
    const tess = rows.find((r) => r.s === 'tess');
    expect(tess?.text).toMatch(/^This is a lot of 12 point text to test the\nocr code/);
  });
});
