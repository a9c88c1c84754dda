import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const CORPUS = join(REPO_ROOT, '..', 'shared', 'corpora', 'grounding');

describe.skipIf(!existsSync(CORPUS))('grounding ingest of the real COCO-MINI and COCO128 (YOLO) corpora', () => {
  let ws: Workspace;
  let loaded: LoadedConfig;

  beforeAll(async () => {
    ws = await createWorkspace();
    loaded = await ws.config({
      datasets: {
        g: {
          sources: [
            { name: 'coco', type: 'grounding', format: 'coco', path: join(CORPUS, 'coco_mini/annotations/instances_val2017.json') },
            { name: 'yolo', type: 'grounding', format: 'yolo', path: join(CORPUS, 'coco128_yolo_val_subset'), labelsDir: 'labels_detection', classes: 'object_detection_config.yaml' },
          ],
        },
      },
    });
    await runCommand(loaded, 'ingest', {});
  });
  afterAll(() => ws?.cleanup());

  it('gives every image of both sources a decision and keeps boxes inside 0–999', async () => {
    const images = await queryShards(loaded, `SELECT source.name AS s, count(DISTINCT split_part(source.locator, '/', 1))::INT AS n FROM samples GROUP BY ALL ORDER BY s`);
    const decided = await queryShards(
      loaded,
      `SELECT CASE WHEN source_uri LIKE 'coco%' OR source_uri LIKE '%instances%' THEN 'coco' ELSE 'yolo' END AS s, count(DISTINCT split_part(locator, '/', 1))::INT AS n FROM ledger GROUP BY ALL ORDER BY s`,
    );
    expect(decided).toEqual([
      { s: 'coco', n: 79 },
      { s: 'yolo', n: 64 },
    ]);
    expect(images.every((r) => (r.n as number) > 50)).toBe(true);
    const bad = await queryShards(loaded, `SELECT count(*)::INT AS n FROM (SELECT unnest(task.boxes) AS b FROM samples) WHERE b.x1 < 0 OR b.y1 < 0 OR b.x2 > 999 OR b.y2 > 999 OR b.x2 <= b.x1 OR b.y2 <= b.y1`);
    expect(bad).toEqual([{ n: 0 }]);
  });

  it('derives the same boxes from COCO JSON and from YOLO labels of the same photo (000000000139)', async () => {
    const rows = await queryShards(
      loaded,
      `SELECT source.name AS s, [[b.x1, b.y1, b.x2, b.y2] for b in task.boxes] AS boxes FROM samples
       WHERE task.question = 'Locate every person in the image.' AND (source.locator LIKE 'image:139/%' OR source.locator LIKE 'image:000000000139/%') ORDER BY s`,
    );
    expect(rows.map((r) => r.s)).toEqual(['coco', 'yolo']);
    const [coco, yolo] = rows.map((r) => r.boxes as number[][]);
    expect(coco).toHaveLength(2);
    expect(yolo).toHaveLength(2);
    coco!.forEach((box, i) => box.forEach((v, k) => expect(Math.abs(v - yolo![i]![k]!)).toBeLessThanOrEqual(2)));
  });
});
