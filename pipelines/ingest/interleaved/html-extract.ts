import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';

export type HtmlBlock = { type: 'text'; text: string } | { type: 'image'; src: string; alt: string | null };

export interface ExtractedPage {
  title: string | null;
  blocks: HtmlBlock[];
  /** Whether Readability found the main content (else the whole body was walked). */
  readability: boolean;
}

/** Minimal DOM node shape shared by linkedom's nodes (the project compiles without the DOM lib). */
interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
  getAttribute?(name: string): string | null;
}

const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'IFRAME', 'OBJECT', 'CANVAS', 'BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'FORM', 'HEAD']);
/** Page chrome, skipped when walking a body without Readability. */
const BOILERPLATE = new Set(['NAV', 'HEADER', 'FOOTER', 'ASIDE']);
const BLOCK = new Set([
  'P', 'DIV', 'SECTION', 'ARTICLE', 'MAIN', 'BLOCKQUOTE', 'FIGURE', 'FIGCAPTION', 'TABLE', 'THEAD', 'TBODY', 'TFOOT', 'TR', 'CAPTION',
  'UL', 'OL', 'DL', 'DT', 'DD', 'ADDRESS', 'DETAILS', 'SUMMARY', 'HR', 'BODY', 'HTML', 'NAV', 'HEADER', 'FOOTER', 'ASIDE',
]);

/**
 * The main content of an HTML page as ordered text blocks and images: Readability (on linkedom)
 * removes navigation, ads and other boilerplate, then the cleaned DOM is walked in document order.
 * Headings become `#` lines, list items `- ` lines, `<pre>` keeps its line breaks, and each `<img>`
 * (its `src`, or `data-src` for lazy-loaded images) splits the text where it stands.
 */
export function extractHtml(html: string, useReadability: boolean, maxDepth = Number.POSITIVE_INFINITY): ExtractedPage {
  const { document } = parseHTML(asDocument(html));
  // Readability's time grows with the square of the nesting depth (500 levels: 4 s; 2,000: minutes),
  // and the walk below recurses once per level: refuse deeper documents before either runs.
  const depth = domDepth(document.documentElement as unknown as DomNode, maxDepth);
  if (depth > maxDepth) throw new HtmlBudgetError('html_too_deep', `the document nests elements more than ${maxDepth} levels deep (maxHtmlDepth); real pages stay far below, so this is generated or hostile markup`);
  const title = (document.title || '').trim() || null;
  if (useReadability) {
    const article = new Readability(document as never, { charThreshold: 0 }).parse();
    if (article?.content) {
      const { document: cleaned } = parseHTML(`<!doctype html><html><body>${article.content}</body></html>`);
      const blocks = walk(cleaned.body as unknown as DomNode, false);
      if (blocks.length) return { title: article.title?.trim() || title, blocks, readability: true };
    }
  }
  const { document: fresh } = parseHTML(asDocument(html));
  return { title, blocks: walk(fresh.body as unknown as DomNode, true), readability: false };
}

/** Why a page was refused before extraction; `reason` becomes the quarantine reason. */
export class HtmlBudgetError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The element nesting depth below `root`, counted without recursion; stops counting past `limit`. */
function domDepth(root: DomNode | null, limit: number): number {
  if (!root) return 0;
  let max = 0;
  const stack: Array<[DomNode, number]> = [[root, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop() as [DomNode, number];
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (let i = 0; i < node.childNodes.length; i++) {
      const child = node.childNodes[i] as DomNode;
      if (child.nodeType === 1) stack.push([child, depth + 1]);
    }
  }
  return max;
}

/** Fragments (a saved `<body>…</body>` or bare `<p>`s) get the html/body around them that linkedom needs. */
function asDocument(html: string): string {
  if (/<html[\s>]/i.test(html)) return html;
  return `<!doctype html><html><body>${html.replace(/<\/?body[^>]*>/gi, '')}</body></html>`;
}

function walk(root: DomNode, skipBoilerplate: boolean): HtmlBlock[] {
  const blocks: HtmlBlock[] = [];
  let buffer = '';
  let prefix = '';
  const flush = (): void => {
    const text = buffer.replace(/[ \t\r\f\v\u00a0]+/g, ' ').replace(/ *\n */g, '\n').replace(/¶/g, '').trim();
    if (text) blocks.push({ type: 'text', text: prefix + text });
    buffer = '';
    prefix = '';
  };
  const visit = (node: DomNode): void => {
    if (node.nodeType === 3) {
      buffer += (node.textContent ?? '').replace(/\s+/g, ' ');
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = node.nodeName.toUpperCase();
    if (SKIP.has(tag) || (skipBoilerplate && BOILERPLATE.has(tag))) return;
    if (tag === 'IMG') {
      const src = node.getAttribute?.('src') || node.getAttribute?.('data-src');
      if (!src) return;
      flush();
      blocks.push({ type: 'image', src, alt: node.getAttribute?.('alt')?.trim() || null });
      return;
    }
    if (tag === 'BR') {
      buffer += '\n';
      return;
    }
    if (tag === 'PRE') {
      flush();
      const code = (node.textContent ?? '').replace(/^\n+|\s+$/g, '');
      if (code) blocks.push({ type: 'text', text: code });
      return;
    }
    const heading = /^H([1-6])$/.exec(tag);
    if (heading || tag === 'LI') {
      flush();
      prefix = heading ? `${'#'.repeat(Number(heading[1]))} ` : '- ';
      visitChildren(node);
      flush();
      return;
    }
    if (tag === 'TD' || tag === 'TH') {
      visitChildren(node);
      buffer += ' | ';
      return;
    }
    const block = BLOCK.has(tag);
    if (block) flush();
    visitChildren(node);
    if (block) flush();
  };
  const visitChildren = (node: DomNode): void => {
    for (let i = 0; i < node.childNodes.length; i++) visit(node.childNodes[i] as DomNode);
  };
  visit(root);
  flush();
  return blocks.map((b) => (b.type === 'text' ? { ...b, text: b.text.replace(/(\s*\|\s*)+$/g, '').replace(/^(- |#+ )?\s*\|\s*/, '$1') } : b));
}
