import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { EDITS, makeDocument, makeScene } from '../support/scenes.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

const paragraph = (seed: number): string => makeDocument(seed, 30).join(' ') + '.';

describe('filter: images inside documents', () => {
  it('removes a repeated image from the later document and keeps its text; the first document keeps it', async () => {
    ws = await createWorkspace();
    await ws.write('img/shared.jpg', await makeScene(5));
    await ws.write('img/shared-small.jpg', await EDITS.resized(await makeScene(5)));
    await ws.write('img/own.jpg', await makeScene(6));
    const docs = [
      { doc_id: 'first', items: [{ type: 'text', text: paragraph(1) }, { type: 'image', path: '../img/shared.jpg' }, { type: 'text', text: paragraph(2) }] },
      { doc_id: 'second', items: [{ type: 'text', text: paragraph(3) }, { type: 'image', path: '../img/shared-small.jpg' }, { type: 'image', path: '../img/own.jpg' }] },
      { doc_id: 'only-repeat', items: [{ type: 'image', path: '../img/shared.jpg' }] },
    ];
    await ws.write('docs/d.jsonl', docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const loaded = await ws.config({
      datasets: { i: { sources: [{ name: 'items', type: 'interleaved', format: 'items', path: 'docs/d.jsonl' }], filter: { heuristics: { textMinChars: 0, textMinWords: 0 } } } },
    });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const rows = await queryShards(
      loaded,
      `SELECT s.source.locator AS locator, l.decision, l.reason, f.media AS media, f.content AS content, f.signals.dedup.images_removed AS removed
       FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id LEFT JOIN filter_samples f ON f.id = s.id WHERE l.stage = 'filter' ORDER BY locator`,
    );
    const [first, second, repeat] = rows as Array<{ decision: string; reason: string; media: Array<{ id: string }>; content: Array<{ type: string; text: string | null }>; removed: number }>;
    expect(first).toMatchObject({ decision: 'kept', reason: 'ok' });
    expect(first!.media).toHaveLength(1);
    expect(second).toMatchObject({ decision: 'kept', reason: 'kept_without_duplicate_images', removed: 1 });
    expect(second!.media).toHaveLength(1);
    expect(second!.content.map((p) => p.type)).toEqual(['text', 'image']);
    expect(second!.content[0]!.text).toBe(paragraph(3));
    expect(repeat).toMatchObject({ decision: 'dropped', reason: 'near_dup:image' });
  }, 120_000);
});
