import type { MediaDescriptor, Sample } from '../../../schemas/sample.js';
import type { BlobStore } from '../../shared/store/blob-store.js';

/** File extensions loaders decode by (webdataset's decoders, PIL, HF datasets' Image feature). */
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/tiff': 'tiff',
  'image/avif': 'avif',
};

export interface SampleImage {
  media: MediaDescriptor;
  ext: string;
  bytes: Buffer;
}

export class MediaError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The image parts of a sample in content order, bytes from the blob store (one sample in memory at a time). */
export async function loadImages(sample: Sample, blobs: BlobStore): Promise<SampleImage[]> {
  const byId = new Map(sample.media.map((m) => [m.id, m]));
  const images: SampleImage[] = [];
  for (const part of sample.content) {
    if (part.type !== 'image') continue;
    const media = byId.get(part.media_id);
    if (!media) throw new MediaError('media_not_described', `content names image ${part.media_id} that the sample's media list lacks`);
    const ext = EXTENSIONS[media.mime.toLowerCase()];
    if (!ext) throw new MediaError('unsupported_image_type', `image ${media.id} has mime ${media.mime}, which no image loader decodes`);
    if (!blobs.has(media.id)) throw new MediaError('missing_blob', `image ${media.id} is not in the blob store`);
    images.push({ media, ext, bytes: await blobs.get(media.id) });
  }
  return images;
}
