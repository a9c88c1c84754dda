import type { Sample } from '../../../schemas/sample.js';

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
