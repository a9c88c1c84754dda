import { cp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { guiAdapter } from '../../pipelines/ingest/gui/adapter.js';
import { guiSourceSchema } from '../../pipelines/ingest/gui/config.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import type { StageContext } from '../../pipelines/shared/runner/stage.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;
let server: Server;
let base: string;
/** Requests the loopback server saw, by path. */
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/ok') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>ok</title><body style="margin:0"><button style="position:absolute;left:10px;top:10px;width:100px;height:30px">Subscribe</button><img src="http://other.invalid/pixel.gif"></body>');
    } else if (path === '/hang') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<!doctype html><title>slow</title><body><p>The rest of this page never arrives');
    } else if (path === '/tracker.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end();
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<p>not found</p>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  ws = await createWorkspace();
  await cp(join(REPO_ROOT, 'test/fixtures/gui'), ws.path('pages'), { recursive: true });
  // A local page that tries to reach the network: the request must be blocked, never sent.
  await ws.write('pages/phones-home.html', `<!doctype html><body><p>Local page with a tracker</p><img src="${base}/tracker.png" alt="tracker"></body>`);
  loaded = await ws.config({
    datasets: {
      gui: {
        sources: [
          { name: 'files', type: 'gui', path: 'pages', viewports: [{ name: 'wide', width: 1000, height: 500 }], pageTimeoutMs: 2000 },
          { name: 'web', type: 'gui', urls: [`${base}/ok`, `${base}/hang`, `${base}/missing`], allowUrls: true, pageTimeoutMs: 1500, tasks: ['comprehension'] },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
}, 90_000);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server?.closeAllConnections();
  await ws?.cleanup();
});

describe('GUI ingest in headless Chromium', () => {
  it('gives every page render and every element task one decision', async () => {
    const funnel = await queryShards(
      loaded,
      `SELECT source_uri || '#' || split_part(locator, '/', 1) AS page, decision, reason, count(*)::INT AS n FROM ledger GROUP BY ALL ORDER BY ALL`,
    );
    expect(funnel).toEqual([
      { page: `${base}/hang#viewport:desktop`, decision: 'quarantined', reason: 'page_timeout', n: 1 },
      { page: `${base}/missing#viewport:desktop`, decision: 'quarantined', reason: 'http_error', n: 1 },
      { page: `${base}/ok#viewport:desktop`, decision: 'kept', reason: 'ok', n: 1 },
      { page: 'pages/blank.html#viewport:wide', decision: 'dropped', reason: 'no_elements', n: 1 },
      { page: 'pages/form.html#viewport:wide', decision: 'dropped', reason: 'ambiguous_description', n: 2 },
      { page: 'pages/form.html#viewport:wide', decision: 'kept', reason: 'ok', n: 18 },
      { page: 'pages/phones-home.html#viewport:wide', decision: 'kept', reason: 'ok', n: 4 },
      { page: 'pages/spin.html#viewport:wide', decision: 'quarantined', reason: 'page_timeout', n: 1 },
    ]);
    const summary = await queryShards(loaded, `SELECT count(*)::INT AS n, count(DISTINCT media[1].id)::INT AS screenshots FROM samples`);
    expect(summary).toEqual([{ n: 23, screenshots: 3 }]);
  });

  it('records visible elements with their boxes on the 0–999 scale, clipped to the viewport', async () => {
    const rows = await queryShards(
      loaded,
      `SELECT json_extract_string(meta, '$.element.role') AS role, json_extract_string(meta, '$.element.name') AS name, [task.boxes[1].x1, task.boxes[1].y1, task.boxes[1].x2, task.boxes[1].y2] AS box
       FROM samples WHERE source.uri = 'pages/form.html' AND json_extract_string(meta, '$.task') = 'generation' ORDER BY source.locator`,
    );
    const byName = Object.fromEntries(rows.map((r) => [`${r.role} ${r.name}`, r.box]));
    expect(byName).toEqual({
      'image Company logo': [20, 40, 60, 120],
      'link Documentation': [100, 100, 300, 140],
      'button Sign in': [400, 200, 500, 280],
      'button Menu': [600, 200, 700, 280],
      'text Search': [100, 400, 180, 440],
      'text field Search': [200, 400, 500, 440],
      'heading Welcome back': [100, 600, 500, 680],
      'link More': [650, 600, 710, 640],
      'link Edge link': [950, 900, 999, 999],
    });
    // (the two "More" links collapse in this map; both are there)
    expect(rows).toHaveLength(10);
    const skipped = await queryShards(loaded, `SELECT DISTINCT json_extract(meta, '$.page.elements_skipped') AS s FROM samples WHERE source.uri = 'pages/form.html'`);
    expect(JSON.parse(skipped[0]!.s as string)).toMatchObject({ hidden: 1, occluded: 1, outside_viewport: 1 });
  });

  it('writes comprehension (description → box) and generation (box → text) tasks', async () => {
    const rows = await queryShards(
      loaded,
      `SELECT kind, task.question, task.answer, task.answer_type, task.verifier, len(content)::INT AS parts, content[1].type AS first FROM samples
       WHERE source.uri = 'pages/form.html' AND json_extract_string(meta, '$.element.name') = 'Sign in' ORDER BY task.answer_type`,
    );
    expect(rows).toEqual([
      { kind: 'gui', question: 'Locate the button "Sign in" in the screenshot.', answer: '<|begin_of_box|>[[400,200,500,280]]<|end_of_box|>', answer_type: 'boxes', verifier: 'grounding', parts: 2, first: 'image' },
      { kind: 'gui', question: 'What does the button in the box [400,200,500,280] of the screenshot say? Answer with its text.', answer: '<|begin_of_box|>Sign in<|end_of_box|>', answer_type: 'text', verifier: 'ocr', parts: 2, first: 'image' },
    ]);
    const shot = await queryShards(loaded, `SELECT DISTINCT media[1].width AS w, media[1].height AS h, media[1].mime AS mime FROM samples WHERE source.uri = 'pages/form.html'`);
    expect(shot).toEqual([{ w: 1000, h: 500, mime: 'image/png' }]);
  });

  it('blocks every request a page makes outside its own origin', async () => {
    expect(hits.get('/tracker.png')).toBeUndefined();
    const blocked = await queryShards(
      loaded,
      `SELECT DISTINCT source.uri AS uri, json_extract(meta, '$.page.blocked_requests')::INT AS blocked FROM samples WHERE source.uri LIKE '%phones-home%' OR source.uri LIKE '%/ok' ORDER BY uri`,
    );
    expect(blocked).toEqual([
      { uri: `${base}/ok`, blocked: 1 },
      { uri: 'pages/phones-home.html', blocked: 1 },
    ]);
  });

  it('refuses http(s) pages unless allowUrls is set', async () => {
    const source = guiSourceSchema.parse({ name: 'w', type: 'gui', urls: [`${base}/ok`] });
    await expect(guiAdapter.plan(source, { baseDir: ws.dir } as StageContext)).rejects.toThrow(/allowUrls: true/);
    expect(guiSourceSchema.safeParse({ name: 'w', type: 'gui', urls: ['file:///etc/passwd'] }).success).toBe(false);
  });
});
