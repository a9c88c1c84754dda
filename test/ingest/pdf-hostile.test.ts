import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { objectScripts } from '../../pipelines/ingest/pdf/scripts.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { javascriptPdf } from '../fixtures/pdf/make-pdfs.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';
import { allScriptedSpecs, HIDDEN_PAINTS, innocentPdf, paintedTextPdf, scriptedPdf, SHOWN_PAINTS } from './support/hostile-pdfs.js';

const run = promisify(execFile);

let ws: Workspace;
let loaded: LoadedConfig;
const specs = allScriptedSpecs();
const LINES = ['Invoice number 4711', 'Total due 129.50 EUR', 'Thank you for your order'];

beforeAll(async () => {
  ws = await createWorkspace('stratum-pdf-hostile-');
  for (const [i, spec] of specs.entries()) await ws.write(`scripted/${i}-${spec.place}-${spec.storage}-${spec.escapeNames ? 'escaped' : 'plain'}-${spec.code}.pdf`, scriptedPdf(spec, i + 3));
  await ws.write('scripted/innocent.pdf', innocentPdf());
  await ws.write('scripted/open-action.pdf', javascriptPdf());
  for (const paint of [...HIDDEN_PAINTS, ...SHOWN_PAINTS]) await ws.write(`painted/${paint}.pdf`, paintedTextPdf(LINES, paint, paint.length));
  loaded = await ws.config({
    datasets: {
      t: {
        sources: [
          { name: 'scripted', type: 'pdf', path: 'scripted' },
          { name: 'layer', type: 'ocr', mode: 'pdf-text', path: 'painted', renderDpi: 72 },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
}, 180_000);
afterAll(() => ws?.cleanup());

describe('rendered PDF pages own their pixels', () => {
  it('keeps a raster intact after the canvas is collected and its memory reused (seeded page sizes and resolutions)', async () => {
    const script = join(REPO_ROOT, 'test/ingest/support/render-after-gc.ts');
    for (const seed of [1, 2, 3]) {
      const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(seed), '6'], { cwd: REPO_ROOT, timeout: 120_000 });
      expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual({ rendered: 6, changed: 0 });
    }
  }, 400_000);

  it('refuses a page whose image does not show its text layer, in each way text can be hidden', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri AS uri, decision, reason FROM ledger WHERE source_uri LIKE 'painted/%' ORDER BY uri`);
    const byPaint = Object.fromEntries(rows.map((r) => [String(r.uri).replace(/^painted\/|\.pdf$/g, ''), `${r.decision} ${r.reason}`]));
    for (const paint of HIDDEN_PAINTS) expect(byPaint[paint], paint).toBe('quarantined render_hides_text');
    for (const paint of SHOWN_PAINTS) expect(byPaint[paint], paint).toBe('kept ok');
  });
});

describe('PDF JavaScript detection through the objects', () => {
  it('finds JavaScript link and outline actions in plain objects and object streams, with escaped names, for every code form', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri AS uri, decision, reason, details FROM ledger WHERE source_uri LIKE 'scripted/%' ORDER BY uri`);
    const scripted = rows.filter((r) => /scripted\/\d+-/.test(String(r.uri)));
    expect(scripted).toHaveLength(specs.length);
    for (const r of scripted) expect(`${r.uri} ${r.decision} ${r.reason}`).toBe(`${r.uri} quarantined pdf_has_javascript`);
    const storedIn = (storage: string) => scripted.filter((r) => String(r.uri).includes(storage)).map((r) => JSON.parse(String(r.details)).triggers.join(' '));
    for (const t of storedIn('object-stream')) expect(t).toMatch(/document:object-stream:/);
    expect(rows.find((r) => r.uri === 'scripted/open-action.pdf')).toMatchObject({ decision: 'quarantined', reason: 'pdf_has_javascript' });
    expect(rows.find((r) => r.uri === 'scripted/innocent.pdf')).toMatchObject({ decision: 'kept', reason: 'ok' });
  });

  it('ignores the words inside strings, comments and resource names', () => {
    expect(objectScripts(innocentPdf())).toEqual([]);
    for (const [i, spec] of specs.entries()) expect(objectScripts(scriptedPdf(spec, i + 100)).length, JSON.stringify(spec)).toBeGreaterThan(0);
  });
});
