import { distance } from 'fastest-levenshtein';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { closeTesseractPools } from '../../pipelines/ingest/ocr/tesseract-pool.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { textImage } from '../fixtures/ocr/make-images.js';
import { imageOnlyPdf, SCANNED_LINES, textOnlyPdf } from '../fixtures/pdf/make-pdfs.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;

/** Character error rate: edit distance over the reference length. */
const cer = (hypothesis: string, reference: string): number => distance(hypothesis, reference) / reference.length;

beforeAll(async () => {
  ws = await createWorkspace('stratum-ocr-engines-');
  await ws.write('scans/upright.pdf', imageOnlyPdf());
  await ws.write('scans/upside-down.pdf', imageOnlyPdf(true));
  await ws.write('scans/born-digital.pdf', textOnlyPdf());
  await ws.write('photos/sign.png', (await textImage(['OPEN 24 HOURS', 'Coffee 3.50'], { size: 40, width: 460, background: '#203a5c', color: '#ffe08a' })).png);
  await ws.write('photos/blank.png', (await textImage([], { width: 200 })).png);
  loaded = await ws.config({
    datasets: {
      t: {
        sources: [
          { name: 'scanned', type: 'ocr', mode: 'pdf-scanned', path: 'scans' },
          { name: 'scene', type: 'ocr', mode: 'scene-text', path: 'photos' },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(async () => {
  await closeTesseractPools();
  await ws?.cleanup();
});

describe('ocr engines: tesseract.js on scanned PDF pages, PP-OCRv4 on photos', () => {
  it('balances the funnel and says why pages and photos were left out', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri AS uri, decision, reason FROM ledger ORDER BY uri`);
    expect(rows.map((r) => `${r.uri} ${r.decision} ${r.reason}`)).toEqual([
      'photos/blank.png dropped ocr_no_text',
      'photos/sign.png kept ok',
      'scans/born-digital.pdf dropped has_text_layer',
      'scans/upright.pdf kept ok',
      'scans/upside-down.pdf kept ok',
    ]);
  });

  it('reads an image-only page with tesseract.js, and turns an upside-down scan the right way up', async () => {
    const rows = await queryShards(loaded, `SELECT source.uri AS uri, task, signals.extra AS extra FROM samples WHERE source.name = 'scanned' ORDER BY uri`);
    for (const row of rows) {
      const task = row.task as { answer_raw: string; verifier: string; boxes: Array<{ label: string }> };
      expect(cer(task.answer_raw, SCANNED_LINES.join('\n'))).toBeLessThan(0.1);
      expect(task.verifier).toBe('ocr');
      expect(task.boxes).toHaveLength(2);
      const extra = JSON.parse(row.extra as string) as Record<string, unknown>;
      expect(extra).toMatchObject({ text_origin: 'tesseract', ocr_engine: 'tesseract.js', render_dpi: 200 });
      expect(extra.ocr_confidence as number).toBeGreaterThan(60);
      expect(extra.rotation).toBe(row.uri === 'scans/upside-down.pdf' ? 180 : undefined);
    }
  });

  it('reads scene text with PP-OCR: lines, boxes and confidences', async () => {
    const [row] = await queryShards(loaded, `SELECT task, signals.extra AS extra FROM samples WHERE source.name = 'scene'`);
    const task = row?.task as { answer_raw: string; boxes: Array<{ label: string; x1: number; y1: number; x2: number; y2: number }> };
    const lines = task.answer_raw.split('\n');
    expect(lines).toHaveLength(2);
    // the Chinese/English PP-OCRv4 model often drops spaces between Latin words: compare without them
    expect(cer(lines.join('').replace(/\s/g, ''), 'OPEN24HOURSCoffee3.50')).toBeLessThan(0.15);
    expect(task.boxes[0]!.y2).toBeLessThan(task.boxes[1]!.y1 + 20);
    const extra = JSON.parse(row?.extra as string) as { text_origin: string; ocr_provider: string; line_confidence: number[] };
    expect(extra.text_origin).toBe('ppocr');
    expect(['cpu', 'cuda']).toContain(extra.ocr_provider); // device 'auto': cpu here, cuda on a GPU host
    for (const c of extra.line_confidence) expect(c).toBeGreaterThan(0.8);
  });
});
