import sharp from 'sharp';
import { mulberry32 } from '../../pipelines/shared/random.js';

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export type Shape = (typeof SHAPES)[number];

/** One drawn object: its category, its box in pixels `[x, y, width, height]` (COCO order), and whether it is a crowd region. */
export interface ShapeObject {
  category: Shape;
  bbox: [number, number, number, number];
  crowd?: boolean;
}

/**
 * `counts[category]` objects of each shape at random places that keep `gap` pixels from each other
 * (rejection sampling; throws when the image is too full), sizes in [minSize, maxSize].
 */
export function randomLayout(seed: number, width: number, height: number, counts: Partial<Record<Shape, number>>, opts: { minSize?: number; maxSize?: number; gap?: number } = {}): ShapeObject[] {
  const rng = mulberry32(seed);
  const { minSize = 24, maxSize = 56, gap = 6 } = opts;
  const placed: ShapeObject[] = [];
  for (const category of SHAPES) {
    for (let n = 0; n < (counts[category] ?? 0); n++) {
      let ok = false;
      for (let attempt = 0; attempt < 2000 && !ok; attempt++) {
        const s = Math.round(minSize + rng() * (maxSize - minSize));
        const x = Math.round(rng() * (width - s));
        const y = Math.round(rng() * (height - s));
        const box: ShapeObject['bbox'] = [x, y, s, s];
        if (placed.every((p) => apart(p.bbox, box, gap))) {
          placed.push({ category, bbox: box });
          ok = true;
        }
      }
      if (!ok) throw new Error(`layout ${seed}: no room for another ${category}`);
    }
  }
  return placed;
}

function apart(a: ShapeObject['bbox'], b: ShapeObject['bbox'], gap: number): boolean {
  return a[0] + a[2] + gap <= b[0] || b[0] + b[2] + gap <= a[0] || a[1] + a[3] + gap <= b[1] || b[1] + b[3] + gap <= a[1];
}

/** A PNG of the objects on a plain background; a crowd region is drawn as a cluster of small shapes of its category. */
export async function renderShapes(objects: readonly ShapeObject[], width: number, height: number, seed = 0): Promise<Buffer> {
  const rng = mulberry32(seed ^ 0x5eed);
  const colour = (): string => `hsl(${Math.floor(rng() * 360)},70%,45%)`;
  const draw = (category: Shape, x: number, y: number, w: number, h: number, fill: string): string =>
    category === 'circle'
      ? `<ellipse cx="${x + w / 2}" cy="${y + h / 2}" rx="${w / 2}" ry="${h / 2}" fill="${fill}"/>`
      : category === 'square'
        ? `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}"/>`
        : `<polygon points="${x + w / 2},${y} ${x + w},${y + h} ${x},${y + h}" fill="${fill}"/>`;
  const parts: string[] = [];
  for (const o of objects) {
    const [x, y, w, h] = o.bbox;
    if (!o.crowd) {
      parts.push(draw(o.category, x, y, w, h, colour()));
      continue;
    }
    const s = Math.max(4, Math.min(w, h) / 4);
    for (let cy = y; cy + s <= y + h; cy += s * 1.1) for (let cx = x; cx + s <= x + w; cx += s * 1.1) parts.push(draw(o.category, cx, cy, s, s, colour()));
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f4f1ea"/>${parts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A COCO instances document for images of shapes. */
export function cocoShapes(images: ReadonlyArray<{ id: number; file_name: string; width: number; height: number; objects: readonly ShapeObject[] }>): object {
  const categories = SHAPES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
  let ann = 0;
  return {
    info: { description: 'Stratum synthesize fixtures: shapes drawn by test/support/shape-scenes.ts (CC0)' },
    images: images.map(({ id, file_name, width, height }) => ({ id, file_name, width, height })),
    annotations: images.flatMap((img) =>
      img.objects.map((o) => ({ id: ++ann, image_id: img.id, category_id: SHAPES.indexOf(o.category) + 1, bbox: o.bbox, area: o.bbox[2] * o.bbox[3], iscrowd: o.crowd ? 1 : 0 })),
    ),
    categories,
  };
}
