import type { ContentPart, MediaDescriptor } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import { imagePart, storeImage, textPart } from '../sample-builder.js';
import { area, height, width, type Rect } from './geometry.js';
import type { PageAnalysis } from './page-analysis.js';
import { blockText, medianLineSize, type TextBlock } from './page-text.js';
import type { PDFPageProxy } from './pdfjs.js';
import { readingOrder } from './reading-order.js';
import { rasterPng, renderPage } from './render-page.js';

export interface FigureOptions {
  renderDpi: number;
  minFigureSide: number;
  maxRenderPixels: number;
}

export interface PageContent {
  content: ContentPart[];
  media: MediaDescriptor[];
  figures: number;
  /** Images left out: too small to be figures, or page backgrounds behind the text. */
  skippedImages: { small: number; background: number };
}

type Region = { kind: 'text'; rect: Rect; block: TextBlock } | { kind: 'figure'; rect: Rect; media?: MediaDescriptor };

/**
 * A page as ordered content: text blocks and figure crops in reading order. Figures are the raster
 * images the page paints, cropped from the page rendered at `renderDpi` (so masks, clipping and
 * overlaid vector labels look as they do on the page); the page is rendered only when it has one.
 */
export async function pageContent(page: PDFPageProxy, analysis: PageAnalysis, opts: FigureOptions, ctx: StageContext): Promise<PageContent> {
  const scale = opts.renderDpi / 72;
  const pageArea = analysis.width * analysis.height;
  const skippedImages = { small: 0, background: 0 };
  const figures: Rect[] = [];
  for (const rect of analysis.images) {
    if (Math.min(width(rect), height(rect)) * scale < opts.minFigureSide) skippedImages.small++;
    else if (analysis.textChars > 0 && area(rect) > 0.9 * pageArea) skippedImages.background++;
    else figures.push(rect);
  }
  const regions: Region[] = [
    ...analysis.blocks.map((block): Region => ({ kind: 'text', rect: block.rect, block })),
    ...figures.map((rect): Region => ({ kind: 'figure', rect })),
  ];
  const media: MediaDescriptor[] = [];
  if (figures.length) {
    const raster = await renderPage(page, opts.renderDpi, opts.maxRenderPixels);
    for (const region of regions) {
      if (region.kind !== 'figure') continue;
      region.media = await storeImage(ctx, await rasterPng(raster, region.rect), ctx.baseDir);
      if (!media.some((m) => m.id === region.media?.id)) media.push(region.media);
    }
  }
  return { content: toParts(readingOrder(regions, Math.max(6, medianLineSize(analysis.blocks)))), media, figures: figures.length, skippedImages };
}

/** Consecutive text blocks become one text part (paragraphs separated by a blank line); each figure is an image part. */
function toParts(regions: Region[]): ContentPart[] {
  const parts: ContentPart[] = [];
  let text: string[] = [];
  const flush = (): void => {
    if (text.length) parts.push(textPart(text.join('\n\n')));
    text = [];
  };
  for (const region of regions) {
    if (region.kind === 'text') {
      const t = blockText(region.block);
      if (t) text.push(t);
    } else if (region.media) {
      flush();
      parts.push(imagePart(region.media));
    }
  }
  flush();
  return parts;
}
