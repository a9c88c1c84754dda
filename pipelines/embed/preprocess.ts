import type { Sharp } from 'sharp';
import { pilResize } from './pil-resize.js';

/**
 * How a model wants its pixels: uint8 RGB, `crop`×`crop`, row-major HWC. `squash` resizes the whole
 * image to the square (nsfwjs feeds its MobileNet this way; SigLIP's processor resizes to
 * height×width without a crop); `shortest_edge_crop` resizes the shorter side to `resize` and
 * centre-crops `crop` (CLIP's processor). With `pilResample` (a PIL resample code, as
 * `preprocessor_config.json` names it) the resize is Pillow's, to the pixel (`pil-resize.ts`);
 * without it, libvips' `kernel` (the built-in model, fed as nsfwjs feeds it). Rescaling and
 * mean/std happen inside the model graph or the embedder, not here.
 */
export interface PixelSpec {
  mode: 'squash' | 'shortest_edge_crop';
  resize: number;
  crop: number;
  kernel: 'linear' | 'cubic' | 'lanczos3';
  pilResample?: number;
}

/** The resized size before the crop: HF's `get_resize_output_image_size` (short side = `resize`, long side int(resize·long/short)). */
export function resizedSize(width: number, height: number, spec: PixelSpec): { w: number; h: number } {
  if (spec.mode === 'squash') return { w: spec.crop, h: spec.crop };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((spec.resize * long) / short);
  return width <= height ? { w: spec.resize, h: newLong } : { w: newLong, h: spec.resize };
}

/** RGB uint8 pixels per the spec, from an opened (EXIF-rotated) sharp image. */
export async function modelPixels(image: Sharp, spec: PixelSpec): Promise<Uint8Array> {
  if (spec.pilResample !== undefined) return pilPixels(image, spec, spec.pilResample);
  let pipeline: Sharp;
  if (spec.mode === 'squash') pipeline = image.resize(spec.crop, spec.crop, { fit: 'fill', kernel: spec.kernel });
  else {
    const { width = 0, height = 0 } = await image.clone().metadata().then((m) => ((m.orientation ?? 1) >= 5 ? { width: m.height, height: m.width } : m));
    const { w, h } = resizedSize(width, height, spec);
    const resized = await image.resize(w, h, { fit: 'fill', kernel: spec.kernel }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const { default: sharp } = await import('sharp');
    const { width: rw, height: rh, channels } = resized.info;
    const left = Math.floor((w - spec.crop) / 2);
    const top = Math.floor((h - spec.crop) / 2);
    pipeline = sharp(resized.data, { raw: { width: rw, height: rh, channels } }).extract({ left, top, width: spec.crop, height: spec.crop });
  }
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return toRgb(data, info.channels, spec.crop * spec.crop);
}

/**
 * The Hugging Face PIL processor's pixels: the full image decoded to 8-bit RGB (alpha dropped, not
 * composited, as PIL's `convert('RGB')` does; grey replicated), Pillow's resize, then HF's centre
 * crop (offsets floor((size − crop) / 2)).
 */
async function pilPixels(image: Sharp, spec: PixelSpec, resample: number): Promise<Uint8Array> {
  const { data, info } = await image.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const rgb = toRgb(data, info.channels, info.width * info.height);
  const { w, h } = resizedSize(info.width, info.height, spec);
  if (w < spec.crop || h < spec.crop) throw new Error(`preprocess: crop ${spec.crop} is larger than the resized ${w}×${h} image`);
  // only the crop's pixels are resized (pil-resize.ts computes each output pixel on its own)
  const box = { left: Math.floor((w - spec.crop) / 2), top: Math.floor((h - spec.crop) / 2), width: spec.crop, height: spec.crop };
  return pilResize(rgb, info.width, info.height, w, h, resample, box);
}

function toRgb(data: Buffer, channels: number, n: number): Uint8Array {
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = data[i * channels] as number;
  return rgb;
}
