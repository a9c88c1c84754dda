import { sha256File, sha256Hex } from '../../shared/hash.js';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import type { MediaDescriptor } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { InputRef, UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit, SourceAdapter } from '../adapter.js';
import { RecordError } from '../record-error.js';
import { buildSample, imagePart, storeImage, textPart } from '../sample-builder.js';
import { SourceConfigError, sourceFiles } from '../source-files.js';
import { launchBrowser, localPagePolicy, type NetworkPolicy } from './browser.js';
import { capturePage } from './capture.js';
import type { GuiSourceConfig, Viewport } from './config.js';
import { guiTasks, selectElements } from './tasks.js';

/** A page to render: a local file or an http(s) URL. */
type PageTarget = { kind: 'file'; path: string } | { kind: 'url'; url: string };

interface GuiUnitPayload {
  targets: PageTarget[];
}

/**
 * Web pages rendered in headless Chromium → `gui` samples: the viewport screenshot with referring
 * expression tasks for its visible elements (description → box, box → text). Each (page, viewport)
 * render is one input until it succeeds, then each task candidate is an input.
 */
export const guiAdapter: SourceAdapter<GuiSourceConfig> = {
  type: 'gui',
  version: 2,

  async plan(source, ctx) {
    if (!source.path && !source.urls.length) throw new SourceConfigError(`source ${source.name}: set \`path\` (local HTML pages) or \`urls\``);
    if (source.urls.length && !source.allowUrls) {
      throw new SourceConfigError(`source ${source.name}: rendering http(s) pages needs \`allowUrls: true\` (pages are fetched from the network)`);
    }
    const targets: { target: PageTarget; stamp: string }[] = [];
    if (source.path) {
      for (const path of await sourceFiles(source.name, source.path, ctx.baseDir, ['**/*.html', '**/*.htm'])) {
        targets.push({ target: { kind: 'file', path }, stamp: await ctx.files.get(path, 'sha256', () => sha256File(path)) });
      }
    }
    for (const url of source.urls) targets.push({ target: { kind: 'url', url }, stamp: url });
    const units: AdapterUnit[] = [];
    for (let start = 0; start < targets.length; start += source.pagesPerUnit) {
      const slice = targets.slice(start, start + source.pagesPerUnit);
      const first = describe(slice[0]!.target, ctx);
      const payload: GuiUnitPayload = { targets: slice.map((t) => t.target) };
      units.push({
        key: `pages:${first}+${slice.length}`,
        label: `${source.name} ${slice.length} page(s) × ${source.viewports.length} viewport(s) from ${first}`,
        fingerprint: sha256Hex(slice.map((t) => `${describe(t.target, ctx)}=${t.stamp}`).join('\n')),
        size: slice.length * source.viewports.length,
        payload,
      });
    }
    return units;
  },

  async process(source, unit, ctx, sink) {
    const { targets } = unit.payload as GuiUnitPayload;
    const browser = await launchBrowser();
    try {
      for (const target of targets) {
        for (const viewport of source.viewports) {
          if (ctx.signal.aborted) throw new Error('aborted');
          await renderTarget(source, browser, target, viewport, ctx, sink);
        }
      }
    } finally {
      await browser.close().catch(() => {});
    }
  },
};

async function renderTarget(source: GuiSourceConfig, browser: Browser, target: PageTarget, viewport: Viewport, ctx: StageContext, sink: UnitSink): Promise<void> {
  const uri = describe(target, ctx);
  const pageRef: InputRef = { sample_id: null, source_uri: uri, locator: `viewport:${viewport.name}` };
  const url = target.kind === 'file' ? pathToFileURL(target.path).href : target.url;
  const policy: NetworkPolicy = target.kind === 'file' ? await localPagePolicy(target.path, source.allowedHosts) : { pageOrigin: new URL(target.url).origin, allowedHosts: source.allowedHosts };
  let media: MediaDescriptor;
  let captured: Awaited<ReturnType<typeof capturePage>>;
  try {
    captured = await capturePage(browser, url, viewport, { timeoutMs: source.pageTimeoutMs, javaScript: source.javaScript, policy, maxTextChars: source.maxTextChars });
    media = await storeImage(ctx, captured.screenshot, ctx.baseDir);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    sink.inputs(1);
    sink.quarantine(pageRef, err.reason, { message: err.message, url, viewport });
    return;
  }

  const selected = selectElements(captured.elements, captured.viewport, source);
  const candidates = guiTasks(selected, captured.elements, source.tasks);
  const pageMeta = {
    url,
    title: captured.title,
    viewport: { ...viewport, css_width: captured.viewport.width, css_height: captured.viewport.height },
    elements_visible: captured.elements.length,
    elements_used: selected.length,
    elements_skipped: captured.skipped,
    blocked_requests: captured.blockedRequests,
  };
  if (!candidates.length) {
    sink.inputs(1);
    sink.drop(pageRef, 'no_elements', { message: 'no visible, named element fits the limits on this page', ...pageMeta });
    return;
  }
  sink.inputs(candidates.length);
  for (const c of candidates) {
    const { element: e } = c.element;
    const locator = `viewport:${viewport.name}/el:${c.element.index}/${c.kind}`;
    const ref: InputRef = { sample_id: null, source_uri: uri, locator };
    if (!('task' in c)) {
      sink.drop(ref, 'ambiguous_description', { message: `more than one visible ${e.role} is named "${e.name}"`, name: e.name });
      continue;
    }
    const sample = buildSample(ctx, {
      source,
      uri,
      locator,
      kind: 'gui',
      domain: source.domain,
      content: [imagePart(media), textPart(c.task.question)],
      media: [media],
      task: c.task,
      signals: { elements_on_page: selected.length },
      meta: {
        task: c.kind,
        element: { tag: e.tag, kind: e.kind, role: e.role, name: e.name, href: e.href, type: e.type, clipped: e.clipped, bbox_px: [e.box.x1, e.box.y1, e.box.x2, e.box.y2] },
        page: pageMeta,
      },
    });
    sink.keep({ ...ref, sample_id: sample.id }, { ...sample, tier: sample.difficulty.tier });
  }
}

function describe(target: PageTarget, ctx: StageContext): string {
  return target.kind === 'file' ? relative(ctx.baseDir, target.path) : target.url;
}
