import type { Matrix, Rect } from './geometry.js';
import { area } from './geometry.js';
import { imagePlacements } from './page-images.js';
import { textBlocks, type TextBlock } from './page-text.js';
import { loadPdfjs, type PDFPageProxy } from './pdfjs.js';
import { pageScripts } from './scripts.js';

/** What a page holds, before any rendering: text blocks and raster image placements in the rendered frame. */
export interface PageAnalysis {
  number: number;
  /** Page size in points after rotation and cropping. */
  width: number;
  height: number;
  blocks: TextBlock[];
  images: Rect[];
  textChars: number;
  /** Letters of right-to-left scripts (Arabic, Hebrew, ...) in the text layer: see `rtlTextLayerMessage`. */
  rtlLetters: number;
  /** JavaScript triggers on the page (page actions, annotation actions); never executed. */
  scripts: string[];
}

export type PageClass = 'text' | 'image-only' | 'blank';

const RTL_LETTER = /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}]/gu;

/**
 * Why a page with right-to-left text has no usable text layer. pdf.js gives such text out of
 * reading order: it reverses each right-to-left run character by character, so a ligature glyph
 * whose ToUnicode entry is two letters (Arabic lam-alef, in nearly every Arabic line) comes out
 * with its letters swapped ("الإنتاجية" reads "اإلنتاجية"), and the words of a line that mixes
 * directions come out in another order ("שלום עולם hello" reads "hello שלום עולם"). No later step
 * can tell a swapped pair from a real one, so such text would be wrong ground truth, silently.
 */
export function rtlTextLayerMessage(page: PageAnalysis, remedy: string): string {
  return `page ${page.number} has right-to-left text (${page.rtlLetters} Arabic, Hebrew or other RTL letters), which pdf.js returns out of reading order (ligatures such as lam-alef reversed, mixed-direction lines reordered), so its text layer cannot be trusted; ${remedy}`;
}

export async function analysePage(page: PDFPageProxy): Promise<PageAnalysis> {
  const pdfjs = await loadPdfjs();
  const viewport = page.getViewport({ scale: 1 });
  const transform = viewport.transform as Matrix;
  const frame: Rect = { x1: 0, y1: 0, x2: viewport.width, y2: viewport.height };
  const [content, ops, scripts] = await Promise.all([page.getTextContent(), page.getOperatorList(), pageScripts(page)]);
  const blocks = textBlocks(content, transform);
  return {
    number: page.pageNumber,
    width: viewport.width,
    height: viewport.height,
    blocks,
    images: imagePlacements(ops, pdfjs.OPS, transform, frame),
    textChars: blocks.reduce((n, b) => n + b.lines.reduce((m, l) => m + l.text.replace(/\s/g, '').length, 0), 0),
    rtlLetters: blocks.reduce((n, b) => n + b.lines.reduce((m, l) => m + (l.text.match(RTL_LETTER) ?? []).length, 0), 0),
    scripts,
  };
}

/** The share of the page that raster images cover (overlaps counted once when images were merged). */
export function imageCoverage(page: PageAnalysis): number {
  return Math.min(1, page.images.reduce((n, r) => n + area(r), 0) / Math.max(1, page.width * page.height));
}

/**
 * `image-only`: (almost) no text layer while images cover a real part of the page: a scan or a
 * page photographed into a PDF, which only OCR can read. `blank`: neither text nor images.
 */
export function classifyPage(page: PageAnalysis, minTextChars: number, minImageCoverage = 0.05): PageClass {
  if (page.textChars >= minTextChars) return 'text';
  return imageCoverage(page) >= minImageCoverage ? 'image-only' : 'blank';
}
