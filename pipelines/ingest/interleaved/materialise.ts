import type { ContentPart, MediaDescriptor } from '../../../schemas/sample.js';
import type { StageContext } from '../../shared/runner/stage.js';
import { RecordError } from '../record-error.js';
import { imagePart, storeImage, textPart } from '../sample-builder.js';
import type { InterleavedSourceConfig } from './config.js';
import type { ParsedDocument } from './document.js';

export interface MaterialisedDocument {
  content: ContentPart[];
  /** Distinct images, in first-appearance order. */
  media: MediaDescriptor[];
  /** Images left out because they need the network: URL and the content index they would precede. */
  remoteImages: { url: string; position: number; alt: string | null; meta?: Record<string, unknown> }[];
  /** Local images left out under `imageErrors: 'omit'`. */
  omittedImages: { src: string; reason: string; message: string; position: number }[];
  /** Per stored image, its alt text and source fields, by content index. */
  imageMeta: { position: number; media_id: string; alt: string | null; meta?: Record<string, unknown> }[];
}

/**
 * Turns a parsed document into content parts: consecutive texts are joined with a blank line,
 * local and inline images are decoded and stored, remote ones are recorded or quarantine the
 * document, per the source's `remoteImages` and `imageErrors` policies (RecordError when quarantined).
 */
export async function materialise(ctx: StageContext, source: InterleavedSourceConfig, doc: ParsedDocument): Promise<MaterialisedDocument> {
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
    if (location.kind === 'remote') {
      if (source.remoteImages === 'quarantine') {
        throw new RecordError('remote_image', `item ${index} is a remote image (${location.url}); nothing is downloaded here: fetch the images first, or set remoteImages: 'record'`);
      }
      out.remoteImages.push({ url: location.url, position, alt: item.alt, ...(item.meta ? { meta: item.meta } : {}) });
      continue;
    }
    let media: MediaDescriptor;
    try {
      media = await storeImage(ctx, location.kind === 'local' ? location.path : location.data, ctx.baseDir);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      const src = location.kind === 'local' ? location.path : `${location.data.slice(0, 64)}…`;
      if (source.imageErrors === 'quarantine') throw new RecordError(err.reason, `item ${index} (${src}): ${err.message}; or set imageErrors: 'omit' to keep the document without it`);
      out.omittedImages.push({ src, reason: err.reason, message: err.message, position });
      continue;
    }
    out.content.push(imagePart(media));
    out.imageMeta.push({ position, media_id: media.id, alt: item.alt, ...(item.meta ? { meta: item.meta } : {}) });
    if (!seen.has(media.id)) {
      seen.add(media.id);
      out.media.push(media);
    }
  }
  flushText();
  return out;
}
