import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, isAllowedRequest, launchBrowser, localPagePolicy } from '../../pipelines/ingest/gui/browser.js';
import { capturePage } from '../../pipelines/ingest/gui/capture.js';

/**
 * A local page must never put another file of the host into a training screenshot or its element
 * texts. The secret is a full-page red HTML file and a text file with a marker, outside the pages'
 * folder (plus a link to them from inside it); every way a page can pull a file in is tried.
 */
const MARKER = 'HOST-SECRET-7f3a';
const available = existsSync(CHROMIUM_PATH);

let dir: string;
let browser: Browser;

/** Vectors that replace the page: one page per secret location; the others put every location on one page, in a grid. */
const NAVIGATIONS = new Set(['navigate', 'metaRefresh', 'windowOpen']);

/** Ways a page reaches a file: `{url}` is replaced by each secret URL (absolute, relative, through a link). */
const VECTORS: Record<string, string> = {
  iframe: '<iframe src="{url}" style="position:absolute;left:0;top:0;width:100%;height:100%;border:0"></iframe>',
  frameInObject: '<object data="{url}" type="text/html" style="position:absolute;left:0;top:0;width:100%;height:100%"></object>',
  embed: '<embed src="{url}" type="text/html" style="position:absolute;left:0;top:0;width:100%;height:100%">',
  fetch: '<p id="{id}">nothing</p><script>fetch("{url}").then(r => r.text()).then(t => { document.getElementById("{id}").textContent = t; }).catch(() => {});</script>',
  xhr: '<p id="{id}">nothing</p><script>try { const x = new XMLHttpRequest(); x.open("GET", "{url}", false); x.send(); document.getElementById("{id}").textContent = x.responseText; } catch (e) {}</script>',
  navigate: '<script>location.href = "{url}";</script>',
  metaRefresh: '<meta http-equiv="refresh" content="0; url={url}">',
  windowOpen: '<script>window.open("{url}", "_self");</script>',
  image: '<img src="{url}" style="position:absolute;left:0;top:0;width:100%;height:100%">',
};

beforeAll(async () => {
  if (!available) return;
  dir = await mkdtemp(join(tmpdir(), 'stratum-gui-local-'));
  await mkdir(join(dir, 'pages/sub'), { recursive: true });
  await writeFile(join(dir, 'secret.html'), `<body style="margin:0;background:#ff0000"><h1>${MARKER}</h1></body>`);
  await writeFile(join(dir, 'secret.txt'), `${MARKER}\nroot:x:0:0:root:/root:/bin/bash\n`);
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } }).png().toFile(join(dir, 'secret.png'));
  await symlink(join(dir, 'secret.html'), join(dir, 'pages/linked.html'));
  await symlink(join(dir, 'secret.png'), join(dir, 'pages/linked.png'));
  // An allowed local subresource: a picture in the page's own folder.
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } }).png().toFile(join(dir, 'pages/sub/own.png'));
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function capture(name: string, html: string) {
  const path = join(dir, 'pages', `${name}.html`);
  await writeFile(path, `<!doctype html><body style="margin:0;background:#fff">${html}</body>`);
  const policy = await localPagePolicy(path, []);
  return capturePage(browser, pathToFileURL(path).href, { name: 'v', width: 400, height: 300, deviceScaleFactor: 1, isMobile: false }, { timeoutMs: 10_000, javaScript: true, policy, maxTextChars: 10_000 });
}

async function redShare(png: Buffer): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let i = 0; i < data.length; i += info.channels) if ((data[i] as number) > 200 && (data[i + 1] as number) < 60 && (data[i + 2] as number) < 60) red++;
  return red / (info.width * info.height);
}

describe.skipIf(!available)('GUI capture of local pages: no other file of the host gets in', () => {
  const secrets = (d: string): Record<string, string> => ({
    absoluteHtml: pathToFileURL(join(d, 'secret.html')).href,
    absoluteTxt: pathToFileURL(join(d, 'secret.txt')).href,
    relative: '../secret.html',
    dotted: 'sub/../../secret.txt',
    throughLink: 'linked.html',
    imageLink: 'linked.png',
    absoluteImage: pathToFileURL(join(d, 'secret.png')).href,
    passwd: 'file:///etc/passwd',
  });

  it('blocks every vector × every secret location', { timeout: 600_000 }, async () => {
    const leaks: string[] = [];
    let cases = 0;
    const check = async (name: string, html: string) => {
      let shot: Awaited<ReturnType<typeof capture>>;
      try {
        shot = await capture(name, html);
      } catch (err) {
        // A refused navigation may fail the load: that is a block too, as long as nothing leaked.
        expect((err as { reason?: string }).reason, `${name}: ${(err as Error).message}`).toMatch(/page_load_failed|page_crashed|page_timeout/);
        return;
      }
      const texts = shot.elements.map((e) => e.name).join('\n') + shot.title;
      if (texts.includes(MARKER) || texts.includes('root:x:0')) leaks.push(`${name}: text`);
      if ((await redShare(shot.screenshot)) > 0.002) leaks.push(`${name}: pixels`);
    };
    for (const [vector, template] of Object.entries(VECTORS)) {
      const locations = Object.entries(secrets(dir));
      cases += locations.length;
      if (NAVIGATIONS.has(vector)) {
        for (const [where, url] of locations) await check(`${vector}-${where}`, template.replaceAll('{url}', url).replaceAll('{id}', 'out'));
      } else {
        const cells = locations.map(([where, url]) => `<div style="position:relative;display:inline-block;width:100px;height:70px">${template.replaceAll('{url}', url).replaceAll('{id}', `out-${where}`)}</div>`);
        await check(vector, cells.join(''));
      }
    }
    expect(cases).toBe(Object.keys(VECTORS).length * 8);
    expect(leaks).toEqual([]);
  });

  it('still loads the page itself and pictures from its own folder', async () => {
    const shot = await capture('own-image', '<img src="sub/own.png" alt="own" style="width:200px;height:200px">');
    expect(shot.blockedRequests).toBe(0);
    const { data, info } = await sharp(shot.screenshot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (50 * info.width + 50) * info.channels;
    expect([data[at], data[at + 1], data[at + 2]]).toEqual([0, 0, 255]);
  });

  it('refuses other local schemes and file: for web pages', async () => {
    const local = await localPagePolicy(join(dir, 'pages/x.html'), []);
    for (const url of ['filesystem:file:///tmp/x', 'chrome://settings', 'view-source:file:///etc/passwd', 'chrome-extension://abc/x.js', 'about:config']) {
      expect(await isAllowedRequest(url, local, 'document'), url).toBe(false);
    }
    expect(await isAllowedRequest('file:///etc/passwd', { pageOrigin: 'http://127.0.0.1:1', allowedHosts: [] }, 'image')).toBe(false);
  });
});
