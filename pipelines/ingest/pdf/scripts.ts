import type { PDFDocumentProxy, PDFPageProxy } from './pdfjs.js';

/**
 * Where a PDF carries JavaScript. pdfjs never runs it (no scripting sandbox is created and `eval`
 * is off); we only report the triggers, never the code. Document-level triggers come from the
 * catalog (OpenAction, the /Names JavaScript tree, /AA); a raw byte scan also catches action
 * dictionaries pdfjs does not surface (e.g. JavaScript link actions in uncompressed objects).
 */
export async function documentScripts(doc: PDFDocumentProxy, bytes: Buffer): Promise<string[]> {
  const triggers = Object.keys((await doc.getJSActions()) ?? {}).map((k) => `document:${k}`);
  if (triggers.length === 0 && hasJavaScriptToken(bytes)) triggers.push('document:raw-/JavaScript');
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

/** `/JavaScript` or `/JS` as PDF name tokens (followed by a delimiter), anywhere in the raw bytes. */
function hasJavaScriptToken(bytes: Buffer): boolean {
  for (const token of ['/JavaScript', '/JS']) {
    for (let at = bytes.indexOf(token); at >= 0; at = bytes.indexOf(token, at + 1)) {
      const next = bytes[at + token.length];
      if (next === undefined || /[\s/<>[\]()%]/.test(String.fromCharCode(next))) return true;
    }
  }
  return false;
}
