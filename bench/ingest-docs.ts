/**
 * Interleaved, grounding and GUI ingest on ../shared/corpora:
 * - interleaved: all of ../shared/corpora/interleaved (MMC4 jsonl, the derived skimage items jsonl,
 *   the 30 skimage Sphinx-Gallery pages, the docling and OmniCorpus pages) → docs/s, and the HTML
 *   extraction checked against the references that ship with the pages;
 * - grounding: COCO-MINI (instances + captions, train + val) and COCO128 (YOLO) → images/s, boxes/s;
 * - GUI: the Debian HTML docs behind grounding/gui_rendered_docs rendered at the corpus' viewports →
 *   pages/s, elements/s and the match rate of our element boxes against the corpus' DOM boxes; the
 *   skimage gallery pages are rendered too (always present).
 *
 * The rendered-docs corpus records each page's path in the Debian packages (/usr/share/doc/...);
 * they are found under $STRATUM_GUI_DOCS_ROOT (default /). To get them without installing:
 *   apt-get download python3.11-doc apache2-doc python-skimage-doc
 *   for f in *.deb; do dpkg -x "$f" /tmp/gui-docs-root; done; export STRATUM_GUI_DOCS_ROOT=/tmp/gui-docs-root
 *
 *   pnpm bench ingest-docs
 */
import { createWriteStream, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { runCommand } from '../pipelines/cli/run.js';
import { iou } from '../pipelines/ingest/grounding/boxes.js';
import { topLevelArrayItems } from '../pipelines/ingest/grounding/json-array-stream.js';
import { extractHtml } from '../pipelines/ingest/interleaved/html-extract.js';
import { type LoadedConfig } from '../pipelines/shared/config/load.js';
import { validateConfig } from '../pipelines/shared/config/validate.js';
import type { PipelineConfigInput } from '../pipelines/shared/config/schema.js';
import { connect } from '../pipelines/shared/store/duckdb.js';
import { createShardViews } from '../pipelines/shared/store/views.js';

const CORPORA = resolve(import.meta.dirname, '..', '..', 'shared', 'corpora');
const INTERLEAVED = join(CORPORA, 'interleaved');
const GROUNDING = join(CORPORA, 'grounding');
const GUI_DOCS = join(GROUNDING, 'gui_rendered_docs');
/** IoU at which one of our element boxes counts as the corpus' box for the same element. */
const MATCH_IOU = 0.5;

interface Ingested {
  loaded: LoadedConfig;
  conn: DuckDBConnection;
  seconds: number;
  counts: { in: number; kept: number; dropped: number; quarantined: number };
}

async function ingest(config: PipelineConfigInput, configFile: string): Promise<Ingested> {
  process.env.STRATUM_LOG_LEVEL ??= 'warn';
  const loaded = validateConfig(config, configFile);
  const started = performance.now();
  const summaries = await runCommand(loaded, 'ingest', {});
  const seconds = (performance.now() - started) / 1000;
  const counts = { in: 0, kept: 0, dropped: 0, quarantined: 0 };
  for (const s of summaries) for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += s.counts[k];
  const conn = await connect();
  await createShardViews(conn, loaded.shardsDir, Object.keys(loaded.config.datasets));
  return { loaded, conn, seconds, counts };
}

async function rows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

const print = (line = ''): void => void process.stdout.write(`${line}\n`);
const rate = (n: number, s: number): string => (n / s).toFixed(n / s >= 100 ? 0 : 1);

async function printReasons(conn: DuckDBConnection): Promise<void> {
  for (const r of await rows(conn, `SELECT decision, reason, count(*)::INT AS n FROM ledger WHERE decision <> 'kept' GROUP BY ALL ORDER BY n DESC`)) {
    print(`    ${r.decision} ${r.reason}: ${r.n}`);
  }
}

export async function benchIngestDocs(): Promise<void> {
  if (!existsSync(CORPORA)) {
    print('skipped: ../shared/corpora absent');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-docs-'));
  try {
    // STRATUM_BENCH_ONLY=gui (comma-separated) runs a part alone
    const only = process.env.STRATUM_BENCH_ONLY?.split(',');
    if (!only || only.includes('interleaved')) await benchInterleaved(dir);
    if (!only || only.includes('grounding')) await benchGrounding(dir);
    if (!only || only.includes('gui')) await benchGui(dir);
    print(`\npeak RSS of this process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (Chromium runs in its own processes, not counted)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchInterleaved(dir: string): Promise<void> {
  print('interleaved (../shared/corpora/interleaved, all of it)');
  const run = await ingest(
    {
      shardsDir: join(dir, 'interleaved'),
      datasets: {
        interleaved: {
          sources: [
            { name: 'mmc4', type: 'interleaved', format: 'mmc4', path: join(INTERLEAVED, 'mmc4_shard151_partial') },
            { name: 'skimage_items', type: 'interleaved', format: 'items', path: join(INTERLEAVED, 'skimage_gallery_interleaved.derived.jsonl') },
            { name: 'skimage_html', type: 'interleaved', format: 'html', path: join(INTERLEAVED, 'skimage_gallery_html') },
            { name: 'docling_html', type: 'interleaved', format: 'html', path: join(INTERLEAVED, 'docling_html') },
            // the crawled page and the two extractions of it that ship beside it
            { name: 'omnicorpus_html', type: 'interleaved', format: 'html', path: join(INTERLEAVED, 'omnicorpus_html_extraction_demo') },
          ],
        },
      },
    },
    join(dir, 'interleaved.config.ts'),
  );
  const { conn, seconds, counts } = run;
  print(`  ${counts.in} documents in ${seconds.toFixed(2)} s = ${rate(counts.in, seconds)} docs/s (kept ${counts.kept}, dropped ${counts.dropped}, quarantined ${counts.quarantined})`);
  print('  source           docs  text parts  images stored  remote images recorded  text chars');
  for (const r of await rows(
    conn,
    `SELECT source.name AS s, count(*)::INT AS docs, sum(len(list_filter(content, x -> x.type = 'text')))::INT AS texts,
            sum(len(list_filter(content, x -> x.type = 'image')))::INT AS images,
            sum(json_array_length(json_extract(meta, '$.remote_images')))::INT AS remote,
            sum(CAST(json_extract(signals.extra, '$.text_chars') AS INT))::INT AS chars
     FROM samples GROUP BY ALL ORDER BY s`,
  )) {
    print(`  ${String(r.s).padEnd(15)} ${String(r.docs).padStart(5)}  ${String(r.texts).padStart(10)}  ${String(r.images).padStart(13)}  ${String(r.remote).padStart(22)}  ${String(r.chars).padStart(10)}`);
  }
  await printReasons(conn);

  // HTML pages alone, parsing + Readability + walk, without image decoding: the extraction rate.
  const pages = (await rows(conn, `SELECT DISTINCT source.uri AS uri FROM samples WHERE source.name LIKE '%_html'`)).map((r) => resolve(run.loaded.baseDir, r.uri as string));
  const started = performance.now();
  for (const page of pages) extractHtml(readFileSync(page, 'utf8'), true);
  const extractSeconds = (performance.now() - started) / 1000;
  print(`  HTML extraction alone (Readability on linkedom + ordered walk): ${pages.length} pages in ${extractSeconds.toFixed(2)} s = ${rate(pages.length, extractSeconds)} pages/s`);

  // The skimage pages against the derived JSONL made from the same pages: same image sequence?
  const same = await rows(
    conn,
    `WITH html AS (SELECT regexp_extract(source.uri, 'auto_examples/.*$') AS doc, [m.id FOR m IN media] AS ids, [x.media_id FOR x IN content IF x.type = 'image'] AS seq FROM samples WHERE source.name = 'skimage_html'),
          items AS (SELECT json_extract_string(meta, '$.doc_id') AS doc, [x.media_id FOR x IN content IF x.type = 'image'] AS seq FROM samples WHERE source.name = 'skimage_items')
     SELECT count(*)::INT AS docs, count(*) FILTER (WHERE html.seq = items.seq)::INT AS same FROM html JOIN items USING (doc)`,
  );
  print(`  skimage pages: our HTML extraction gives the same image sequence as the derived JSONL in ${same[0]?.same}/${same[0]?.docs} documents`);
  await compareWithReferences(conn, run.loaded);
}

/** Word recall/precision of our extracted text against the extractions shipped with the pages. */
async function compareWithReferences(conn: DuckDBConnection, loaded: LoadedConfig): Promise<void> {
  const textOf = async (uriLike: string): Promise<string> => {
    const r = await rows(conn, `SELECT list_aggregate([x.text FOR x IN content IF x.type = 'text'], 'string_agg', ' ') AS t FROM samples WHERE source.uri LIKE '%${uriLike}'`);
    return String(r[0]?.t ?? '');
  };
  const refs: [label: string, ours: string, reference: string][] = [
    ['OmniCorpus page vs magic-html extraction', 'demo_origin_page.html', join(INTERLEAVED, 'omnicorpus_html_extraction_demo', 'demo_magic-html_extraction.html')],
    ['OmniCorpus page vs trafilatura extraction', 'demo_origin_page.html', join(INTERLEAVED, 'omnicorpus_html_extraction_demo', 'demo_trafilatura_extraction.html')],
    ['docling wiki_duck.html vs its ground-truth Markdown', 'wiki_duck.html', join(INTERLEAVED, 'docling_html', 'wiki_duck.html.md.groundtruth.md')],
  ];
  void loaded;
  for (const [label, ours, refFile] of refs) {
    const refRaw = await readFile(refFile, 'utf8');
    const refText = refFile.endsWith('.html') ? extractHtml(refRaw, false).blocks.map((b) => (b.type === 'text' ? b.text : '')).join(' ') : refRaw;
    const { recall, precision } = wordOverlap(await textOf(ours), refText);
    print(`  ${label}: word recall ${(recall * 100).toFixed(1)}%, precision ${(precision * 100).toFixed(1)}%`);
  }
}

function wordOverlap(ours: string, reference: string): { recall: number; precision: number } {
  const bag = (t: string): Map<string, number> => {
    const m = new Map<string, number>();
    for (const w of t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
    return m;
  };
  const a = bag(ours);
  const b = bag(reference);
  let common = 0;
  for (const [w, n] of b) common += Math.min(n, a.get(w) ?? 0);
  const total = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0);
  return { recall: common / Math.max(1, total(b)), precision: common / Math.max(1, total(a)) };
}

async function benchGrounding(dir: string): Promise<void> {
  print('\ngrounding (COCO-MINI instances + captions, train + val; COCO128 YOLO)');
  const run = await ingest(
    {
      shardsDir: join(dir, 'grounding'),
      datasets: {
        grounding: {
          sources: [
            { name: 'coco_mini', type: 'grounding', format: 'coco', path: join(GROUNDING, 'coco_mini', 'annotations') },
            { name: 'coco128_yolo', type: 'grounding', format: 'yolo', path: join(GROUNDING, 'coco128_yolo_val_subset'), labelsDir: 'labels_detection', classes: 'object_detection_config.yaml' },
          ],
        },
      },
    },
    join(dir, 'grounding.config.ts'),
  );
  const { conn, seconds, counts } = run;
  const [images] = await rows(conn, `SELECT count(DISTINCT source_uri || split_part(locator, '/', 1))::INT AS n FROM ledger WHERE locator LIKE 'image:%'`);
  // Every annotation read ends in exactly one "every <category>" task or its own ledger row.
  const [boxes] = await rows(
    conn,
    `SELECT (SELECT coalesce(sum(len(task.boxes)), 0) FROM samples WHERE source.locator LIKE '%/every:%')::INT
          + (SELECT count(*) FROM ledger WHERE locator LIKE '%/ann:%' OR locator LIKE '%/line:%')::INT AS n`,
  );
  const nImages = Number(images?.n ?? 0);
  const nBoxes = Number(boxes?.n ?? 0);
  print(`  ${nImages} images, ${nBoxes} annotations in ${seconds.toFixed(2)} s = ${rate(nImages, seconds)} images/s, ${rate(nBoxes, seconds)} boxes/s, ${rate(counts.kept, seconds)} tasks/s`);
  for (const r of await rows(
    conn,
    `SELECT source.name AS s, json_extract_string(meta, '$.task') AS task, coalesce(json_extract_string(meta, '$.expression_from'), '') AS src, count(*)::INT AS n FROM samples GROUP BY ALL ORDER BY ALL`,
  )) {
    print(`    ${r.s} ${r.task}${r.src ? ` (${r.src})` : ''}: ${r.n}`);
  }
  await printReasons(conn);
  const [minBoxes] = await rows(conn, `SELECT count(DISTINCT source.uri || split_part(source.locator, '/', 1)) FILTER (WHERE (json_extract(signals.extra, '$.boxes_in_image'))::INT >= 2)::INT AS n FROM samples`);
  print(`  images that minBoxes: 2 (the GLM report's filter) would keep: ${minBoxes?.n}`);
  await benchCocoStream(dir);
}

/**
 * The official instances_train2017.json is 450 MB: planning and every unit stream it instead of
 * parsing it whole. A synthetic file of COCO's shape measures that scan and shows memory stays flat.
 */
async function benchCocoStream(dir: string): Promise<void> {
  const file = join(dir, 'instances_synthetic.json');
  const out = createWriteStream(file);
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const IMAGES = 20_000;
  const PER_IMAGE = 12;
  await write('{"info":{"description":"synthetic"},"images":[');
  for (let i = 0; i < IMAGES; i++) await write(`${i ? ',' : ''}{"id":${i},"file_name":"${String(i).padStart(12, '0')}.jpg","width":640,"height":480,"license":1}`);
  await write('],"annotations":[');
  const polygon = Array.from({ length: 60 }, (_, k) => (100 + k * 1.37).toFixed(2)).join(',');
  for (let a = 0; a < IMAGES * PER_IMAGE; a++) {
    await write(`${a ? ',' : ''}{"id":${a},"image_id":${a % IMAGES},"category_id":${1 + (a % 80)},"iscrowd":0,"area":1234.5,"bbox":[10.5,20.25,100.0,80.0],"segmentation":[[${polygon}]]}`);
  }
  await write('],"categories":[{"id":1,"name":"person"}]}');
  out.end();
  await once(out, 'finish');
  const bytes = statSync(file).size;
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  let items = 0;
  const started = performance.now();
  for await (const item of topLevelArrayItems(file, new Set(['images', 'annotations', 'categories']))) {
    if (++items % 50_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    void item;
  }
  const seconds = (performance.now() - started) / 1000;
  print(
    `  COCO-shaped ${Math.round(bytes / 2 ** 20)} MB file (${IMAGES} images, ${IMAGES * PER_IMAGE} annotations with polygons) streamed in ${seconds.toFixed(2)} s = ` +
      `${Math.round(bytes / 2 ** 20 / seconds)} MB/s, ${Math.round(items / seconds)} items/s; RSS grew by ${Math.round((peakRss - rssBefore) / 2 ** 20)} MiB ` +
      `(the 450 MB train2017 file: ~${Math.round(450 / (bytes / 2 ** 20 / seconds))} s per scan; planning scans once, each unit once)`,
  );
  await rm(file);
}

interface CorpusElement {
  tag: string;
  text: string;
  alt: string | null;
  aria_label: string | null;
  placeholder: string | null;
  bbox_xyxy: [number, number, number, number];
  visible_on_top: boolean;
}

interface CorpusPage {
  id: string;
  width: number;
  height: number;
  viewport: 'desktop' | 'mobile';
  source_path: string;
  elements: CorpusElement[];
}

async function benchGui(dir: string): Promise<void> {
  print('\nGUI (headless Chromium, system /usr/bin/chromium)');
  const docsRoot = process.env.STRATUM_GUI_DOCS_ROOT ?? '/';
  const pages = readFileSync(join(GUI_DOCS, 'annotations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CorpusPage);
  const found = pages.filter((p) => existsSync(join(docsRoot, p.source_path)));
  const realOf = (p: CorpusPage): string => realpathSync(join(docsRoot, p.source_path));
  const desktop = [...new Set(found.filter((p) => p.viewport === 'desktop').map(realOf))];
  const mobile = [...new Set(found.filter((p) => p.viewport === 'mobile').map(realOf))];
  // The config "lives" in the docs root so the pages are plain relative paths (a glob may not climb out with ../).
  const configFile = join(realpathSync(docsRoot), 'stratum-bench-gui.config.ts');
  const glob = (files: string[]): string => (files.length === 1 ? relative(docsRoot, files[0]!) : `{${files.map((f) => relative(realpathSync(docsRoot), f)).join(',')}}`);
  const wide = { maxElements: 1000, maxTextChars: 200 };
  const sources: unknown[] = [{ name: 'skimage_gallery', type: 'gui', path: join(INTERLEAVED, 'skimage_gallery_html'), ...wide }];
  if (desktop.length) sources.push({ name: 'docs_desktop', type: 'gui', path: glob(desktop), viewports: [{ name: 'desktop', width: 1280, height: 800 }], ...wide });
  if (mobile.length) sources.push({ name: 'docs_mobile', type: 'gui', path: glob(mobile), viewports: [{ name: 'mobile', width: 390, height: 844, isMobile: true }], ...wide });
  if (!found.length) {
    print(`  the Debian HTML docs of gui_rendered_docs are not under ${docsRoot} (see the header of bench/ingest-docs.ts); rendering the skimage gallery pages only`);
  }
  const run = await ingest({ shardsDir: join(dir, 'gui'), datasets: { gui: { sources: sources as never } } }, configFile);
  const { conn, seconds, counts } = run;
  const renders = await rows(
    conn,
    `SELECT source.name AS s, count(DISTINCT source.uri || split_part(source.locator, '/', 1))::INT AS renders,
            count(*) FILTER (WHERE json_extract_string(meta, '$.task') = 'generation')::INT AS elements
     FROM samples GROUP BY ALL ORDER BY s`,
  );
  const [failed] = await rows(conn, `SELECT count(*)::INT AS n FROM ledger WHERE locator NOT LIKE '%/%'`);
  const nRenders = renders.reduce((n, r) => n + Number(r.renders), 0) + Number(failed?.n ?? 0);
  const nElements = renders.reduce((n, r) => n + Number(r.elements), 0);
  print(`  ${nRenders} page renders, ${nElements} elements, ${counts.kept} tasks in ${seconds.toFixed(2)} s = ${rate(nRenders, seconds)} pages/s, ${rate(nElements, seconds)} elements/s`);
  for (const r of renders) print(`    ${r.s}: ${r.renders} renders, ${r.elements} elements`);
  await printReasons(conn);
  if (!found.length) return;

  // Match our element boxes against the corpus' DOM boxes of the same page and viewport.
  const ours = await rows(
    conn,
    `SELECT source.uri AS uri, split_part(split_part(source.locator, '/', 1), ':', 2) AS viewport, json_extract_string(meta, '$.element.tag') AS tag,
            json_extract_string(meta, '$.element.name') AS name, json_extract(meta, '$.element.bbox_px')::DOUBLE[] AS box,
            json_extract(meta, '$.page.viewport.css_width')::INT AS w, json_extract(meta, '$.page.viewport.css_height')::INT AS h
     FROM samples WHERE source.name LIKE 'docs_%' AND json_extract_string(meta, '$.task') = 'generation'`,
  );
  const byPage = new Map<string, typeof ours>();
  for (const o of ours) {
    const key = `${resolve(run.loaded.baseDir, o.uri as string)}|${o.viewport}`;
    byPage.set(key, [...(byPage.get(key) ?? []), o]);
  }
  const TAGS = new Set(['a', 'img', 'input', 'button', 'h1', 'h2', 'h3', 'label']);
  let comparable = 0;
  let named = 0;
  let matched = 0;
  let matchedNamed = 0;
  let sameName = 0;
  let iouSum = 0;
  let frameMismatch = 0;
  const unmatched = new Map<string, number>();
  for (const page of found) {
    const mine = byPage.get(`${realOf(page)}|${page.viewport}`) ?? [];
    if (mine[0] && (mine[0].w !== page.width || mine[0].h !== page.height)) frameMismatch++;
    for (const e of page.elements.filter((x) => x.visible_on_top && TAGS.has(x.tag))) {
      comparable++;
      const label = (e.aria_label || e.text || e.alt || e.placeholder || '').trim();
      if (label) named++;
      const [x1, y1, x2, y2] = e.bbox_xyxy;
      let best: { iou: number; name: string } | null = null;
      for (const m of mine) {
        if (m.tag !== e.tag) continue;
        const b = m.box as number[];
        const v = iou({ x1, y1, x2, y2 }, { x1: b[0]!, y1: b[1]!, x2: b[2]!, y2: b[3]! });
        if (v >= MATCH_IOU && (!best || v > best.iou)) best = { iou: v, name: String(m.name) };
      }
      if (!best) {
        const key = `${e.tag}${label ? '' : ' (unnamed)'}`;
        unmatched.set(key, (unmatched.get(key) ?? 0) + 1);
        if (process.env.STRATUM_BENCH_VERBOSE) print(`    unmatched ${page.id} ${e.tag} "${label}" ${JSON.stringify(e.bbox_xyxy)}`);
        continue;
      }
      matched++;
      iouSum += best.iou;
      if (label) matchedNamed++;
      if (label && best.name.replace(/\s+/g, ' ') === label.replace(/\s+/g, ' ')) sameName++;
    }
  }
  print(`  match against gui_rendered_docs (${found.length}/${pages.length} pages found, same tag and IoU ≥ ${MATCH_IOU}):`);
  print(`    all visible corpus elements: ${matched}/${comparable} = ${((matched / Math.max(1, comparable)) * 100).toFixed(1)}% (mean IoU of matches ${(iouSum / Math.max(1, matched)).toFixed(3)})`);
  print(`    corpus elements with a name (text/alt/aria/placeholder): ${matchedNamed}/${named} = ${((matchedNamed / Math.max(1, named)) * 100).toFixed(1)}%, same name in ${sameName}`);
  print(`    unmatched by tag: ${[...unmatched].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  print(`    pages whose viewport differs from the corpus screenshot size: ${frameMismatch}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchIngestDocs();
