import type { ContentPart, MediaDescriptor } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { Downloader } from '../media/download.js';
import { RecordError } from '../record-error.js';
import { imagePart, storeImage, textPart } from '../sample-builder.js';
import type { InterleavedSourceConfig } from './config.js';
import { isFile, type ParsedDocument } from './document.js';

export interface MaterialisedDocument {
  content: ContentPart[];
  /** Distinct images, in first-appearance order. */
  media: MediaDescriptor[];
  /** Images left out because they need the network: URL and the content index they would precede. */
  remoteImages: { url: string; position: number; alt: string | null; meta?: Record<string, unknown> }[];
  /** Images left out under `imageErrors: 'omit'` (unreadable, or a failed download). */
  omittedImages: { src: string; reason: string; message: string; position: number }[];
  /** Per stored image, its alt text and source fields, by content index. */
  imageMeta: { position: number; media_id: string; alt: string | null; meta?: Record<string, unknown> }[];
}

/**
 * Turns a parsed document into content parts: consecutive texts are joined with a blank line,
 * local and inline images are decoded and stored, remote ones are recorded or quarantine the
 * document, per the source's `remoteImages` and `imageErrors` policies (RecordError when quarantined).
 */
export async function materialise(ctx: StageContext, source: InterleavedSourceConfig, doc: ParsedDocument, downloader: Downloader | null): Promise<MaterialisedDocument> {
  const out: MaterialisedDocument = { content: [], media: [], remoteImages: [], omittedImages: [], imageMeta: [] };
  const seen = new Set<string>();
  let text: string[] = [];
  const flushText = (): void => {
    if (text.length) out.content.push(textPart(text.join('\n\n')));
    text = [];
  };
  for (const [index, item] of doc.items.entries()) {
    if (item.type === 'text') {
      if (item.text) text.push(item.text);
      continue;
    }
    flushText();
    const position = out.content.length;
    const { location } = item;
    if (location.kind === 'remote' && !downloader) {
      if (source.remoteImages === 'quarantine') {
        throw new RecordError('remote_image', `item ${index} is a remote image (${location.url}); set remoteImages: 'download' to fetch it, or 'record' to keep the document without it`);
      }
      out.remoteImages.push({ url: location.url, position, alt: item.alt, ...(item.meta ? { meta: item.meta } : {}) });
      continue;
    }
    const src = location.kind === 'local' ? location.path : location.kind === 'remote' ? location.url : `${location.data.slice(0, 64)}…`;
    let media: MediaDescriptor;
    let fetched: { url: string; final_url: string } | null = null;
    try {
      if (location.kind === 'local' && !isFile(location.path)) throw new RecordError('missing_image', `image file not found: ${location.path}`);
      let ref: unknown = location.kind === 'local' ? location.path : location.kind === 'inline' ? location.data : null;
      if (location.kind === 'remote') {
        const download = await (downloader as Downloader).fetch(location.url);
        fetched = { url: location.url, final_url: download.finalUrl };
        ref = download.bytes;
      }
      media = await storeImage(ctx, ref, ctx.baseDir);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      if (source.imageErrors === 'quarantine') throw new RecordError(err.reason, `item ${index} (${src}): ${err.message}; or set imageErrors: 'omit' to keep the document without it`);
      out.omittedImages.push({ src, reason: err.reason, message: err.message, position });
      continue;
    }
    out.content.push(imagePart(media));
    out.imageMeta.push({ position, media_id: media.id, alt: item.alt, ...(item.meta ? { meta: item.meta } : {}), ...(fetched ? { download: fetched } : {}) });
    if (!seen.has(media.id)) {
      seen.add(media.id);
      out.media.push(media);
    }
  }
  flushText();
  return out;
}
