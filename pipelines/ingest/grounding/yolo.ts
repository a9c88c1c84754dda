import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { mapBounded } from '../../shared/concurrency.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit } from '../adapter.js';
import { SourceConfigError } from '../source-files.js';
import { processAnnotatedImage, type RawAnnotation } from './annotated-image.js';
import type { YoloGroundingConfig } from './config.js';
import { parseYoloClassNames } from './yolo-classes.js';

const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'bmp', 'webp', 'tif', 'tiff'];

/** One image stem: `images/<stem>.<ext>` and/or `labels/<stem>.txt`. */
interface YoloItem {
  stem: string;
  image: string | null;
  label: string | null;
}

interface YoloUnitPayload {
  classes: string[];
  items: YoloItem[];
}

/** YOLO datasets: an image per label file, matched by their path under `images/` and `labels/`. */
export async function planYolo(source: YoloGroundingConfig, ctx: StageContext): Promise<AdapterUnit[]> {
  const root = resolve(ctx.baseDir, source.path);
  const imagesDir = join(root, source.imagesDir);
  const labelsDir = join(root, source.labelsDir);
  for (const dir of [imagesDir, labelsDir]) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SourceConfigError(`source ${source.name}: ${dir} is not a folder (set imagesDir/labelsDir)`);
  }
  const classes = await loadClasses(source, root);
  const images = await glob(IMAGE_EXTENSIONS.map((e) => `**/*.${e}`), { cwd: imagesDir, caseSensitiveMatch: false, onlyFiles: true });
  const labels = await glob('**/*.txt', { cwd: labelsDir, onlyFiles: true });
  const byStem = new Map<string, YoloItem>();
  const stemOf = (p: string): string => p.slice(0, p.length - extname(p).length);
  for (const p of images.sort()) {
    const stem = stemOf(p);
    if (!byStem.has(stem)) byStem.set(stem, { stem, image: join(imagesDir, p), label: null });
  }
  for (const p of labels.sort()) {
    const stem = stemOf(p);
    const item = byStem.get(stem) ?? { stem, image: null, label: null };
    item.label = join(labelsDir, p);
    byStem.set(stem, item);
  }
  const items = [...byStem.values()].sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
  const perUnit = source.imagesPerUnit ?? ctx.config.ingest.unitRows;
  const rel = relative(ctx.baseDir, root) || '.';
  const units: AdapterUnit[] = [];
  for (let start = 0; start < items.length; start += perUnit) {
    const slice = items.slice(start, start + perUnit);
    const payload: YoloUnitPayload = { classes, items: slice };
    units.push({ key: `${rel}#${start}-${start + slice.length}`, label: `${source.name} ${rel} images ${start}–${start + slice.length}`, fingerprint: await fingerprint(slice, classes), size: slice.length, payload });
  }
  return units;
}

export async function processYolo(source: YoloGroundingConfig, unit: AdapterUnit, ctx: StageContext, sink: UnitSink): Promise<void> {
  const { classes, items } = unit.payload as YoloUnitPayload;
  await mapBounded(items, ctx.config.ingest.concurrency, async (item) => {
    const labelUri = item.label ? relative(ctx.baseDir, item.label) : null;
    if (!item.image) {
      sink.inputs(1);
      sink.quarantine({ sample_id: null, source_uri: labelUri as string, locator: 'file' }, 'missing_image', {
        message: `labels for ${item.stem} but no image ${item.stem}.{${IMAGE_EXTENSIONS.join(',')}} under the images folder`,
      });
      return;
    }
    const annotations = item.label ? parseLabelFile(await readFile(item.label, 'utf8'), classes) : [];
    await processAnnotatedImage(
      source,
      {
        key: item.stem,
        file: item.image,
        uri: relative(ctx.baseDir, item.image),
        locator: `image:${item.stem}`,
        declaredSize: null,
        frame: 'unit',
        annotations: annotations.map((a) => ({ ...a, locator: `image:${item.stem}/${a.locator}` })),
        captions: [],
        meta: { label_file: labelUri },
      },
      ctx,
      sink,
    );
  });
}

/**
 * `class cx cy w h` per line, normalised to the image side (detection), or `class x1 y1 x2 y2 ...`
 * (segmentation polygon, whose bounding box is used). Blank lines are skipped.
 */
export function parseLabelFile(text: string, classes: readonly string[]): RawAnnotation[] {
  const out: RawAnnotation[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const fields = line.trim().split(/\s+/);
    const numbers = fields.map(Number);
    const classId = fields[0] ?? '';
    const base = { id: `line:${i + 1}`, categoryId: classId, category: classes[Number(classId)] || null, crowd: false, locator: `line:${i + 1}`, raw: line };
    const nan = { x1: Number.NaN, y1: Number.NaN, x2: Number.NaN, y2: Number.NaN };
    if (!/^\d+$/.test(classId) || numbers.some((n) => !Number.isFinite(n)) || (numbers.length !== 5 && (numbers.length < 7 || numbers.length % 2 === 0))) {
      out.push({ ...base, box: nan, invalid: { reason: 'malformed_label', message: 'expected "class cx cy w h" (5 numbers) or "class x1 y1 x2 y2 x3 y3 ..." (a polygon)' } });
      return;
    }
    if (numbers.length === 5) {
      const [, cx, cy, w, h] = numbers as [number, number, number, number, number];
      out.push({ ...base, box: { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 } });
      return;
    }
    const xs = numbers.slice(1).filter((_, k) => k % 2 === 0);
    const ys = numbers.slice(1).filter((_, k) => k % 2 === 1);
    out.push({ ...base, box: { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) } });
  });
  return out;
}

async function loadClasses(source: YoloGroundingConfig, root: string): Promise<string[]> {
  if (Array.isArray(source.classes)) return source.classes;
  const candidates = source.classes ? [resolve(root, source.classes)] : [...(await glob(['*.yaml', '*.yml'], { cwd: root, absolute: true })).sort(), join(root, 'classes.txt')];
  const found: Array<{ file: string; names: string[] }> = [];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const names = parseYoloClassNames(await readFile(file, 'utf8'), basename(file));
    if (names) found.push({ file, names });
  }
  const distinct = new Set(found.map((f) => JSON.stringify(f.names)));
  if (distinct.size > 1) {
    // Ids differ between such files (e.g. detection 0–79 vs segmentation COCO ids): guessing would mislabel every box.
    throw new SourceConfigError(
      `source ${source.name}: ${found.length} different class lists in ${root} (${found.map((f) => basename(f.file)).join(', ')}); set \`classes\` to the one matching ${source.labelsDir}`,
    );
  }
  if (found[0]) return found[0].names;
  throw new SourceConfigError(`source ${source.name}: no class names found (looked in ${candidates.join(', ') || root}); set \`classes\` to a list or to a data.yaml / classes.txt`);
}

/** Label bytes (small) are hashed; images by size and mtime (hashing every image would read the dataset twice). */
async function fingerprint(items: readonly YoloItem[], classes: readonly string[]): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(classes));
  for (const item of items) {
    hash.update(`\n${item.stem}`);
    if (item.label) hash.update(await readFile(item.label));
    if (item.image) {
      const s = statSync(item.image);
      hash.update(`${s.size}:${s.mtimeMs}`);
    }
  }
  return hash.digest('hex');
}
