import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { RecordError } from '../record-error.js';
import { closeQuietly, openPage, withTimeout, type NetworkPolicy } from './browser.js';
import type { Viewport } from './config.js';

export type ElementKind = 'interactive' | 'image' | 'text';

/** A visible element of the viewport, as collect-elements.browser.js reports it (CSS pixels). */
export interface PageElement {
  tag: string;
  kind: ElementKind;
  /** link, button, text field, checkbox, dropdown, heading, image, text, ... */
  role: string;
  /** Accessible name (aria-label, label, alt, placeholder) or visible text, whitespace collapsed. */
  name: string;
  box: { x1: number; y1: number; x2: number; y2: number };
  clipped: boolean;
  href: string | null;
  type: string | null;
}

export interface CapturedPage {
  screenshot: Buffer;
  /** The layout viewport in CSS pixels: the frame of the element boxes. */
  viewport: { width: number; height: number };
  title: string;
  url: string;
  elements: PageElement[];
  /** Elements passed over while collecting, by why. */
  skipped: Record<string, number>;
  blockedRequests: number;
}

/** Upper bound on elements collected in the page, before ranking and `maxElements`. */
const HARD_ELEMENT_LIMIT = 5000;

const COLLECTOR_SOURCE = readFileSync(join(import.meta.dirname, 'collect-elements.browser.js'), 'utf8');

/** Loads a page, collects its visible elements and takes a viewport screenshot, all within the page timeout. */
export async function capturePage(
  browser: Browser,
  url: string,
  viewport: Viewport,
  opts: { timeoutMs: number; javaScript: boolean; policy: NetworkPolicy; maxTextChars: number },
): Promise<CapturedPage> {
  const loaded = await openPage(browser, url, viewport, opts);
  const { context, page } = loaded;
  try {
    const collectorOpts = { maxTextChars: opts.maxTextChars, hardLimit: HARD_ELEMENT_LIMIT };
    const collected = await withTimeout(
      page.evaluate(`(${COLLECTOR_SOURCE})(${JSON.stringify(collectorOpts)})`) as Promise<Omit<CapturedPage, 'screenshot' | 'blockedRequests'>>,
      opts.timeoutMs,
      'page_timeout',
      `${url}: collecting elements took longer than ${opts.timeoutMs} ms (a busy script?)`,
    );
    let screenshot: Buffer;
    try {
      screenshot = await page.screenshot({ type: 'png', timeout: opts.timeoutMs, animations: 'disabled', caret: 'hide' });
    } catch (err) {
      throw new RecordError('screenshot_failed', `${url}: ${(err as Error).message.split('\n')[0]}`);
    }
    return { ...collected, screenshot, blockedRequests: loaded.blocked };
  } catch (err) {
    if (err instanceof RecordError || !browser.isConnected()) throw err;
    throw new RecordError('page_crashed', `${url}: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    await closeQuietly(context);
  }
}
