import { inflateSync } from 'node:zlib';
import type { PDFDocumentProxy, PDFPageProxy } from './pdfjs.js';

/**
 * Where a PDF carries JavaScript. pdfjs never runs it (no scripting sandbox is created and `eval`
 * is off); we only report the triggers, never the code. Document-level triggers come from the
 * catalog (OpenAction, the /Names JavaScript tree, /AA); the object scan below catches action
 * dictionaries pdfjs does not surface (JavaScript link and outline actions), wherever they are stored.
 */
export async function documentScripts(doc: PDFDocumentProxy, bytes: Buffer): Promise<string[]> {
  const triggers = Object.keys((await doc.getJSActions()) ?? {}).map((k) => `document:${k}`);
  if (triggers.length === 0) triggers.push(...objectScripts(bytes).map((where) => `document:${where}`));
  return triggers;
}

/** Page open/close actions and annotation (form field, link) actions of one page. */
export async function pageScripts(page: PDFPageProxy): Promise<string[]> {
  const triggers = Object.keys((await page.getJSActions()) ?? {}).map((k) => `page:${k}`);
  for (const annotation of (await page.getAnnotations({ intent: 'any' })) as Array<{ subtype?: string; actions?: Record<string, unknown> | null }>) {
    for (const k of Object.keys(annotation.actions ?? {})) triggers.push(`annotation:${annotation.subtype ?? '?'}:${k}`);
  }
  return triggers;
}

/** Inflated stream bytes examined per document, so a deflate bomb cannot exhaust memory. */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/**
 * JavaScript actions in the file's objects: those written out in the body (`raw`) and those packed
 * into compressed object streams (`object-stream`, PDF 1.5+), which a byte scan of the file cannot
 * see. The objects are tokenised (strings, comments and stream data skipped) and names compared
 * after `#xx` escapes are decoded, so `/J#61vaScript` is `/JavaScript`. Returns where each kind
 * was found, e.g. `object-stream:/JavaScript`.
 */
export function objectScripts(bytes: Buffer): string[] {
  const found = new Set<string>();
  const text = bytes.toString('latin1');
  for (const hit of scriptNames(withoutStreamData(text))) found.add(`raw:${hit}`);
  let budget = MAX_INFLATED_BYTES;
  for (const stream of flateStreams(bytes, text)) {
    if (budget <= 0) break;
    let inflated: Buffer;
    try {
      inflated = inflateSync(stream, { maxOutputLength: budget, finishFlush: 2 /* Z_SYNC_FLUSH: keep what a damaged stream yields */ });
    } catch {
      continue;
    }
    budget -= inflated.length;
    for (const hit of scriptNames(inflated.toString('latin1'))) found.add(`object-stream:${hit}`);
  }
  return [...found];
}

/**
 * Names that make a JavaScript action: `/JavaScript` (the action type in `/S /JavaScript`, or the
 * names-tree key), or a `/JS` key whose value is a literal or hex string (a font resource called
 * /JS, `/JS 5 0 R`, is not; a JS stream is caught by its action's `/S /JavaScript`).
 */
function scriptNames(text: string): string[] {
  const hits = new Set<string>();
  for (const { raw, name, next } of pdfNames(text)) {
    if (name === 'JavaScript' || (name === 'JS' && (next === '(' || next === '<'))) hits.add(raw === name ? `/${name}` : `/${raw} (=/${name})`);
  }
  return [...hits];
}

const DELIMITER = /[\s\0/<>[\]{}()%]/;

/** Name tokens outside strings and comments, with the first character of the token after each (`<` only for a hex string). */
function* pdfNames(text: string): Generator<{ raw: string; name: string; next: string }> {
  let pending: { raw: string; name: string } | null = null;
  for (let i = 0; i < text.length; ) {
    const c = text[i] as string;
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\f' || c === '\0') {
      i++;
      continue;
    }
    const next = c === '<' && text[i + 1] === '<' ? '<<' : c;
    if (pending) {
      yield { ...pending, next };
      pending = null;
    }
    if (c === '%') {
      const eol = text.slice(i).search(/[\r\n]/);
      i = eol < 0 ? text.length : i + eol;
    } else if (c === '(') {
      i = skipLiteralString(text, i);
    } else if (next === '<') {
      const close = text.indexOf('>', i);
      i = close < 0 ? text.length : close + 1;
    } else if (c === '/') {
      let j = i + 1;
      while (j < text.length && !DELIMITER.test(text[j] as string)) j++;
      const raw = text.slice(i + 1, j);
      pending = { raw, name: decodeName(raw) };
      i = j;
    } else {
      i += next.length;
    }
  }
  if (pending) yield { ...pending, next: '' };
}

/** Index after the literal string opening at `open`: balanced parentheses, backslash escapes. */
function skipLiteralString(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return text.length;
}

/** The file with every stream's data cut out (binary data would read as stray strings). */
function withoutStreamData(text: string): string {
  let out = '';
  let from = 0;
  for (const m of text.matchAll(STREAM_START)) {
    const start = (m.index ?? 0) + m[0].length;
    if (start < from) continue;
    out += text.slice(from, start);
    const end = text.indexOf('endstream', start);
    from = end < 0 ? text.length : end;
  }
  return out + text.slice(from);
}

function decodeName(raw: string): string {
  return raw.includes('#') ? raw.replace(/#([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : raw;
}

/**
 * The data of every FlateDecode stream that is not an image (images are the bulk of a file and
 * never hold objects). The dictionary's names are decoded before they are read, like the rest.
 */
function* flateStreams(bytes: Buffer, text: string): Generator<Buffer> {
  for (const m of text.matchAll(STREAM_START)) {
    const start = (m.index ?? 0) + m[0].length;
    const dictStart = text.lastIndexOf('obj', m.index);
    if (dictStart < 0) continue;
    const names = [...pdfNames(text.slice(dictStart + 3, m.index))].map((n) => n.name);
    if (!names.includes('FlateDecode') && !names.includes('Fl')) continue;
    if (names.includes('Image')) continue;
    const end = text.indexOf('endstream', start);
    yield bytes.subarray(start, end < 0 ? bytes.length : end);
  }
}

/** The `stream` keyword after a dictionary, and its end-of-line. */
const STREAM_START = />>[\s\0]*stream\r?\n/g;
