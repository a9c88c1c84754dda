import type { Sample } from '../../../schemas/sample.js';
import type { SampleImage } from './media.js';
import { frameTimes, parseJson, type Placement } from './webdataset.js';

/**
 * One OBELICS / MMC4-shaped row: each content part is one position, text in `texts` with `null` in
 * `images`, or the other way round. Video frames keep GLM-4.1V's order (frame, `[t=…s]`, frame, …)
 * and their timestamps in `frame_times`.
 */
export function interleavedRow(sample: Sample, images: SampleImage[], placement: Placement): object {
  const texts: Array<string | null> = [];
  const staged: Array<{ bytes: string; path: string } | null> = [];
  let next = 0;
  for (const part of sample.content) {
    if (part.type === 'text') {
      texts.push(part.text);
      staged.push(null);
    } else if (part.type === 'image') {
      const img = images[next++] as SampleImage;
      texts.push(null);
      staged.push({ bytes: img.bytes.toString('base64'), path: `${img.media.id}.${img.ext}` });
    }
  }
  return {
    id: sample.id,
    texts,
    images: staged,
    frame_times: frameTimes(sample),
    source: sample.source,
    license: sample.license,
    lang: sample.lang,
    quality_score: placement.score,
    metadata: JSON.stringify({ dataset: sample.dataset, domain: sample.domain, meta: parseJson(sample.meta) }),
    kind: sample.kind,
    quality: placement.bucket,
  };
}
