import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import { isRemoteUrl, type Downloader } from '../media/download.js';
import { ingestImage, type ImageAnalysis } from '../media/load-image.js';
import { RecordError } from '../record-error.js';
import { buildSample, imagePart, textPart } from '../sample-builder.js';
import { cleanCaption, type CaptionRead } from './captions.js';
import type { CaptionSourceConfig } from './config.js';

/** One image with whatever captions were found for it, from any layout. */
export interface CaptionItem {
  uri: string;
  locator: string;
  /** Path, bytes, base64, data: URL, `{bytes, path}` or http(s) URL; null/undefined when the input has none. */
  image: unknown;
  /** Folder relative image paths resolve against. */
  imageBase: string;
  /** null: the input has no caption source at all (no sidecar, no caption member). */
  captions: CaptionRead | null;
  recordId?: string | null;
  license?: string | null;
  meta: Record<string, unknown>;
  /** The raw input, kept in quarantine details. */
  raw: string;
}

export interface CaptionEnv {
  source: CaptionSourceConfig;
  ctx: StageContext;
  downloader: Downloader | null;
}

/** One input decision: an (image, caption) pair, or the image alone. */
interface Slot {
  locator: string;
  recordId: string | null;
  caption: string | null;
  /** Set when the slot is refused without looking at the image. */
  refusal?: { reason: string; message: string };
}

/**
 * Turns one item into decisions: with `captions: each` every caption is its own input (and sample),
 * with `first` the image is one input. The image is fetched, decoded and stored once for all of them.
 */
export async function emitCaptionItem(item: CaptionItem, env: CaptionEnv, sink: UnitSink): Promise<void> {
  const { source } = env;
  const { slots, otherCaptions } = planSlots(item, source);
  sink.inputs(slots.length);
  const ref = (slot: Slot) => ({ sample_id: null, source_uri: item.uri, locator: slot.locator });
  const quarantine = (slot: Slot, reason: string, message: string): void => sink.quarantine(ref(slot), reason, { message, raw: item.raw });

  const pending = slots.filter((slot) => {
    if (slot.refusal) quarantine(slot, slot.refusal.reason, slot.refusal.message);
    return !slot.refusal;
  });
  if (pending.length === 0) return;

  let analysis: ImageAnalysis;
  let download: { url: string; final_url: string } | null = null;
  try {
    if (item.image === null || item.image === undefined || item.image === '') throw new RecordError('missing_image', 'the input names no image');
    let imageRef = item.image;
    if (isRemoteUrl(imageRef)) {
      if (!env.downloader) throw new RecordError('remote_image', `${imageRef} is a URL and source ${source.name} does not download; add \`download: {}\` to it`);
      const fetched = await env.downloader.fetch(imageRef);
      download = { url: imageRef, final_url: fetched.finalUrl };
      imageRef = fetched.bytes;
    }
    analysis = await ingestImage(imageRef, item.imageBase, { maxPixels: env.ctx.config.ingest.maxImagePixels, blobs: env.ctx.blobs });
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    for (const slot of pending) quarantine(slot, err.reason, err.message);
    return;
  }

  const media = analysis.descriptor;
  for (const slot of pending) {
    const sample = buildSample(env.ctx, {
      source,
      uri: item.uri,
      locator: slot.locator,
      recordId: slot.recordId,
      kind: 'caption',
      domain: source.domain,
      license: item.license ?? null,
      content: slot.caption === null ? [imagePart(media)] : [imagePart(media), textPart(slot.caption)],
      media: [media],
      signals: { caption_chars: slot.caption?.length ?? 0 },
      meta: { ...item.meta, ...(otherCaptions.length ? { other_captions: otherCaptions } : {}), ...(download ? { download } : {}) },
    });
    sink.keep({ ...ref(slot), sample_id: sample.id }, { ...sample, tier: sample.difficulty.tier });
  }
}

function planSlots(item: CaptionItem, source: CaptionSourceConfig): { slots: Slot[]; otherCaptions: string[] } {
  const whole: Slot = { locator: item.locator, recordId: item.recordId ?? null, caption: null };
  if (item.captions && !item.captions.ok) return { slots: [{ ...whole, refusal: item.captions }], otherCaptions: [] };
  const captions = (item.captions?.captions ?? []).map(cleanCaption);
  const usable = captions.filter((c) => c.length > 0);
  if (usable.length === 0) {
    if (!source.requireCaption) return { slots: [whole], otherCaptions: [] };
    const refusal = captions.length
      ? { reason: 'empty_caption', message: 'the caption is empty; fix the input, or set requireCaption: false to keep the image alone' }
      : { reason: 'missing_caption', message: `no caption found (${describeCaptionSource(source)}); add one, or set requireCaption: false to keep the image alone` };
    return { slots: [{ ...whole, refusal }], otherCaptions: [] };
  }
  if (source.captions === 'first') return { slots: [{ ...whole, caption: usable[0] as string }], otherCaptions: usable.slice(1) };
  const slots = captions.map((caption, i): Slot => {
    const slot: Slot = { locator: `${item.locator}#caption:${i}`, recordId: item.recordId ? `${item.recordId}#caption:${i}` : null, caption };
    return caption ? slot : { ...slot, refusal: { reason: 'empty_caption', message: `caption ${i} of this image is empty` } };
  });
  return { slots, otherCaptions: [] };
}

function describeCaptionSource(source: CaptionSourceConfig): string {
  switch (source.layout) {
    case 'folder':
      return `looked for a sidecar ${source.captionExtensions.map((e) => `.${e}`).join(' / ')} and the fields ${source.captionFields.join(' / ')} inside JSON`;
    case 'webdataset':
      return `looked for a member ${source.captionExtensions.map((e) => `.${e}`).join(' / ')} with the same key`;
    case 'records':
      return `looked at ${[source.fields?.captions ?? []].flat().join(' + ')}`;
    case 'coco-captions':
      return 'no annotation has this image_id';
  }
}

