import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { createWorkspace, makePng, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

describe('YOLO class names', () => {
  it('refuses to guess between different class lists and names them; uses the one configured', async () => {
    ws = await createWorkspace();
    await ws.write('yolo/images/a.png', await makePng(1, 100, 100));
    await ws.write('yolo/labels/a.txt', '0 0.5 0.5 0.2 0.2\n1 0.2 0.2 0.1 0.1\n');
    await ws.write('yolo/detect.yaml', 'names:\n  0: person\n  1: bicycle\n');
    await ws.write('yolo/segment.yaml', 'names:\n  1: person\n  2: bicycle\n');
    const source = { name: 'y', type: 'grounding' as const, format: 'yolo' as const, path: 'yolo' };
    await expect(runCommand(await ws.config({ datasets: { d: { sources: [source] } } }), 'ingest', {})).rejects.toThrow(
      /2 different class lists .*\(detect\.yaml, segment\.yaml\); set `classes`/,
    );
    const loaded = await ws.config({ datasets: { d: { sources: [{ ...source, classes: 'detect.yaml' }] } } });
    await runCommand(loaded, 'ingest', {});
    const rows = await queryShards(loaded, `SELECT [b.label FOR b IN task.boxes] AS labels FROM samples WHERE task.question LIKE 'Locate every%' ORDER BY 1`);
    expect(rows.map((r) => r.labels)).toEqual(expect.arrayContaining([['bicycle'], ['person']]));
  });
});
