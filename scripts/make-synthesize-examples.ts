/**
 * Writes the synthesize example data (examples/synthesize/shapes): six 320×240 PNGs of drawn shapes
 * and their COCO boxes, with a crowd region, a tiny box and two heavily overlapping boxes planted,
 * so the example job shows the counting generator's skips. Run: `pnpm tsx scripts/make-synthesize-examples.ts`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cocoShapes, randomLayout, renderShapes, type ShapeObject } from '../test/support/shape-scenes.js';

const W = 320;
const H = 240;
const root = join(import.meta.dirname, '..', 'examples', 'synthesize', 'shapes');

function free(objects: readonly ShapeObject[], box: ShapeObject['bbox']): boolean {
  return objects.every((o) => o.bbox[0] + o.bbox[2] + 4 <= box[0] || box[0] + box[2] + 4 <= o.bbox[0] || o.bbox[1] + o.bbox[3] + 4 <= box[1] || box[1] + box[3] + 4 <= o.bbox[1]);
}

function plantTiny(objects: ShapeObject[]): void {
  for (let y = 2; y < H - 6; y += 7) for (let x = 2; x < W - 6; x += 7) if (free(objects, [x, y, 5, 5])) return void objects.push({ category: 'circle', bbox: [x, y, 5, 5] });
}

const scenes: ShapeObject[][] = [
  randomLayout(1, W, H, { circle: 3, square: 1, triangle: 1 }),
  randomLayout(2, W, H, { circle: 1, square: 4, triangle: 2 }).map((o) => (o.category === 'circle' ? { ...o, crowd: true } : o)),
  (() => {
    const objects = randomLayout(3, W, H, { circle: 2, square: 1, triangle: 1 });
    plantTiny(objects);
    return objects;
  })(),
  (() => {
    const objects = randomLayout(4, W, H, { circle: 1, square: 1, triangle: 3 }, { gap: 30 });
    const sq = objects.find((o) => o.category === 'square')!;
    objects.push({ category: 'square', bbox: [sq.bbox[0] + Math.round(sq.bbox[2] / 8), sq.bbox[1] + Math.round(sq.bbox[3] / 8), sq.bbox[2], sq.bbox[3]] });
    return objects;
  })(),
  randomLayout(5, W, H, { circle: 5, triangle: 1 }),
  randomLayout(6, W, H, { circle: 1, square: 2, triangle: 1 }),
];

await mkdir(join(root, 'images'), { recursive: true });
await mkdir(join(root, 'annotations'), { recursive: true });
const images = [];
for (const [i, objects] of scenes.entries()) {
  const file_name = `shapes_${i + 1}.png`;
  await writeFile(join(root, 'images', file_name), await renderShapes(objects, W, H, i + 1));
  images.push({ id: i + 1, file_name, width: W, height: H, objects });
}
await writeFile(join(root, 'annotations', 'instances_shapes.json'), JSON.stringify(cocoShapes(images), null, 1) + '\n');
process.stdout.write(`wrote ${images.length} images to ${root}\n`);
