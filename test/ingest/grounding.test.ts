import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { boxesAnswer, normaliseBox } from '../../pipelines/ingest/grounding/boxes.js';
import { topLevelArrayItems } from '../../pipelines/ingest/grounding/json-array-stream.js';
import { captionPhrase, referringExpressions } from '../../pipelines/ingest/grounding/referring.js';
import { parseYoloClassNames } from '../../pipelines/ingest/grounding/yolo-classes.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, makePng, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;

/** COCO bbox is [x, y, width, height] in pixels of a 200×100 image. */
const ann = (id: number, image_id: number, category_id: number, bbox: unknown, extra: object = {}) => ({ id, image_id, category_id, bbox, iscrowd: 0, area: 1, ...extra });

beforeAll(async () => {
  ws = await createWorkspace();
  for (const [name, seed] of [['1.png', 1], ['2.png', 2], ['3.png', 3], ['5.png', 5]] as const) await ws.write(`coco/val/${name}`, await makePng(seed, 200, 100));
  await ws.write('coco/val/6.png', await makePng(6, 64, 64)); // declared 200×100: size mismatch
  const instances = {
    info: { description: 'test' },
    images: [
      { id: 1, file_name: '1.png', width: 200, height: 100, license: 4 },
      { id: 2, file_name: '2.png', width: 200, height: 100 },
      { id: 3, file_name: '3.png', width: 200, height: 100 },
      { id: 4, file_name: 'missing.png', width: 200, height: 100 },
      { id: 5, file_name: '5.png', width: 200, height: 100 },
      { id: 6, file_name: '6.png', width: 200, height: 100 },
    ],
    annotations: [
      ann(10, 1, 1, [10, 20, 40, 60]), // person left → [50,200,250,800]
      ann(11, 1, 1, [170, 10, 40, 80]), // person right, 10 px past the right edge → clipped
      ann(12, 1, 18, [80, 40, 30, 30]), // the dog
      ann(13, 1, 1, [300, 10, 20, 20]), // wholly outside
      ann(14, 1, 1, [20, 20, 0, 30]), // zero width
      ann(15, 1, 99, [20, 20, 10, 10]), // unknown category
      ann(16, 1, 1, [1, 2, 3]), // malformed bbox
      ann(17, 2, 1, [0, 0, 100, 100], { iscrowd: 1, segmentation: { counts: [1, 2], size: [100, 200] } }),
      ann(18, 2, 18, [10, 10, 50, 50]),
      ann(19, 2, 18, [120, 10, 50, 50]),
      ann(20, 3, 18, [10, 10, 50, 50]), // one box only: too few for minBoxes 2
      ann(21, 4, 1, [0, 0, 10, 10]),
      ann(22, 77, 1, [0, 0, 10, 10]), // image 77 does not exist
      ann(23, 6, 1, [0, 0, 10, 10]),
      ann(24, 6, 1, [50, 0, 10, 10]),
    ],
    categories: [
      { id: 1, name: 'person', supercategory: 'person' },
      { id: 18, name: 'dog', supercategory: 'animal' },
    ],
  };
  await ws.write('coco/annotations/instances_val.json', JSON.stringify(instances, null, 1));
  await ws.write(
    'coco/annotations/captions_val.json',
    JSON.stringify({ images: [], annotations: [{ id: 1, image_id: 1, caption: 'Two people and a small brown dog in a park.' }, { id: 2, image_id: 3, caption: 'A dog.' }] }),
  );
  await ws.write('broken/annotations/instances_x.json', JSON.stringify(instances).slice(0, 300));

  await ws.write('yolo/data.yaml', 'path: .\nnames:\n  0: person\n  1: traffic light\n');
  await ws.write('yolo/images/a.png', await makePng(11, 100, 100));
  await ws.write('yolo/images/b.png', await makePng(12, 100, 100));
  await ws.write('yolo/images/c.png', await makePng(13, 100, 100));
  await ws.write('yolo/labels/a.txt', '0 0.25 0.5 0.2 0.4\n1 0.75 0.5 0.2 0.4\n\n0 0.5 0.5 0.1\n7 0.5 0.5 0.1 0.1\n');
  await ws.write('yolo/labels/b.txt', '0 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n0 0.95 0.5 0.2 0.2\n0 1.5 1.5 0.1 0.1\n');
  await ws.write('yolo/labels/orphan.txt', '0 0.5 0.5 0.1 0.1\n');
  // c.png has no label file: a background image

  loaded = await ws.config({
    datasets: {
      g: {
        sources: [
          { name: 'coco', type: 'grounding', format: 'coco', path: 'coco/annotations/instances_val.json', minBoxes: 2, imagesPerUnit: 4 },
          { name: 'broken', type: 'grounding', format: 'coco', path: 'broken/annotations/instances_x.json' },
          { name: 'yolo', type: 'grounding', format: 'yolo', path: 'yolo' },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(() => ws?.cleanup());

describe('grounding ingest (COCO + YOLO) on planted bad input', () => {
  it('balances the funnel in every unit and names every reason', async () => {
    const manifest = (await readManifest(ws.path('shards/g/ingest/_manifest.jsonl'), 'ingest')) as { units: Record<string, { counts: { in: number; kept: number; dropped: number; quarantined: number } }> };
    const units = Object.entries(manifest.units);
    // coco: 2 image units + the orphans unit; broken: 1; yolo: 1
    expect(units.map(([id]) => id).sort()).toEqual([
      'broken:broken/annotations/instances_x.json#broken',
      'coco:coco/annotations/instances_val.json#images-0-4',
      'coco:coco/annotations/instances_val.json#images-4-6',
      'coco:coco/annotations/instances_val.json#orphans',
      'yolo:yolo#0-4',
    ]);
    for (const [, { counts }] of units) expect(counts.in).toBe(counts.kept + counts.dropped + counts.quarantined);

    const rows = await queryShards(loaded, `SELECT source_uri, locator, decision, reason FROM ledger WHERE decision <> 'kept'`);
    expect(rows.map((r) => `${r.source_uri}#${r.locator} ${r.decision} ${r.reason}`).sort()).toEqual([
      'broken/annotations/instances_x.json#file quarantined malformed_json',
      'coco/annotations/instances_val.json#annotations:12 quarantined unknown_image',
      'coco/annotations/instances_val.json#image:1/ann:13 quarantined box_outside_image',
      'coco/annotations/instances_val.json#image:1/ann:14 quarantined degenerate_box',
      'coco/annotations/instances_val.json#image:1/ann:15 quarantined unknown_category',
      'coco/annotations/instances_val.json#image:1/ann:16 quarantined malformed_box',
      'coco/annotations/instances_val.json#image:2/ann:17 dropped crowd_region',
      'coco/annotations/instances_val.json#image:3 dropped too_few_boxes',
      'coco/annotations/instances_val.json#image:4 quarantined missing_image',
      'coco/annotations/instances_val.json#image:5 dropped too_few_boxes',
      'coco/annotations/instances_val.json#image:6 quarantined image_size_mismatch',
      'yolo/images/b.png#image:b/line:3 quarantined box_outside_image',
      'yolo/images/c.png#image:c dropped too_few_boxes',
      'yolo/images/a.png#image:a/line:4 quarantined malformed_label',
      'yolo/images/a.png#image:a/line:5 quarantined unknown_category',
      'yolo/labels/orphan.txt#file quarantined missing_image',
    ].sort());
  });

  it('makes "locate every <category>" tasks with all boxes on the 0–999 scale, clipping boxes past the edge', async () => {
    const rows = await queryShards(
      loaded,
      `SELECT task.question, task.answer, task.answer_type, task.verifier, [b.label for b in task.boxes] AS labels, kind, json_extract(meta, '$.clipped')::VARCHAR[] AS clipped
       FROM samples WHERE source.name = 'coco' AND source.locator LIKE 'image:1/every:%' ORDER BY task.question`,
    );
    expect(rows).toEqual([
      { question: 'Locate every dog in the image.', answer: '<|begin_of_box|>[[400,400,550,700]]<|end_of_box|>', answer_type: 'boxes', verifier: 'grounding', labels: ['dog'], kind: 'grounding', clipped: [] },
      {
        question: 'Locate every person in the image.',
        answer: '<|begin_of_box|>[[850,100,999,900],[50,200,250,800]]<|end_of_box|>',
        answer_type: 'boxes',
        verifier: 'grounding',
        labels: ['person', 'person'],
        kind: 'grounding',
        clipped: ['11'],
      },
    ]);
    // image 2: the crowd region keeps "every person" out, the two dogs stay
    const two = await queryShards(loaded, `SELECT task.question FROM samples WHERE source.locator LIKE 'image:2/every:%'`);
    expect(two).toEqual([{ question: 'Locate every dog in the image.' }]);
  });

  it('refers to boxes by caption phrase or by position, one box each', async () => {
    const rows = await queryShards(
      loaded,
      `SELECT source.locator AS locator, task.question AS q, task.answer AS a, json_extract_string(meta, '$.expression_from') AS src
       FROM samples WHERE source.locator LIKE '%/ref:%' ORDER BY source.name, source.locator`,
    );
    expect(rows).toEqual([
      { locator: 'image:1/ref:10', q: 'Locate the person on the left in the image.', a: '<|begin_of_box|>[[50,200,250,800]]<|end_of_box|>', src: 'position' },
      { locator: 'image:1/ref:11', q: 'Locate the person on the right in the image.', a: '<|begin_of_box|>[[850,100,999,900]]<|end_of_box|>', src: 'position' },
      { locator: 'image:1/ref:12', q: 'Locate the small brown dog in the image.', a: '<|begin_of_box|>[[400,400,550,700]]<|end_of_box|>', src: 'caption' },
      { locator: 'image:2/ref:18', q: 'Locate the dog on the left in the image.', a: '<|begin_of_box|>[[50,100,300,600]]<|end_of_box|>', src: 'position' },
      { locator: 'image:2/ref:19', q: 'Locate the dog on the right in the image.', a: '<|begin_of_box|>[[600,100,850,600]]<|end_of_box|>', src: 'position' },
      { locator: 'image:a/ref:line:1', q: 'Locate the person in the image.', a: '<|begin_of_box|>[[150,300,350,700]]<|end_of_box|>', src: 'position' },
      { locator: 'image:a/ref:line:2', q: 'Locate the traffic light in the image.', a: '<|begin_of_box|>[[650,300,850,700]]<|end_of_box|>', src: 'position' },
      { locator: 'image:b/ref:line:1', q: 'Locate the person on the left in the image.', a: '<|begin_of_box|>[[100,100,300,300]]<|end_of_box|>', src: 'position' },
      { locator: 'image:b/ref:line:2', q: 'Locate the person on the right in the image.', a: '<|begin_of_box|>[[850,400,999,600]]<|end_of_box|>', src: 'position' },
    ]);
  });

  it('stores each image once and every sample of an image points at it', async () => {
    const rows = await queryShards(loaded, `SELECT source.name AS s, count(DISTINCT media[1].id)::INT AS images, count(*)::INT AS samples FROM samples GROUP BY ALL ORDER BY s`);
    expect(rows).toEqual([
      { s: 'coco', images: 2, samples: 8 },
      { s: 'yolo', images: 2, samples: 7 },
    ]);
  });

  it('redoes nothing on a second run, and only the changed unit when labels change', async () => {
    const again = await runCommand(loaded, 'ingest', {});
    expect(again[0]).toMatchObject({ processed: 0, skipped: 5 });
    await writeFile(ws.path('yolo/labels/a.txt'), '0 0.25 0.5 0.2 0.4\n');
    const changed = await runCommand(loaded, 'ingest', {});
    expect(changed[0]).toMatchObject({ processed: 1, skipped: 4 });
  });
});

describe('grounding building blocks', () => {
  it('normalises, clips and refuses boxes', () => {
    expect(normaliseBox({ x1: 0, y1: 0, x2: 100, y2: 50 }, 100, 100)).toEqual({ ok: true, box: { x1: 0, y1: 0, x2: 999, y2: 500 }, clipped: false });
    expect(normaliseBox({ x1: -10, y1: 0, x2: 50, y2: 50 }, 100, 100)).toMatchObject({ ok: true, clipped: true, box: { x1: 0 } });
    expect(normaliseBox({ x1: 10, y1: 10, x2: 10, y2: 50 }, 100, 100)).toMatchObject({ ok: false, reason: 'degenerate_box' });
    expect(normaliseBox({ x1: 10, y1: 10, x2: 10.0001, y2: 50 }, 100, 100)).toMatchObject({ ok: false, reason: 'degenerate_box' });
    expect(normaliseBox({ x1: 200, y1: 10, x2: 300, y2: 50 }, 100, 100)).toMatchObject({ ok: false, reason: 'box_outside_image' });
    expect(normaliseBox({ x1: Number.NaN, y1: 0, x2: 1, y2: 1 }, 100, 100)).toMatchObject({ ok: false, reason: 'malformed_box' });
    expect(boxesAnswer([{ x1: 1, y1: 2, x2: 3, y2: 4 }])).toBe('<|begin_of_box|>[[1,2,3,4]]<|end_of_box|>');
  });

  it('takes referring phrases from captions only when they single the object out', () => {
    expect(captionPhrase('person', ['A young boy riding a skateboard.'])).toEqual({ phrase: 'the young boy', caption: 'A young boy riding a skateboard.' });
    expect(captionPhrase('person', ['Two men and a woman on a bench.'])).toBeNull();
    expect(captionPhrase('dining table', ['Food on a wooden dining table.'])?.phrase).toBe('the wooden dining table');
    expect(captionPhrase('dog', ['A cat on a sofa.'])).toBeNull();
    const box = (x1: number, x2: number) => ({ x1, y1: 100, x2, y2: 300 });
    const three = referringExpressions(
      [
        { id: 'a', category: 'cup', box: box(0, 100) },
        { id: 'b', category: 'cup', box: box(400, 500) },
        { id: 'c', category: 'cup', box: box(800, 900) },
        { id: 'd', category: 'car', box: box(0, 100) },
        { id: 'e', category: 'car', box: box(50, 120) },
      ],
      [],
    );
    expect(three.map((r) => `${r.id}: ${r.expression}`)).toEqual(['a: the cup on the left', 'b: the cup in the middle', 'c: the cup on the right']);
  });

  it('reads YOLO class names from data.yaml (map, block list, flow list) and classes.txt', () => {
    expect(parseYoloClassNames('names:\n  0: person\n  1: "traffic light"\nnc: 2\n', 'data.yaml')).toEqual(['person', 'traffic light']);
    expect(parseYoloClassNames('nc: 2\nnames:\n- cat\n- dog\n', 'd.yml')).toBeNull(); // block list must be indented under names
    expect(parseYoloClassNames('nc: 2\nnames:\n  - cat\n  - dog\n', 'd.yml')).toEqual(['cat', 'dog']);
    expect(parseYoloClassNames("names: ['cat', 'dog'] # two\n", 'd.yaml')).toEqual(['cat', 'dog']);
    expect(parseYoloClassNames('cat\ndog\n', 'classes.txt')).toEqual(['cat', 'dog']);
  });

  it('streams top-level array items across read chunks without loading the document', async () => {
    const file = ws.path('stream.json');
    const doc = { info: { note: 'brackets } ] in "strings"' }, images: [{ id: 1, s: 'a\\"}' }, { id: 2, nested: [[1], { x: '{' }] }], other: [{ id: 9 }], annotations: [] };
    await writeFile(file, JSON.stringify(doc, null, 2));
    const items = [];
    for await (const item of topLevelArrayItems(file, new Set(['images', 'annotations']), undefined, 7)) items.push({ key: item.key, value: JSON.parse(item.text) });
    expect(items).toEqual([
      { key: 'images', value: doc.images[0] },
      { key: 'images', value: doc.images[1] },
    ]);
    await writeFile(file, '[1, 2]');
    await expect(async () => {
      for await (const _ of topLevelArrayItems(file, new Set(['images']))) void _;
    }).rejects.toMatchObject({ reason: 'malformed_json' });
  });
});
