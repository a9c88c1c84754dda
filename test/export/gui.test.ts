import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

/** GUI screenshots rendered by the real ingest (system Chromium) through WebDataset and SFT. */
describe('GUI samples in the pre-training export', () => {
  let ws: Workspace;
  let exportDir: string;
  let gui: Array<{ id: string; question: string; answer: string; boxes: Array<{ x1: number; y1: number; x2: number; y2: number }> }>;

  beforeAll(async () => {
    ws = await createWorkspace();
    const loaded = await ws.config({
      datasets: {
        g: {
          sources: [{ name: 'pages', type: 'gui', path: join(REPO_ROOT, 'test/fixtures/gui/form.html'), viewports: [{ name: 'wide', width: 1000, height: 600 }], pageTimeoutMs: 20_000 }],
          export: { formats: ['webdataset', 'sft'], pretraining: { from: 'ingest' } },
        },
      },
    });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'export', {});
    exportDir = ws.path('shards', 'g', 'export');
    gui = (await queryShards(loaded, `SELECT id, task.question AS question, task.answer AS answer, task.boxes AS boxes FROM ingest_samples WHERE kind = 'gui'`)) as typeof gui;
  }, 180_000);
  afterAll(() => ws?.cleanup());

  it('every GUI task becomes one LLaVA record whose answer is the task’s 0–999 box or text, and one WebDataset sample with its element boxes', async () => {
    expect(gui.length).toBeGreaterThan(2);
    const manifest = JSON.parse(await readFile(join(exportDir, 'sft', 'manifest.json'), 'utf8')) as { files: Array<{ path: string }> };
    const records = new Map<string, { conversations: Array<{ from: string; value: string }> }>();
    for (const f of manifest.files) for (const r of JSON.parse(await readFile(join(exportDir, 'sft', f.path), 'utf8')) as Array<{ id: string; conversations: Array<{ from: string; value: string }> }>) records.set(r.id, r);
    expect(records.size).toBe(gui.length);
    const read = JSON.parse(execFileSync('python3', [join(import.meta.dirname, 'read_webdataset.py'), join(exportDir, 'webdataset'), ws.path('read')], { maxBuffer: 256 << 20 }).toString()) as { samples: Array<{ meta: { id: string; task: { boxes: unknown[] } } }> };
    const wds = new Map(read.samples.map((s) => [s.meta.id, s.meta]));
    for (const t of gui) {
      const r = records.get(t.id)!;
      expect(r.conversations).toEqual([
        { from: 'human', value: `<image>\n${t.question}` },
        { from: 'gpt', value: t.answer },
      ]);
      for (const b of t.boxes) for (const v of [b.x1, b.y1, b.x2, b.y2]) expect(v >= 0 && v <= 999).toBe(true);
      expect(wds.get(t.id)?.task.boxes).toEqual(t.boxes);
    }
  });
});
