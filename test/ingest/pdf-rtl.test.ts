import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PDFDocument, type SKRSContext2D } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

/**
 * PDF pages whose text layer holds right-to-left text (Arabic, Hebrew) are not labelled from it:
 * pdf.js returns such text out of reading order. Generated born-digital pages (Skia's PDF backend:
 * embedded DejaVu subsets with ToUnicode maps) mix words of five scripts at random; the pages with
 * any Arabic or Hebrew word are dropped as rtl_text_layer by `pdf-text` and by `pdf` documents and go
 * to OCR in `pdf-scanned`, while pages in Latin, Greek and Cyrillic alone keep their text, exactly.
 */
const WORDS = {
  latin: ['curriculum', 'sampling', 'reasoning', 'invoice', 'total', 'model'],
  greek: ['καλημέρα', 'κόσμε', 'μάθηση', 'δεδομένα'],
  cyrillic: ['привет', 'мир', 'данные', 'обучение'],
  arabic: ['مرحبا', 'بالعالم', 'لا', 'الإنتاجية', 'المشكلات'],
  hebrew: ['שלום', 'עולם', 'נתונים', 'למידה'],
} as const;
type Script = keyof typeof WORDS;
const RTL: Script[] = ['arabic', 'hebrew'];

function page(seed: number): { pdf: Buffer; lines: string[]; rtl: boolean } {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  // half the pages stay left-to-right; the others get right-to-left words somewhere
  const scripts: Script[] = seed % 2 === 0 ? ['latin', 'greek', 'cyrillic'] : ['latin', 'greek', 'cyrillic', 'arabic', 'hebrew'];
  const lines = Array.from({ length: 2 + Math.floor(random() * 3) }, () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(WORDS[pick(scripts)])).join(' '));
  if (seed % 2 === 1 && !lines.some((l) => RTL.some((s) => WORDS[s].some((w) => l.includes(w))))) lines.push(`${pick(WORDS.latin)} ${pick(WORDS[pick(RTL)])}`);
  const doc = new PDFDocument({ title: `page ${seed}` });
  const ctx = doc.beginPage(500, 60 + lines.length * 30) as SKRSContext2D;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, 500, 60 + lines.length * 30);
  ctx.fillStyle = '#000000';
  ctx.font = '16px DejaVu Sans';
  lines.forEach((line, i) => ctx.fillText(line, 20, 40 + i * 30));
  doc.endPage();
  return { pdf: doc.close(), lines, rtl: lines.some((l) => RTL.some((s) => WORDS[s].some((w) => l.includes(w)))) };
}

let ws: Workspace;
const pages = Array.from({ length: 10 }, (_, i) => ({ name: `p${i + 1}`, ...page(i + 1) }));
const DOCLING = join(REPO_ROOT, '..', 'shared', 'corpora', 'ocr', 'docling_pdf_groundtruth', 'sources');

beforeAll(async () => {
  ws = await createWorkspace('stratum-pdf-rtl-');
  for (const p of pages) await ws.write(`pages/${p.name}.pdf`, p.pdf);
  const loaded = await ws.config({
    datasets: {
      r: {
        sources: [
          { name: 'layer', type: 'ocr', mode: 'pdf-text', path: 'pages', renderDpi: 72 },
          { name: 'scan', type: 'ocr', mode: 'pdf-scanned', path: 'pages', renderDpi: 72 },
          { name: 'docs', type: 'pdf', path: 'pages' },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
  outcomes = await queryShards(loaded, `SELECT split_part(unit, ':', 1) AS source, source_uri AS uri, decision, reason FROM ledger ORDER BY 1, 2`);
  texts = await queryShards(loaded, `SELECT source.uri AS uri, task.answer AS answer FROM samples WHERE source.name = 'layer'`);
}, 240_000);
afterAll(() => ws?.cleanup());
let outcomes: Array<Record<string, unknown>> = [];
let texts: Array<Record<string, unknown>> = [];

describe('PDF text layers with right-to-left text', () => {
  it('the generator makes both kinds of page', () => {
    expect(pages.filter((p) => p.rtl).length).toBeGreaterThanOrEqual(4);
    expect(pages.filter((p) => !p.rtl).length).toBeGreaterThanOrEqual(4);
  });

  it('pdf-text and pdf documents drop every page with right-to-left text, and keep the others', () => {
    for (const source of ['layer', 'docs']) {
      for (const p of pages) {
        const row = outcomes.find((r) => r.source === source && r.uri === `pages/${p.name}.pdf`);
        expect(`${source} ${p.name} ${row?.decision} ${row?.reason}`).toBe(p.rtl ? `${source} ${p.name} dropped rtl_text_layer` : `${source} ${p.name} kept ok`);
      }
    }
  });

  it('a kept left-to-right page is labelled with exactly its lines', () => {
    for (const p of pages.filter((x) => !x.rtl)) {
      const row = texts.find((r) => r.uri === `pages/${p.name}.pdf`);
      expect(String(row?.answer).replace(/<\|(begin|end)_of_box\|>/g, ''), p.name).toBe(p.lines.join('\n'));
    }
  });

  it('pdf-scanned takes the right-to-left pages to OCR and leaves the others to pdf-text', () => {
    for (const p of pages) {
      const row = outcomes.find((r) => r.source === 'scan' && r.uri === `pages/${p.name}.pdf`);
      if (p.rtl) expect(`${p.name} ${row?.reason}`).not.toBe(`${p.name} has_text_layer`);
      else expect(`${p.name} ${row?.decision} ${row?.reason}`).toBe(`${p.name} dropped has_text_layer`);
    }
  });
});

describe.skipIf(!existsSync(DOCLING))('real PDFs (../shared/corpora/ocr/docling_pdf_groundtruth)', () => {
  let docling: Workspace;
  afterAll(() => docling?.cleanup());
  it("drops every page of docling's three right-to-left PDFs and no page of the others", async () => {
    docling = await createWorkspace('stratum-pdf-rtl-docling-');
    const loaded = await docling.config({ datasets: { d: { sources: [{ name: 'docling', type: 'ocr', mode: 'pdf-text', path: DOCLING, renderDpi: 36 }] } } });
    await runCommand(loaded, 'ingest', {});
    const rows = await queryShards(loaded, `SELECT regexp_extract(source_uri, '([^/]+)\\.pdf', 1) AS file, count(*) FILTER (WHERE reason = 'rtl_text_layer')::INT AS rtl, count(*)::INT AS pages FROM ledger GROUP BY 1 ORDER BY 1`);
    for (const r of rows) {
      if (String(r.file).startsWith('right_to_left')) expect(r, String(r.file)).toMatchObject({ rtl: r.pages });
      else expect(r, String(r.file)).toMatchObject({ rtl: 0 });
    }
    expect(rows.filter((r) => String(r.file).startsWith('right_to_left'))).toHaveLength(3);
  }, 240_000);
});
