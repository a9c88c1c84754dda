import sharp from 'sharp';

/** A seeded pseudo-random generator (xorshift32) for reproducible fixtures. */
export function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * A photo-like scene: a gradient sky, a ground band and a dozen coloured shapes whose positions,
 * sizes and colours depend on the seed. Distinct seeds give distinct compositions, not noise.
 */
export async function makeScene(seed: number, width = 640, height = 480): Promise<Buffer> {
  const r = rng(seed);
  const colour = (): string => `rgb(${Math.floor(r() * 256)},${Math.floor(r() * 256)},${Math.floor(r() * 256)})`;
  const shapes: string[] = [];
  for (let i = 0; i < 12; i++) {
    const x = r() * width;
    const y = r() * height;
    const s = 20 + r() * width * 0.25;
    shapes.push(
      r() < 0.5
        ? `<circle cx="${x}" cy="${y}" r="${s / 2}" fill="${colour()}"/>`
        : `<rect x="${x - s / 2}" y="${y - s / 3}" width="${s}" height="${(s * 2) / 3}" fill="${colour()}" transform="rotate(${r() * 90} ${x} ${y})"/>`,
    );
  }
  const horizon = height * (0.4 + r() * 0.3);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="${r()}" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/><rect y="${horizon}" width="100%" height="${height - horizon}" fill="${colour()}" opacity="0.8"/>
    ${shapes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** The edits near-duplicate detection must see through. */
export const EDITS = {
  copy: async (b: Buffer) => b,
  resized: async (b: Buffer) => sharp(b).resize(320, 240).jpeg({ quality: 85 }).toBuffer(),
  reencoded: async (b: Buffer) => sharp(b).jpeg({ quality: 40 }).toBuffer(),
  cropped: async (b: Buffer) => {
    const { width = 0, height = 0 } = await sharp(b).metadata();
    return sharp(b).extract({ left: Math.round(width * 0.025), top: Math.round(height * 0.025), width: Math.round(width * 0.95), height: Math.round(height * 0.95) }).jpeg({ quality: 90 }).toBuffer();
  },
  brightened: async (b: Buffer) => sharp(b).modulate({ brightness: 1.15 }).jpeg({ quality: 90 }).toBuffer(),
  flipped: async (b: Buffer) => sharp(b).flop().jpeg({ quality: 90 }).toBuffer(),
} as const;

/** Seeded word sequences over a fixed vocabulary: documents for MinHash tests. */
export function makeDocument(seed: number, words = 150): string[] {
  const r = rng(seed + 7919);
  return Array.from({ length: words }, () => `w${Math.floor(r() * 5000)}`);
}

/** A copy of a document with `count` of its words (at seeded positions) replaced by others. */
export function perturb(doc: string[], count: number, seed: number): string[] {
  const r = rng(seed + 104729);
  const out = [...doc];
  for (let k = 0; k < count; k++) out[Math.floor(r() * out.length)] = `x${k}-${Math.floor(r() * 5000)}`;
  return out;
}
