import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { cp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, makePng, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;
let server: Server;
let base: string;
const hits = new Map<string, number>();

const jsonl = (...lines: unknown[]): string => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

interface Part {
  type: string;
  text: string | null;
  media_id: string | null;
}

beforeAll(async () => {
  const served = await makePng(9);
  server = createServer((req, res) => {
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    if (req.url === '/img.png') res.writeHead(200, { 'content-type': 'image/png' }).end(served);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ws = await createWorkspace();
  const [a, b] = [await makePng(1), await makePng(2)];
  await ws.write('mmc4/a.png', a);
  await ws.write('mmc4/b.png', b);
  await ws.write('mmc4/bad.png', 'this is text, not a PNG');
  await ws.write(
    'mmc4/docs.jsonl',
    jsonl(
      {
        url: 'https://example.com/tide',
        text_list: ['Sentence zero.', 'Sentence one.', 'Sentence two.', 'Sentence three.'],
        image_info: [
          { image_name: 'a.png', raw_url: 'http://img.example.com/a.png', matched_text_index: 1, matched_sim: 0.31, face_detections: [] },
          { image_name: 'missing.jpg', raw_url: 'https://img.example.com/remote.jpg', matched_text_index: 3, matched_sim: 0.27 },
          { image_name: 'b.png', raw_url: 'http://img.example.com/b.png', matched_text_index: 1, matched_sim: 0.22 },
        ],
        similarity_matrix: [[0.1, 0.31, 0.2, 0.1]],
      },
      '{"url": "https://example.com/broken", "text_list": ["cut off',
      { url: 'x', text_list: ['Only one sentence.'], image_info: [{ image_name: 'a.png', matched_text_index: 9 }] },
      { url: 'x', text_list: 'not a list', image_info: [] },
      { url: 'x', text_list: ['A corrupt picture follows.'], image_info: [{ image_name: 'bad.png', matched_text_index: 0 }] },
      { url: 'x', text_list: [], image_info: [] },
      [1, 2],
    ),
  );
  await ws.write(
    'mmc4/strict.jsonl',
    jsonl(
      { url: 'u1', text_list: ['Good picture.', 'Broken picture.'], image_info: [{ image_name: 'a.png', matched_text_index: 0 }, { image_name: 'bad.png', matched_text_index: 1 }] },
      { url: 'u2', text_list: ['Remote only.'], image_info: [{ image_name: 'nowhere.jpg', raw_url: 'https://img.example.com/r.jpg', matched_text_index: 0 }] },
      { url: 'u3', text_list: ['No pictures at all.'], image_info: [] },
    ),
  );
  await ws.write(
    'remote/docs.jsonl',
    jsonl(
      { url: 'r1', text_list: ['Served by the loopback server.', 'End.'], image_info: [{ image_name: 'x.png', raw_url: `${base}/img.png`, matched_text_index: 0 }] },
      { url: 'r2', text_list: ['Gone.'], image_info: [{ image_name: 'y.png', raw_url: `${base}/gone.png`, matched_text_index: 0 }] },
    ),
  );
  await ws.write('obelics/img/a.png', a);
  await ws.write(
    'obelics/docs.jsonl',
    jsonl(
      { texts: ['Intro paragraph.', null, 'Outro paragraph.'], images: [null, 'img/a.png', null], general_metadata: JSON.stringify({ url: 'https://example.com/o' }) },
      { texts: ['a', 'b'], images: [null] },
      { texts: ['both', null], images: ['img/a.png', null] },
      { texts: ['A folder is not an image.', null], images: [null, 'img/'] },
    ),
  );
  await ws.write('items/figs/b.png', b);
  await ws.write(
    'items/docs.jsonl',
    jsonl(
      { doc_id: 'd1', title: 'T', items: [{ type: 'text', text: 'Before.' }, { type: 'image', path: 'figs/b.png', alt: 'plot' }, { type: 'text', text: 'After.' }] },
      { doc_id: 'd2', items: [{ type: 'video', path: 'x.mp4' }] },
    ),
  );
  await cp(join(REPO_ROOT, 'test/fixtures/interleaved/pages'), ws.path('html'), { recursive: true });
  await ws.write('html/img/anemone.png', await makePng(3));
  await ws.write('html/img/crab shell.png', await makePng(4));

  loaded = await ws.config({
    datasets: {
      i: {
        sources: [
          { name: 'mmc4', type: 'interleaved', format: 'mmc4', path: 'mmc4/docs.jsonl' },
          { name: 'mmc4_strict', type: 'interleaved', format: 'mmc4', path: 'mmc4/strict.jsonl', remoteImages: 'quarantine', imageErrors: 'omit', minImages: 1 },
          { name: 'obelics', type: 'interleaved', format: 'obelics', path: 'obelics/docs.jsonl' },
          { name: 'items', type: 'interleaved', format: 'items', path: 'items/docs.jsonl' },
          { name: 'html', type: 'interleaved', format: 'html', path: 'html', pagesPerUnit: 2 },
          { name: 'html_body', type: 'interleaved', format: 'html', path: 'html/article.html', readability: false },
          { name: 'download', type: 'interleaved', format: 'mmc4', path: 'remote/docs.jsonl', remoteImages: 'download', download: { allowPrivateNetworks: true, cache: false, retries: 0 } },
          { name: 'download_public', type: 'interleaved', format: 'mmc4', path: 'remote/docs.jsonl', remoteImages: 'download', download: { cache: false, retries: 0 } },
        ],
        ingest: { unitRows: 4 },
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await ws?.cleanup();
});

async function sample(name: string, locator: string): Promise<{ content: Part[]; media: { id: string }[]; meta: Record<string, unknown> }> {
  const rows = await queryShards(loaded, `SELECT content, media, meta FROM samples WHERE source.name = '${name}' AND source.locator = '${locator}'`);
  expect(rows).toHaveLength(1);
  const row = rows[0] as { content: Part[]; media: { id: string }[]; meta: string };
  return { ...row, meta: JSON.parse(row.meta) as Record<string, unknown> };
}

describe('interleaved ingest', () => {
  it('balances the funnel per unit and names the reason of every document left out', async () => {
    const manifest = (await readManifest(ws.path('shards/i/ingest/_manifest.jsonl'), 'ingest')) as { units: Record<string, { counts: { in: number; kept: number; dropped: number; quarantined: number } }> };
    const units = Object.values(manifest.units);
    // mmc4: 7 lines in units of 4 → 2; strict, obelics, items: 1 each; html: 3 pages by 2 → 2; html_body: 1; download ×2: 1 each
    expect(units).toHaveLength(10);
    for (const { counts } of units) expect(counts.in).toBe(counts.kept + counts.dropped + counts.quarantined);
    expect(units.reduce((n, u) => n + u.counts.in, 0)).toBe(7 + 3 + 4 + 2 + 3 + 1 + 2 + 2);

    const rows = await queryShards(loaded, `SELECT source_uri || '#' || locator || ' ' || decision || ' ' || reason AS r FROM ledger WHERE decision <> 'kept' AND source_uri NOT LIKE 'remote/%' ORDER BY r`);
    expect(rows.map((r) => r.r)).toEqual([
      'html/empty.html#page quarantined empty_document',
      'html/missing-image.html#page quarantined missing_image',
      'items/docs.jsonl#line:2 quarantined malformed_record',
      'mmc4/docs.jsonl#line:2 quarantined malformed_json',
      'mmc4/docs.jsonl#line:3 quarantined bad_matched_text_index',
      'mmc4/docs.jsonl#line:4 quarantined malformed_record',
      'mmc4/docs.jsonl#line:5 quarantined corrupt_image',
      'mmc4/docs.jsonl#line:6 quarantined empty_document',
      'mmc4/docs.jsonl#line:7 quarantined not_an_object',
      'mmc4/strict.jsonl#line:2 quarantined remote_image',
      'mmc4/strict.jsonl#line:3 dropped too_few_images',
      'obelics/docs.jsonl#line:2 quarantined malformed_record',
      'obelics/docs.jsonl#line:3 quarantined malformed_record',
      'obelics/docs.jsonl#line:4 quarantined missing_image',
    ]);
  });

  it('places MMC4 images after their matched sentence and records the remote ones without fetching', async () => {
    const { content, media, meta } = await sample('mmc4', 'line:1');
    expect(content.map((p) => (p.type === 'text' ? p.text : 'IMG'))).toEqual(['Sentence zero. Sentence one.', 'IMG', 'IMG', 'Sentence two. Sentence three.']);
    expect(media).toHaveLength(2);
    expect(content[1]!.media_id).not.toBe(content[2]!.media_id);
    expect(meta.url).toBe('https://example.com/tide');
    expect(meta.remote_images).toEqual([{ url: 'https://img.example.com/remote.jpg', position: 4, alt: null, meta: expect.objectContaining({ matched_text_index: 3, matched_sim: 0.27 }) }]);
    expect(meta).not.toHaveProperty('similarity_matrix');
  });

  it('omits unreadable images when told to, and keeps the rest of the document', async () => {
    const { content, meta } = await sample('mmc4_strict', 'line:1');
    expect(content.map((p) => p.type)).toEqual(['text', 'image', 'text']);
    expect(meta.omitted_images).toEqual([expect.objectContaining({ reason: 'corrupt_image', position: 3 })]);
  });

  it('reads OBELICS positions and ordered items', async () => {
    const o = await sample('obelics', 'line:1');
    expect(o.content.map((p) => p.text ?? 'IMG')).toEqual(['Intro paragraph.', 'IMG', 'Outro paragraph.']);
    expect(o.meta.general_metadata).toEqual({ url: 'https://example.com/o' });
    const it = await sample('items', 'line:1');
    expect(it.content.map((p) => p.text ?? 'IMG')).toEqual(['Before.', 'IMG', 'After.']);
    expect(it.meta.images).toEqual([expect.objectContaining({ alt: 'plot', position: 1 })]);
  });

  it('extracts the article of an HTML page in order, without its boilerplate', async () => {
    const { content, media, meta } = await sample('html', 'page');
    const text = content.map((p) => p.text ?? `[IMG]`).join('\n\n');
    for (const chrome of ['Home', 'About us', 'Popular posts', 'Win a free cruise', 'All rights reserved', 'Privacy policy', 'analytics']) expect(text).not.toContain(chrome);
    const order = ['Tide pools are rocky basins', '[IMG]', 'Anemones close into tight knobs', '[IMG]', 'A shore crab hiding', '- barnacles, glued', '- mussels', 'Visit at low tide', 'low_tide = "06:12"\nhigh_tide = "12:31"'];
    let at = -1;
    for (const piece of order) {
      const next = text.indexOf(piece, at + 1);
      expect(next, `"${piece}" after position ${at}`).toBeGreaterThan(at);
      at = next;
    }
    expect(media).toHaveLength(2);
    expect(meta.readability).toBe(true);
    expect(meta.title).toBe('Life in a tide pool'); // Readability drops the site name
    expect(meta.images).toEqual([expect.objectContaining({ alt: 'A green anemone' }), expect.objectContaining({ alt: 'A shore crab' })]);
    expect(meta.remote_images).toEqual([expect.objectContaining({ url: 'https://cdn.example.com/photos/starfish.jpg', alt: 'A starfish' })]);
  });

  it('walks the whole body minus header/nav/aside/footer when Readability is off', async () => {
    const { content } = await sample('html_body', 'page');
    const text = content.map((p) => p.text ?? '').join('\n\n');
    expect(text).toContain('# Life in a tide pool');
    expect(text).toContain('Tide pools are rocky basins');
    for (const chrome of ['About us', 'Popular posts', 'All rights reserved']) expect(text).not.toContain(chrome);
  });

  it('downloads remote images with the shared downloader when asked, refusing private addresses by default', async () => {
    const { content, meta } = await sample('download', 'line:1');
    expect(content.map((p) => p.type)).toEqual(['text', 'image', 'text']);
    expect(meta.images).toEqual([expect.objectContaining({ download: { url: `${base}/img.png`, final_url: `${base}/img.png` } })]);
    const rows = await queryShards(loaded, `SELECT source_uri || '#' || locator AS at, decision, reason FROM ledger WHERE source_uri LIKE 'remote/%' AND decision <> 'kept' ORDER BY ALL`);
    expect(rows).toEqual([
      { at: 'remote/docs.jsonl#line:1', decision: 'quarantined', reason: 'private_address_refused' },
      { at: 'remote/docs.jsonl#line:2', decision: 'quarantined', reason: 'http_error' },
      { at: 'remote/docs.jsonl#line:2', decision: 'quarantined', reason: 'private_address_refused' },
    ]);
    expect(hits.get('/img.png')).toBe(1);
  });
});
