import type { Sharp } from 'sharp';

/**
 * How a model wants its pixels: uint8 RGB, `crop`×`crop`, row-major HWC. `squash` resizes the whole
 * image to the square (nsfwjs feeds its MobileNet this way; SigLIP's processor resizes to
 * height×width without a crop); `shortest_edge_crop` resizes the shorter side to `resize` and
 * centre-crops `crop` (CLIP's processor). Rescaling and mean/std happen inside the model graph or
 * the embedder, not here.
 */
export interface PixelSpec {
  mode: 'squash' | 'shortest_edge_crop';
  resize: number;
  crop: number;
  kernel: 'linear' | 'cubic' | 'lanczos3';
}

/** RGB uint8 pixels per the spec, from an opened (EXIF-rotated) sharp image. */
export async function modelPixels(image: Sharp, spec: PixelSpec): Promise<Uint8Array> {
  let pipeline: Sharp;
  if (spec.mode === 'squash') pipeline = image.resize(spec.crop, spec.crop, { fit: 'fill', kernel: spec.kernel });
  else {
    const { width = 0, height = 0 } = await image.clone().metadata().then((m) => ((m.orientation ?? 1) >= 5 ? { width: m.height, height: m.width } : m));
    const scale = spec.resize / Math.min(width, height);
    // HF processors: the short side becomes exactly `resize`, the long side int(long * resize / short)
    const w = width <= height ? spec.resize : Math.max(spec.resize, Math.floor(width * scale));
    const h = width <= height ? Math.max(spec.resize, Math.floor(height * scale)) : spec.resize;
    const resized = await image.resize(w, h, { fit: 'fill', kernel: spec.kernel }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const { default: sharp } = await import('sharp');
    const { width: rw, height: rh, channels } = resized.info;
    const left = Math.floor((w - spec.crop) / 2);
    const top = Math.floor((h - spec.crop) / 2);
    pipeline = sharp(resized.data, { raw: { width: rw, height: rh, channels } }).extract({ left, top, width: spec.crop, height: spec.crop });
  }
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) {
    const n = spec.crop * spec.crop;
    const rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = data[i * info.channels] as number;
    return rgb;
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
