import type { Sample } from '../../../schemas/sample.js';
import { imageDataUrl, type ChatContentPart } from '../../difficulty/rollout-client.js';
import type { BlobStore } from '../../shared/store/blob-store.js';

export type ImagePart = { type: 'image'; text: null; media_id: string };

/** The sample's text parts in order, joined by newlines. */
export function contentText(sample: Sample): string {
  return sample.content
    .filter((p) => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

export function imageParts(sample: Sample): ImagePart[] {
  return sample.content.filter((p): p is ImagePart => p.type === 'image');
}

/** The images as chat content parts (data: URLs), in order. */
export async function imageContent(sample: Sample, images: readonly ImagePart[], blobs: BlobStore): Promise<ChatContentPart[]> {
  const parts: ChatContentPart[] = [];
  for (const part of images) {
    const mime = sample.media.find((m) => m.id === part.media_id)?.mime ?? 'image/png';
    parts.push({ type: 'image_url', image_url: { url: imageDataUrl(await blobs.get(part.media_id), mime) } });
  }
  return parts;
}
