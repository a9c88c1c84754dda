import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { CAPTION, imageOnlyPdf, javascriptPdf, LEFT_COLUMN, RIGHT_COLUMN, textOnlyPdf, TITLE, truncatedPdf, twoColumnPdf } from '../fixtures/pdf/make-pdfs.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;

beforeAll(async () => {
  ws = await createWorkspace('stratum-pdf-');
  await ws.write('docs/paper.pdf', twoColumnPdf());
  await ws.write('docs/invoice.pdf', textOnlyPdf());
  await ws.write('docs/scan.pdf', imageOnlyPdf());
  await ws.write('docs/scripted.pdf', javascriptPdf());
  await ws.write('docs/truncated.pdf', truncatedPdf());
  await ws.write('docs/not-a-pdf.pdf', 'This is a text file with a .pdf name.\n');
  await ws.write('flagged/scripted.pdf', javascriptPdf());
  await ws.write('whole/paper.pdf', twoColumnPdf());
  loaded = await ws.config({
    datasets: {
      t: {
        sources: [
          { name: 'docs', type: 'pdf', path: 'docs', pagesPerUnit: 2 },
          { name: 'flagged', type: 'pdf', path: 'flagged', javascript: 'flag' },
          { name: 'whole', type: 'pdf', path: 'whole', sample: 'document' },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(() => ws?.cleanup());

const texts = (content: Array<{ type: string; text: string | null }>): string => content.map((p) => (p.type === 'text' ? p.text : '<image>')).join('\n\n');

describe('pdf source: interleaved pages', () => {
  it('gives every page (or refused document) exactly one decision and balances the funnel', async () => {
    const ledger = await queryShards(loaded, `SELECT source_uri AS uri, locator, decision, reason FROM ledger ORDER BY uri, locator`);
    expect(ledger.map((r) => `${r.uri}#${r.locator} ${r.decision} ${r.reason}`)).toEqual([
      'docs/invoice.pdf#page:1 kept ok',
      'docs/not-a-pdf.pdf#document quarantined not_a_pdf',
      'docs/paper.pdf#page:1 kept ok',
      'docs/paper.pdf#page:2 dropped blank_page',
      'docs/paper.pdf#page:3 kept ok',
      'docs/scan.pdf#page:1 dropped image_only_page',
      'docs/scripted.pdf#page:1 quarantined pdf_has_javascript',
      'docs/truncated.pdf#document quarantined corrupt_pdf',
      'flagged/scripted.pdf#page:1 kept ok',
      'whole/paper.pdf#document kept ok',
    ]);
    const manifest = (await readManifest(ws.path('shards/t/ingest/_manifest.jsonl'), 'ingest')) as { units: Record<string, { counts: { in: number; kept: number; dropped: number; quarantined: number } }> };
    const units = Object.entries(manifest.units);
    // paper.pdf has 3 pages in units of 2; an unreadable PDF is one whole-document unit
    expect(units.map(([id]) => id).filter((id) => id.startsWith('docs:docs/paper.pdf')).sort()).toEqual(['docs:docs/paper.pdf#p1-2', 'docs:docs/paper.pdf#p3-3']);
    for (const [, { counts }] of units) expect(counts.in).toBe(counts.kept + counts.dropped + counts.quarantined);
    expect(units.reduce((n, [, u]) => n + u.counts.in, 0)).toBe(ledger.length);
  });

  it('reads a two-column page in reading order with the figure between its paragraphs', async () => {
    const [row] = await queryShards(loaded, `SELECT kind, content, media, signals.extra AS extra, meta FROM samples WHERE source.name = 'docs' AND source.uri = 'docs/paper.pdf' AND source.locator = 'page:1'`);
    const content = row?.content as Array<{ type: string; text: string | null; media_id: string | null }>;
    expect(row?.kind).toBe('interleaved');
    expect(content.map((p) => p.type)).toEqual(['text', 'image', 'text']);
    expect(texts(content)).toBe([TITLE, ...LEFT_COLUMN, RIGHT_COLUMN[0], '<image>', CAPTION, RIGHT_COLUMN[1]].join('\n\n'));
    // the 12-point icon is decoration, not a figure
    expect(JSON.parse(row?.extra as string)).toMatchObject({ page: 1, pages: 3, figures: 1, skipped_images: { small: 1, background: 0 } });
    expect(JSON.parse(row?.meta as string)).toMatchObject({ title: 'Two-column fixture', author: 'Stratum tests' });
  });

  it('crops figures from the rendered page at renderDpi and stores them in the blob store', async () => {
    const [row] = await queryShards(loaded, `SELECT media FROM samples WHERE source.uri = 'docs/paper.pdf' AND source.locator = 'page:1'`);
    const [figure] = row?.media as Array<{ id: string; mime: string; width: number; height: number }>;
    // drawn at 220 × 132 pt; 144 dpi is 2 px per pt
    expect(figure).toMatchObject({ mime: 'image/png' });
    expect(Math.abs((figure?.width ?? 0) - 440)).toBeLessThanOrEqual(2);
    expect(Math.abs((figure?.height ?? 0) - 264)).toBeLessThanOrEqual(2);
    const blob = join(ws.path('shards/t/blobs'), figure!.id.slice(0, 2), figure!.id.slice(2));
    expect(existsSync(blob)).toBe(true);
    // the crop holds the chart (coloured bars on a pale background), not white page
    const { channels } = await sharp(blob).stats();
    expect(Math.min(...channels.slice(0, 3).map((c) => c.mean))).toBeLessThan(235);
  });

  it('refuses a PDF with JavaScript without running it, or keeps it with the triggers recorded', async () => {
    const [quarantined] = await queryShards(loaded, `SELECT details FROM ledger WHERE source_uri = 'docs/scripted.pdf'`);
    const details = JSON.parse(quarantined?.details as string) as { triggers: string[]; message: string };
    expect(details.triggers).toEqual(expect.arrayContaining(['document:OpenAction', 'document:init']));
    expect(details.message).toMatch(/not executed/);
    const [kept] = await queryShards(loaded, `SELECT content, signals.extra AS extra FROM samples WHERE source.name = 'flagged'`);
    expect(texts(kept?.content as never)).toBe('Hello from a PDF with scripts');
    expect(JSON.parse(kept?.extra as string).javascript).toEqual(expect.arrayContaining(['document:OpenAction', 'page:PageOpen']));
  });

  it('says why the unreadable and the scanned inputs were left out', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri AS uri, details FROM ledger WHERE reason IN ('corrupt_pdf', 'not_a_pdf', 'image_only_page') ORDER BY uri`);
    const messages = Object.fromEntries(rows.map((r) => [r.uri, (JSON.parse(r.details as string) as { message: string }).message]));
    expect(messages['docs/not-a-pdf.pdf']).toMatch(/no %PDF- header/);
    expect(messages['docs/truncated.pdf']).toMatch(/damaged or truncated/);
    expect(messages['docs/scan.pdf']).toMatch(/pdf-scanned/);
  });

  it('makes one sample per document when asked, pages in order', async () => {
    const [row] = await queryShards(loaded, `SELECT content, media, signals.extra AS extra FROM samples WHERE source.name = 'whole'`);
    const content = row?.content as Array<{ type: string; text: string | null }>;
    expect(content.map((p) => p.type)).toEqual(['text', 'image', 'text', 'image']);
    expect(texts(content)).toContain(`${RIGHT_COLUMN[1]}\n\nThe last page has one paragraph`);
    expect((row?.media as unknown[]).length).toBe(2);
    expect(JSON.parse(row?.extra as string)).toMatchObject({ pages: 3, figures: 2, skipped_pages: { blank_page: [2] } });
  });

  it('skips every unit on a second run over unchanged PDFs', async () => {
    const [summary] = await runCommand(loaded, 'ingest', {});
    expect(summary).toMatchObject({ processed: 0, skipped: summary?.planned });
  });
});

const SIGCONF = join(import.meta.dirname, '../../../shared/corpora/ocr/pdfs_debian/sample-sigconf.pdf');

describe.skipIf(!existsSync(SIGCONF))('pdf source on a real two-column paper (../shared/corpora)', () => {
  let real: LoadedConfig;
  let rw: Workspace;
  beforeAll(async () => {
    rw = await createWorkspace('stratum-pdf-real-');
    real = await rw.config({ datasets: { r: { sources: [{ name: 'acm', type: 'pdf', path: SIGCONF }] } } });
    await runCommand(real, 'ingest', {});
  });
  afterAll(() => rw?.cleanup());

  it('reads the left column before the right one and places the teaser figure under the authors', async () => {
    const rows = await queryShards(real, `SELECT source.locator AS locator, content FROM samples ORDER BY locator`);
    expect(rows).toHaveLength(6);
    const page1 = texts(rows[0]?.content as never);
    const order = ['The Name of the Title Is Hope', 'Julius P. Kumquat', '<image>', 'Figure 1: Seattle Mariners', 'ABSTRACT', 'CCS CONCEPTS', 'KEYWORDS', '1 INTRODUCTION'];
    const at = order.map((s) => page1.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const page2 = texts(rows[1]?.content as never);
    // left column ends with section 3's first lines, the right column continues it
    expect(page2.indexOf('2.2 Template Parameters')).toBeLessThan(page2.indexOf('3 MODIFICATIONS'));
    expect(page2.indexOf('3 MODIFICATIONS')).toBeLessThan(page2.indexOf('4 TYPEFACES'));
    expect(page2).toContain('conference proceedings'); // "proceed-\nings" rejoined
  });
});
