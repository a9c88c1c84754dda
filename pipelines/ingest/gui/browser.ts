import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, errors, type Browser, type BrowserContext } from 'playwright-core';
import { RecordError } from '../record-error.js';
import type { Viewport } from './config.js';

/** The system Chromium (Debian package); playwright never downloads a browser here. */
export const CHROMIUM_PATH = process.env.STRATUM_CHROMIUM ?? '/usr/bin/chromium';

/** No sandbox (containers run as root), no GPU, and no traffic of Chromium's own (updates, sync, field trials). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Starts headless Chromium. Playwright gives every launch a fresh temporary user-data-dir, deleted
 * on close, so no profile state leaks between units.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set STRATUM_CHROMIUM to its path`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
}

/** Which requests a page may make: its own scheme/origin and listed hosts; everything else is blocked. */
export interface NetworkPolicy {
  /**
   * `file` pages may load data: and blob: resources; of the disk, only the page itself as a
   * document, and images, stylesheets, fonts, scripts and media from the page's own folder (or
   * below it). No other file of the host can be framed, embedded or fetched (`<iframe src="file:///etc/passwd">`).
   */
  pageOrigin: string | 'file';
  allowedHosts: readonly string[];
  /** For `file` pages: the page's real path, and the real path of its folder. */
  local?: { page: string; folder: string };
}

/** Resource types a local page may load from its own folder; documents, frames, fetches and the rest may not. */
const LOCAL_SUBRESOURCES = new Set(['image', 'stylesheet', 'font', 'script', 'media']);

/** The policy for a local page: the page, and its own folder's subresources; nothing else of the disk. */
export async function localPagePolicy(pagePath: string, allowedHosts: readonly string[]): Promise<NetworkPolicy> {
  const page = await realpath(pagePath).catch(() => resolve(pagePath));
  return { pageOrigin: 'file', allowedHosts, local: { page, folder: dirname(page) } };
}

/**
 * Decides a request. file: URLs are resolved (`..`, symbolic links) before they are compared, so
 * nothing climbs out of the page's folder; any other local scheme (filesystem:, chrome:,
 * view-source:, ...) is refused.
 */
export async function isAllowedRequest(url: string, policy: NetworkPolicy, resourceType = 'document'): Promise<boolean> {
  if (/^(data|blob):/i.test(url) || /^about:(blank|srcdoc)$/i.test(url)) return true;
  if (/^file:/i.test(url)) {
    if (policy.pageOrigin !== 'file' || !policy.local) return false;
    const path = await localPath(url);
    if (path === null) return false;
    if (path === policy.local.page) return true;
    return LOCAL_SUBRESOURCES.has(resourceType) && path.startsWith(policy.local.folder.endsWith(sep) ? policy.local.folder : policy.local.folder + sep);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (policy.pageOrigin !== 'file' && parsed.origin === policy.pageOrigin) return true;
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && policy.allowedHosts.includes(parsed.host);
}

/** The real path a file: URL names (lexically resolved when the file does not exist); null when it names none. */
async function localPath(fileUrl: string): Promise<string | null> {
  let path: string;
  try {
    path = fileURLToPath(fileUrl.replace(/[?#].*$/, ''));
  } catch {
    return null;
  }
  return realpath(path).catch(() => resolve(path));
}

export interface LoadedPage {
  context: BrowserContext;
  page: Awaited<ReturnType<BrowserContext['newPage']>>;
  /** Requests the network policy blocked while loading. */
  blocked: number;
}

/**
 * Opens `url` in a fresh context (cookies, storage and cache never shared between pages) at the
 * viewport, waiting for the `load` event at most `timeoutMs`. Dialogs are dismissed, popups
 * closed. Throws RecordError `page_timeout`, `page_load_failed` or `http_error`; the caller closes
 * the context.
 */
export async function openPage(browser: Browser, url: string, viewport: Viewport, opts: { timeoutMs: number; javaScript: boolean; policy: NetworkPolicy }): Promise<LoadedPage> {
  const context = await browser.newContext({
    viewport: { width: viewport.width, height: viewport.height },
    deviceScaleFactor: viewport.deviceScaleFactor,
    isMobile: viewport.isMobile,
    hasTouch: viewport.isMobile,
    javaScriptEnabled: opts.javaScript,
    serviceWorkers: 'block',
    acceptDownloads: false,
  });
  const loaded: LoadedPage = { context, page: await context.newPage(), blocked: 0 };
  try {
    // file: requests go through the handler too (it costs image-heavy local pages time): only the
    // page's own folder may be read, never another file of the host.
    await context.route(/^(?!(?:data|blob):)/i, async (route) => {
      const request = route.request();
      if (await isAllowedRequest(request.url(), opts.policy, request.resourceType())) return route.continue();
      loaded.blocked++;
      return route.abort('blockedbyclient');
    });
    context.on('page', (popup) => {
      if (popup !== loaded.page) void popup.close().catch(() => {});
    });
    loaded.page.on('dialog', (dialog) => void dialog.dismiss().catch(() => {}));
    loaded.page.setDefaultTimeout(opts.timeoutMs);
    const response = await loaded.page.goto(url, { waitUntil: 'load', timeout: opts.timeoutMs });
    const status = response?.status() ?? 200;
    if (status >= 400) throw new RecordError('http_error', `HTTP ${status} from ${url}`);
    return loaded;
  } catch (err) {
    await closeQuietly(context);
    if (err instanceof RecordError) throw err;
    if (!browser.isConnected()) throw err;
    if (err instanceof errors.TimeoutError) {
      throw new RecordError('page_timeout', `${url} did not finish loading within ${opts.timeoutMs} ms (the load event never fired: a hanging resource or script); raise pageTimeoutMs if the page is just slow`);
    }
    throw new RecordError('page_load_failed', `${url}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Closes a context, giving up after 10 s (a renderer stuck in a script loop is killed with it). */
export async function closeQuietly(context: BrowserContext): Promise<void> {
  await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
}

/** Runs `work`, failing with RecordError(reason) after `ms` (page.evaluate has no timeout of its own). */
export async function withTimeout<T>(work: Promise<T>, ms: number, reason: string, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RecordError(reason, message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
