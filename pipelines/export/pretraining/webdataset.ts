import type { Sample } from '../../../schemas/sample.js';
import { sha256Hex } from '../../shared/hash.js';
import type { SampleImage } from './media.js';
import type { TarMember } from './tar-shards.js';

/** A WebDataset key: no dots (they separate the extension) and no slashes; ids that are not plain become a hash. */
export function sampleKey(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : `h${sha256Hex(id).slice(0, 40)}`;
}

export interface Placement {
  bucket: string;
  score: number | null;
}

/** The text a caption-style loader reads from `.txt`: the sample's text parts in order. */
export function sampleText(sample: Sample): string {
  return sample.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
}

export function frameTimes(sample: Sample): number[] | null {
  if (sample.kind !== 'video') return null;
  try {
    const times = (JSON.parse(sample.signals.extra || '{}') as { frame_times?: unknown }).frame_times;
    return Array.isArray(times) && times.every((t) => typeof t === 'number') ? times : null;
  } catch {
    return null;
  }
}

/** Typed signals and the `extra` JSON object merged into one object. */
export function signalsOf(sample: Sample): object {
  const { extra, ...typed } = sample.signals;
  const parsed = parseJson(extra);
  return { ...typed, ...(parsed && typeof parsed === 'object' ? parsed : { extra: parsed }) };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return text;
  }
}

/**
 * One sample as WebDataset members, grouped by key: `<key>.jpg` (or `<key>.000.jpg`, `<key>.001.png`, …
 * when there are several images, in content order), `<key>.txt` and `<key>.json` with ids, content
 * order, task and boxes (0–999), frame timestamps and the quality score.
 */
export function webdatasetMembers(sample: Sample, key: string, images: SampleImage[], placement: Placement): TarMember[] {
  const names = images.map((img, i) => (images.length === 1 ? `${key}.${img.ext}` : `${key}.${String(i).padStart(3, '0')}.${img.ext}`));
  let next = 0;
  const content = sample.content.flatMap((p): object[] => {
    if (p.type === 'text') return [{ type: 'text', text: p.text }];
    if (p.type === 'image') return [{ type: 'image', member: names[next++], media_id: p.media_id }];
    return [];
  });
  const meta = {
    id: sample.id,
    key,
    dataset: sample.dataset,
    source: sample.source,
    kind: sample.kind,
    domain: sample.domain,
    license: sample.license,
    lang: sample.lang,
    quality: { bucket: placement.bucket, score: placement.score },
    images: images.map((img, i) => ({ member: names[i], media_id: img.media.id, mime: img.media.mime, width: img.media.width, height: img.media.height })),
    content,
    frame_times: frameTimes(sample),
    task: sample.task,
    signals: signalsOf(sample),
    meta: parseJson(sample.meta),
  };
  return [
    ...images.map((img, i) => ({ name: names[i] as string, bytes: img.bytes })),
    { name: `${key}.txt`, bytes: Buffer.from(sampleText(sample)) },
    { name: `${key}.json`, bytes: Buffer.from(JSON.stringify(meta)) },
  ];
}
