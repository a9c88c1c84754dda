/**
 * Part 1 of `pnpm bench filter`: precision and recall of near-duplicate image detection through
 * the product's path — caption records pointing at the photos, `ingest` then `filter` with
 * runCommand, verdicts read from the ledger (near_dup:image / exact_dup:image with
 * details.kept_sample_id) — on two datasets of one run:
 *
 * (a) `known`: every photo of ../shared/corpora/natural_images, whose duplicates its PROVENANCE
 *     lists (skimage ≡ imageio copies, wallpapers vs their thumbnails, the Shell crop);
 * (b) `edits`: one photo per known group of natural_images (and the COCO val2017 sample photos as
 *     further distinct images) with copies made here: resize, JPEG quality, 5% crop, brightness,
 *     watermark, horizontal flip.
 *
 * Pairs are scored as clusters: a sample dropped as a duplicate and the sample kept in its place
 * are one cluster; predicted pairs are the pairs inside a cluster, true pairs those inside a group
 * (a photo with its copies). The Hamming distances come from the 256-bit hashes the filter's map
 * wrote (h0..h7, and m0..m7 of the mirrored image; the reduce takes the smaller distance), with
 * pipelines/filter/image-hash.ts hamming256.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { runCommand } from '../pipelines/cli/run.js';
import { hamming256, imageBandPlan, type Hash256, type ImageBandPlan } from '../pipelines/filter/image-hash.js';
import type { LoadedConfig } from '../pipelines/shared/config/load.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { sqlString } from '../pipelines/shared/store/duckdb.js';
import { createWorkspace, queryShards, type Workspace } from '../test/support/workspace.js';

/** Duplicate groups of natural_images, from its PROVENANCE.md ("Naturally occurring duplicates (verified)"). */
const SAME_PIXELS = ['chelsea', 'coffee', 'coins', 'horse', 'moon', 'page', 'text'];
const WALLPAPERS = ['Autumn', 'BytheWater', 'ColdRipple', 'FallenLeaf', 'Kite', 'Path'];
export const KNOWN_GROUPS: { kind: string; files: string[] }[] = [
  ...['astronaut', 'camera'].map((n) => ({ kind: 'byte-identical', files: [`skimage_data/${n}.png`, `imageio_binaries/${n}.png`] })),
  ...SAME_PIXELS.map((n) => ({ kind: 'same pixels, other bytes', files: [`skimage_data/${n}.png`, `imageio_binaries/${n}.png`] })),
  { kind: 'same pixels, other bytes', files: ['skimage_data/hubble_deep_field.jpg', 'imageio_binaries/hubble_deep_field.png'] },
  { kind: 'same pixels, other bytes', files: ['skimage_data/ihc.png', 'imageio_binaries/immunohistochemistry.png'] },
  ...WALLPAPERS.map((w) => ({ kind: 'wallpaper vs 400×250 thumbnail', files: [`debian_plasma_wallpapers/${w}/2560x1600.jpg`, `debian_plasma_wallpapers/${w}/screenshot.jpg`] })),
  { kind: 'wallpaper vs 400×250 thumbnail', files: ['debian_plasma_wallpapers/Shell/5120x2880.jpg', 'debian_plasma_wallpapers/Shell/screenshot.png'] },
  // Another aspect ratio: the 720×1440 portrait crop of Shell, and Altai's 1080×1920 portrait vs its landscape thumbnail.
  { kind: 'crop to another aspect + resize', files: ['debian_plasma_wallpapers/Shell/5120x2880.jpg', 'debian_plasma_wallpapers/Shell/720x1440.jpg'] },
  { kind: 'crop to another aspect + resize', files: ['debian_plasma_wallpapers/Altai/1080x1920.png', 'debian_plasma_wallpapers/Altai/screenshot.png'] },
];

/** The edits of part (b); each writes a JPEG (quality 90 unless the edit is the quality). */
const WATERMARK_OPACITY = 0.6;
export const EDITS: Record<string, (input: Buffer) => Promise<Buffer>> = {
  'resize 50%': async (b) => {
    const { width = 0, height = 0 } = await sharp(b).metadata();
    return sharp(b).resize(Math.max(1, Math.round(width / 2)), Math.max(1, Math.round(height / 2))).jpeg({ quality: 90 }).toBuffer();
  },
  'JPEG quality 30': async (b) => sharp(b).jpeg({ quality: 30 }).toBuffer(),
  'crop 5% (centred)': async (b) => {
    const { width = 0, height = 0 } = await sharp(b).metadata();
    const w = Math.round(width * 0.95);
    const h = Math.round(height * 0.95);
    return sharp(b).extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h }).jpeg({ quality: 90 }).toBuffer();
  },
  'brightness +20%': async (b) => sharp(b).modulate({ brightness: 1.2 }).jpeg({ quality: 90 }).toBuffer(),
  watermark: async (b) => {
    const { width = 0, height = 0 } = await sharp(b).metadata();
    // A stock-photo style mark: a semi-transparent band with text across the lower third.
    const h = Math.max(8, Math.round(height * 0.12));
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
      <rect x="0" y="${Math.round(height * 0.62)}" width="${width}" height="${h}" fill="white" fill-opacity="${WATERMARK_OPACITY / 2}"/>
      <text x="${Math.round(width / 2)}" y="${Math.round(height * 0.62 + h * 0.78)}" font-family="sans-serif" font-size="${Math.round(h * 0.8)}" font-weight="bold"
        text-anchor="middle" fill="white" fill-opacity="${WATERMARK_OPACITY}" stroke="black" stroke-opacity="0.3">© stock photo</text></svg>`;
    return sharp(b).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).jpeg({ quality: 90 }).toBuffer();
  },
  'horizontal flip': async (b) => sharp(b).flop().jpeg({ quality: 90 }).toBuffer(),
};

interface Item {
  /** Group (family) the item belongs to: items of one group are true duplicates. */
  group: string;
  /** What the item is: 'original', an edit name, or the known pair kind. */
  label: string;
  name: string;
  path: string;
}

export interface ImageBenchOptions {
  corpora: string;
  radius: number;
  /** `nearImage.recall`: the recall the band layout targets at the radius. */
  recall: number;
  /** Also make edited copies of the COCO photos (default: they join only as distinct photos). */
  editCoco: boolean;
}

export async function imageBench(options: ImageBenchOptions): Promise<void> {
  const natural = join(options.corpora, 'natural_images');
  if (!existsSync(natural)) {
    process.stdout.write(`   skipped: ${natural} absent\n`);
    return;
  }
  const ws = await createWorkspace('stratum-bench-filter-images-');
  try {
    const known = await knownItems(natural);
    const edits = await editedItems(ws, natural, join(options.corpora, 'image_caption', 'coco_val2017_sample', 'images'), options.editCoco);
    const config: PipelineConfigInput = { datasets: {} };
    for (const [dataset, items] of [['known', known], ['edits', edits]] as const) {
      await ws.write(`${dataset}.jsonl`, items.map((it, i) => JSON.stringify({ id: `${dataset}-${i}`, image: it.path, caption: `Photo ${it.name} (${it.label}), record ${i}.` })).join('\n') + '\n');
      config.datasets[dataset] = {
        sources: [{ name: dataset, type: 'caption', layout: 'records', path: `${dataset}.jsonl`, format: 'jsonl', fields: { id: 'id', image: 'image', captions: 'caption' } }],
        ingest: { unitRows: 100 },
        // Size and aspect heuristics off: this measures dedup, and natural_images has small pages and a portrait crop.
        filter: { heuristics: { imageMinSide: 1, imageMaxAspect: 100, imageMinStddev: 0 }, nearImage: { radius: options.radius, recall: options.recall } },
      };
    }
    const loaded = await ws.config(config);
    const started = performance.now();
    await runCommand(loaded, 'ingest', {});
    const ingestSeconds = (performance.now() - started) / 1000;
    await runCommand(loaded, 'filter', {});
    const filterSeconds = (performance.now() - started) / 1000 - ingestSeconds;
    const knownResult = await score(loaded, 'known', known);
    const editResult = await score(loaded, 'edits', edits);
    // The reduce derives its band layout from the number of distinct hashes of the dataset (pipelines/filter/image-hash.ts).
    const knownIndex = imageBandPlan(distinctHashes(knownResult), options.radius, options.recall);
    const editIndex = imageBandPlan(distinctHashes(editResult), options.radius, options.recall);
    process.stdout.write(
      `   ${known.length} + ${edits.length} images; ingest ${ingestSeconds.toFixed(0)} s, filter ${filterSeconds.toFixed(0)} s (wall, loaded machine); radius ${options.radius} of 256 bits, ` +
        `recall target ${options.recall} at the radius: band layout ${knownIndex.bands} × ${knownIndex.bits} bits (known), ${editIndex.bands} × ${editIndex.bits} bits (edits)\n\n`,
    );
    reportKnown(knownResult, options.radius);
    reportEdits(editResult, options.radius, editIndex);
    reportLsh(options.radius, editIndex);
  } finally {
    await ws.cleanup();
  }
}

async function knownItems(natural: string): Promise<Item[]> {
  const items: Item[] = [];
  const labelOf = new Map<string, string>();
  // Union of the listed groups (Shell's thumbnail and crop join one group through the full wallpaper).
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const p = parent.get(x) ?? x;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  for (const g of KNOWN_GROUPS) {
    if (!g.files.every((f) => existsSync(join(natural, f)))) {
      process.stdout.write(`   (known group ${g.files.join(' / ')} incomplete in this corpus copy; left out)\n`);
      continue;
    }
    for (const f of g.files.slice(1)) parent.set(find(f), find(g.files[0] as string));
    for (const f of g.files.slice(1)) labelOf.set(f, g.kind);
  }
  for (const file of await photos(natural)) {
    const rel = file.slice(natural.length + 1);
    items.push({ group: find(rel), label: labelOf.get(rel) ?? 'original', name: rel, path: file });
  }
  return items;
}

/** Every image file under a folder except the deliberately corrupt one, sorted. */
async function photos(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(jpe?g|png|gif|webp)$/i.test(entry.name) || entry.name === 'truncated.jpg') continue;
    out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

async function editedItems(ws: Workspace, natural: string, coco: string, editCoco: boolean): Promise<Item[]> {
  const items: Item[] = [];
  const seconds = new Set(KNOWN_GROUPS.flatMap((g) => g.files.slice(1)));
  const originals = (await photos(natural)).filter((f) => !seconds.has(f.slice(natural.length + 1))).map((f) => ({ name: f.slice(natural.length + 1), path: f, edit: true }));
  if (existsSync(coco)) for (const f of await photos(coco)) originals.push({ name: `coco/${basename(f)}`, path: f, edit: editCoco });
  const dir = ws.path('edited');
  await mkdir(dir, { recursive: true });
  for (const [i, o] of originals.entries()) {
    items.push({ group: o.name, label: 'original', name: o.name, path: o.path });
    if (!o.edit) continue;
    const bytes = await readFile(o.path);
    for (const [k, [edit, apply]] of Object.entries(EDITS).entries()) {
      let out: Buffer;
      try {
        out = await apply(bytes);
      } catch (err) {
        process.stdout.write(`   (${edit} of ${o.name} failed: ${(err as Error).message}; left out)\n`);
        continue;
      }
      const path = await ws.write(`edited/${i}-${k}-${basename(o.name, extname(o.name))}.jpg`, out);
      items.push({ group: o.name, label: edit, name: o.name, path });
    }
  }
  return items;
}

interface Scored {
  items: Item[];
  /** Per item: its sample's filter reason ('ok', a duplicate reason, another drop), the kept sample's item index, and its hashes. */
  reason: (string | null)[];
  keptBy: (number | null)[];
  hash: (Hash256 | null)[];
  mirrored: (Hash256 | null)[];
  /** Predicted cluster id per item (its keeper's index, or itself). */
  cluster: number[];
}

async function score(all: LoadedConfig, dataset: string, items: Item[]): Promise<Scored> {
  const loaded: LoadedConfig = { ...all, config: { ...all.config, datasets: { [dataset]: all.config.datasets[dataset]! } } };
  const rows = await queryShards(
    loaded,
    `SELECT s.id, s.source.locator AS locator, s.media[1].id AS media_id, l.reason, l.details
     FROM ingest_samples s LEFT JOIN ledger l ON l.sample_id = s.id AND l.stage = 'filter'`,
  );
  const hashRows = await queryShards(
    loaded,
    `SELECT DISTINCT media_id, [h0, h1, h2, h3, h4, h5, h6, h7] AS h, [m0, m1, m2, m3, m4, m5, m6, m7] AS m
     FROM read_parquet(${sqlString(join(loaded.shardsDir, dataset, 'filter', '_map', 'images', '**', '*.parquet'))})`,
  );
  const hashes = new Map(hashRows.map((r) => [String(r.media_id), { h: (r.h as number[]).map(Number), m: (r.m as number[]).map(Number) }]));
  const indexOfSample = new Map<string, number>();
  const line = (locator: string): number => Number(/^line:(\d+)/.exec(locator)?.[1] ?? 0) - 1;
  for (const r of rows) indexOfSample.set(String(r.id), line(String(r.locator)));
  const n = items.length;
  const scored: Scored = { items, reason: new Array(n).fill(null), keptBy: new Array(n).fill(null), hash: new Array(n).fill(null), mirrored: new Array(n).fill(null), cluster: [...Array(n).keys()] };
  for (const r of rows) {
    const i = line(String(r.locator));
    if (i < 0 || i >= n) continue;
    scored.reason[i] = r.reason === null || r.reason === undefined ? 'not filtered' : String(r.reason);
    const details = r.details ? (JSON.parse(String(r.details)) as { kept_sample_id?: string }) : {};
    if (details.kept_sample_id && /dup:image/.test(String(r.reason))) scored.keptBy[i] = indexOfSample.get(details.kept_sample_id) ?? null;
    const h = hashes.get(String(r.media_id));
    if (h) {
      scored.hash[i] = h.h;
      scored.mirrored[i] = h.m;
    }
  }
  for (let i = 0; i < n; i++) {
    let c = i;
    for (let hops = 0; scored.keptBy[c] !== null && hops < n; hops++) c = scored.keptBy[c] as number;
    scored.cluster[i] = c;
  }
  return scored;
}

/** The distance the reduce compares with the radius: the smaller of direct and mirrored. */
function distance(s: Scored, i: number, j: number): number | null {
  const a = s.hash[i];
  const b = s.hash[j];
  const bm = s.mirrored[j];
  if (!a || !b || !bm) return null;
  const am = s.mirrored[i];
  return Math.min(hamming256(a, b), hamming256(a, bm), am ? hamming256(am, b) : 256);
}

function directDistance(s: Scored, i: number, j: number): number | null {
  const a = s.hash[i];
  const b = s.hash[j];
  return a && b ? hamming256(a, b) : null;
}

interface PairCounts {
  truePairs: number;
  predictedPairs: number;
  correct: number;
}

function pairCounts(s: Scored, include: (i: number, j: number) => boolean = () => true): PairCounts {
  const c: PairCounts = { truePairs: 0, predictedPairs: 0, correct: 0 };
  for (let i = 0; i < s.items.length; i++) {
    for (let j = i + 1; j < s.items.length; j++) {
      if (!include(i, j)) continue;
      const same = s.items[i]!.group === s.items[j]!.group;
      const predicted = s.cluster[i] === s.cluster[j];
      if (same) c.truePairs++;
      if (predicted) c.predictedPairs++;
      if (same && predicted) c.correct++;
    }
  }
  return c;
}

const pct = (num: number, den: number): string => (den === 0 ? 'n/a' : `${((100 * num) / den).toFixed(1)}% (${num}/${den})`);

function reportKnown(s: Scored, radius: number): void {
  process.stdout.write(`   (a) known duplicates in natural_images (${s.items.length} photos, ${new Set(s.items.map((i) => i.group)).size} groups)\n`);
  const all = pairCounts(s);
  process.stdout.write(`      pairwise: precision ${pct(all.correct, all.predictedPairs)}, recall ${pct(all.correct, all.truePairs)}\n`);
  const kinds = [...new Set(KNOWN_GROUPS.map((g) => g.kind))];
  for (const kind of kinds) {
    const pairs: string[] = [];
    let found = 0;
    let total = 0;
    for (const g of KNOWN_GROUPS.filter((g) => g.kind === kind)) {
      const [a, b] = g.files.map((f) => s.items.findIndex((it) => it.name === f)) as [number, number];
      if (a < 0 || b < 0) continue;
      total++;
      const hit = s.cluster[a] === s.cluster[b];
      if (hit) found++;
      const d = distance(s, a, b);
      pairs.push(`${hit ? '' : 'MISSED '}${basename(g.files[1] as string)}${d === null ? '' : ` d=${d}`}`);
    }
    process.stdout.write(`      ${kind}: found ${found}/${total}  [${pairs.join(', ')}]\n`);
  }
  const falseMerges = falsePairs(s);
  process.stdout.write(`      distinct photos merged: ${falseMerges.length ? falseMerges.join('; ') : 'none'}\n`);
  const reasons = new Map<string, number>();
  for (const r of s.reason) reasons.set(r ?? 'not ingested', (reasons.get(r ?? 'not ingested') ?? 0) + 1);
  process.stdout.write(`      filter verdicts: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')}\n`);
  const distinct = distinctDistances(s);
  process.stdout.write(`      distinct pairs (${distinct.length}): ${summary(distinct, radius)}\n`);
  const hard = closest(s, 3);
  process.stdout.write(`      closest distinct pairs: ${hard.join('; ')}\n\n`);
}

function distinctHashes(s: Scored): number {
  return new Set(s.hash.flatMap((h) => (h ? [h.join(',')] : []))).size;
}

function reportEdits(s: Scored, radius: number, index: ImageBandPlan): void {
  const originals = s.items.filter((it) => it.label === 'original').length;
  process.stdout.write(`   (b) copies made here (${originals} distinct photos, ${s.items.length - originals} edited copies)\n`);
  process.stdout.write(
    `      ${'edit'.padEnd(20)} ${'recall'.padEnd(20)} ${'expected'.padEnd(9)} ${'precision'.padEnd(20)} Hamming to original (min/median/p90/max; ≤ ${radius})      without mirror\n`,
  );
  for (const edit of Object.keys(EDITS)) {
    const idx = s.items.flatMap((it, i) => (it.label === edit ? [i] : []));
    if (!idx.length) continue;
    let found = 0;
    let flagged = 0;
    let flaggedRight = 0;
    const dists: number[] = [];
    const direct: number[] = [];
    const misses: string[] = [];
    let withinMissed = 0;
    for (const i of idx) {
      const o = s.items.findIndex((it) => it.group === s.items[i]!.group && it.label === 'original');
      const together = s.cluster[i] === s.cluster[o];
      if (together) found++;
      const d = distance(s, o, i);
      if (d !== null) dists.push(d);
      const dd = directDistance(s, o, i);
      if (dd !== null) direct.push(dd);
      if (!together) misses.push(`${s.items[i]!.name}${d === null ? '' : ` d=${d}`}`);
      if (!together && d !== null && d <= radius) withinMissed++;
      // Flagged: this copy dropped as a duplicate, or another sample dropped in its favour.
      const members = s.items.flatMap((_, j) => (j !== i && s.cluster[j] === s.cluster[i] ? [j] : []));
      if (members.length) {
        flagged++;
        if (members.every((j) => s.items[j]!.group === s.items[i]!.group)) flaggedRight++;
      }
    }
    // What the band layout predicts for these copies: recall(d) for each copy within the radius, 0 beyond it (clusters can still join it through a third copy).
    const expected = dists.reduce((sum, d) => sum + (d <= radius ? index.recallAt(d) : 0), 0) / Math.max(1, dists.length);
    process.stdout.write(
      `      ${edit.padEnd(20)} ${pct(found, idx.length).padEnd(20)} ${`${(100 * expected).toFixed(1)}%`.padEnd(9)} ${pct(flaggedRight, flagged).padEnd(20)} ${quantiles(dists)}  ≤ ${radius}: ${dists.filter((d) => d <= radius).length}/${dists.length}      ${quantiles(direct)}\n`,
    );
    if (misses.length) {
      const shown = misses.length <= 6 ? misses.join(', ') : `${misses.slice(0, 6).join(', ')}, …`;
      const within = withinMissed ? `; ${withinMissed} of them within the radius but sharing no band` : '';
      process.stdout.write(`         missed ${misses.length}${within}: ${shown}\n`);
    }
  }
  const all = pairCounts(s);
  process.stdout.write(`      all pairs: precision ${pct(all.correct, all.predictedPairs)}, recall ${pct(all.correct, all.truePairs)}\n`);
  const falseMerges = falsePairs(s);
  process.stdout.write(`      distinct photos merged: ${falseMerges.length ? falseMerges.slice(0, 8).join('; ') + (falseMerges.length > 8 ? ` … (${falseMerges.length})` : '') : 'none'}\n`);
  const distinct = distinctDistances(s, (i) => s.items[i]!.label === 'original');
  process.stdout.write(`      distinct originals, all pairs (${distinct.length}): ${summary(distinct, radius)}\n`);
  process.stdout.write(`      closest distinct pairs: ${closest(s, 3, (i) => s.items[i]!.label === 'original').join('; ')}\n\n`);
}

/** Bit-sampling LSH with the derived layout: the chance that a pair at Hamming distance d shares at least one band. */
function reportLsh(radius: number, index: ImageBandPlan): void {
  const ds = [8, 16, 24, 32, 40, radius, 56, 64, 96, 128].filter((d, i, a) => a.indexOf(d) === i).sort((a, b) => a - b);
  process.stdout.write(
    `   band layout of (b) (${index.bands} × ${index.bits} bits), chance a pair at distance d becomes a candidate: ${ds.map((d) => `d=${d}: ${index.recallAt(d).toFixed(d >= 96 ? 5 : 3)}`).join(', ')}\n`,
  );
}

function falsePairs(s: Scored): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.items.length; i++) {
    for (let j = i + 1; j < s.items.length; j++) {
      if (s.cluster[i] !== s.cluster[j] || s.items[i]!.group === s.items[j]!.group) continue;
      out.push(`${s.items[i]!.name} [${s.items[i]!.label}] ~ ${s.items[j]!.name} [${s.items[j]!.label}] d=${distance(s, i, j) ?? '?'}`);
    }
  }
  return out;
}

function distinctDistances(s: Scored, include: (i: number) => boolean = () => true): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.items.length; i++) {
    if (!include(i)) continue;
    for (let j = i + 1; j < s.items.length; j++) {
      if (!include(j) || s.items[i]!.group === s.items[j]!.group) continue;
      const d = distance(s, i, j);
      if (d !== null) out.push(d);
    }
  }
  return out;
}

function closest(s: Scored, k: number, include: (i: number) => boolean = () => true): string[] {
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < s.items.length; i++) {
    if (!include(i)) continue;
    for (let j = i + 1; j < s.items.length; j++) {
      if (!include(j) || s.items[i]!.group === s.items[j]!.group) continue;
      const d = distance(s, i, j);
      if (d !== null) pairs.push([d, i, j]);
    }
  }
  return pairs
    .sort((a, b) => a[0] - b[0])
    .slice(0, k)
    .map(([d, i, j]) => `${s.items[i]!.name} ~ ${s.items[j]!.name} d=${d}`);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function quantiles(values: number[]): string {
  if (!values.length) return 'n/a'.padEnd(16);
  const s = [...values].sort((a, b) => a - b);
  return `${s[0]}/${quantile(s, 0.5)}/${quantile(s, 0.9)}/${s[s.length - 1]}`.padEnd(16);
}

function summary(values: number[], radius: number): string {
  if (!values.length) return 'n/a';
  const s = [...values].sort((a, b) => a - b);
  const buckets = [32, 48, 56, 64, 72, 80, 96, 256];
  let prev = -1;
  const hist = buckets.map((b) => {
    const n = s.filter((v) => v > prev && v <= b).length;
    const label = `${prev + 1}–${b}`;
    prev = b;
    return `${label}: ${n}`;
  });
  return `min ${s[0]}, p0.1 ${quantile(s, 0.001)}, p1 ${quantile(s, 0.01)}, p5 ${quantile(s, 0.05)}, median ${quantile(s, 0.5)}; ≤ ${radius}: ${s.filter((v) => v <= radius).length}; histogram ${hist.join(', ')}`;
}
