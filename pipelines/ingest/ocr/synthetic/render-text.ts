import { createCanvas, GlobalFonts, ImageData, type SKRSContext2D } from '@napi-rs/canvas';
import type { PixelBox } from '../../grounding/boxes.js';
import type { Random } from './random.js';

export interface TextStyleRanges {
  fonts: readonly string[];
  fontSize: readonly [number, number];
  lines: readonly [number, number];
  maxChars: number;
  maxRotation: number;
}

export interface DrawnLine {
  text: string;
  /** Axis-aligned bounds of the rotated ink, stroke included, in image pixels. */
  box: PixelBox;
  font: string;
  size: number;
  angle: number;
  color: string;
}

/** An RGBA background (straight alpha, opaque). */
export interface Background {
  data: Buffer;
  width: number;
  height: number;
}

const MARGIN = 2;
const PLACEMENT_TRIES = 30;

/** Text font families among the registered (system) fonts: math, symbol and emoji fonts left out. */
export function defaultFontFamilies(): string[] {
  return GlobalFonts.families.map((f) => f.family).filter((f) => !/math|symbol|emoji|dingbat/i.test(f)).sort();
}

export function unknownFonts(fonts: readonly string[]): string[] {
  const known = new Set(GlobalFonts.families.map((f) => f.family));
  return fonts.filter((f) => !known.has(f));
}

/**
 * Draws 1..n lines of corpus text onto the background: each in a random font, weight, size,
 * colour (contrasting with the background under it) and rotation, fully inside the image and
 * clear of the lines drawn before. Returns the encoded JPEG and the lines with their boxes.
 */
export async function renderTextOnBackground(background: Background, corpus: readonly string[], style: TextStyleRanges, rng: Random): Promise<{ image: Buffer; lines: DrawnLine[] }> {
  const canvas = createCanvas(background.width, background.height);
  const ctx = canvas.getContext('2d');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(background.data.buffer, background.data.byteOffset, background.data.length), background.width, background.height), 0, 0);
  const lines: DrawnLine[] = [];
  const wanted = rng.int(style.lines[0], style.lines[1]);
  for (let i = 0; i < wanted; i++) {
    const line = placeLine(ctx, background, lines, corpus, style, rng);
    if (line) lines.push(line);
  }
  lines.sort((a, b) => a.box.y1 - b.box.y1 || a.box.x1 - b.box.x1);
  return { image: await canvas.encode('jpeg', 92), lines };
}

function placeLine(ctx: SKRSContext2D, bg: Background, drawn: DrawnLine[], corpus: readonly string[], style: TextStyleRanges, rng: Random): DrawnLine | null {
  const text = cutAtWord(rng.pick(corpus), style.maxChars);
  const family = rng.pick(style.fonts);
  const weight = rng.chance(0.3) ? 'bold' : 'normal';
  const italic = rng.chance(0.15) ? 'italic ' : '';
  let size = rng.int(style.fontSize[0], style.fontSize[1]);
  const angle = (rng.uniform(-style.maxRotation, style.maxRotation) * Math.PI) / 180;
  const wantsOutline = rng.chance(0.25);
  for (let attempt = 0; attempt < PLACEMENT_TRIES; attempt++) {
    const font = `${italic}${weight} ${size}px "${family}"`;
    ctx.font = font;
    const m = ctx.measureText(text);
    // Room for an outline is reserved while placing; the box reports only the ink actually drawn.
    const pad = Math.max(1, size / 12);
    const ink = (p: number): PixelBox => ({ x1: -m.actualBoundingBoxLeft - p, y1: -m.actualBoundingBoxAscent - p, x2: m.actualBoundingBoxRight + p, y2: m.actualBoundingBoxDescent + p });
    const room = rotatedBounds(ink(pad), angle);
    if (room.x2 - room.x1 > bg.width - 2 * MARGIN || room.y2 - room.y1 > bg.height - 2 * MARGIN) {
      // too large for this background: shrink and retry
      size = Math.floor(size * 0.8);
      if (size < style.fontSize[0] * 0.5 || size < 6) return null;
      continue;
    }
    const tx = rng.uniform(MARGIN - room.x1, bg.width - MARGIN - room.x2);
    const ty = rng.uniform(MARGIN - room.y1, bg.height - MARGIN - room.y2);
    const shift = (r: PixelBox): PixelBox => ({ x1: r.x1 + tx, y1: r.y1 + ty, x2: r.x2 + tx, y2: r.y2 + ty });
    if (drawn.some((d) => overlaps(d.box, shift(room), 4))) continue;
    const under = luminanceRange(bg, shift(room));
    // A busy background (light and dark under the same line) gets an outline so every glyph stays legible.
    const stroked = wantsOutline || under.p90 - under.p10 > 0.35;
    const { fill, outline } = contrastingColours(under.mean, rng);
    ctx.save();
    ctx.translate(tx, ty);
    ctx.rotate(angle);
    if (stroked) {
      ctx.lineWidth = pad * 2;
      ctx.lineJoin = 'round';
      ctx.strokeStyle = outline;
      ctx.strokeText(text, 0, 0);
    }
    ctx.fillStyle = fill;
    ctx.fillText(text, 0, 0);
    ctx.restore();
    const box = shift(rotatedBounds(ink(stroked ? pad : 0), angle));
    return { text, box: { x1: Math.floor(box.x1), y1: Math.floor(box.y1), x2: Math.ceil(box.x2), y2: Math.ceil(box.y2) }, font, size, angle: (angle * 180) / Math.PI, color: fill };
  }
  return null;
}

function cutAtWord(line: string, maxChars: number): string {
  if (line.length <= maxChars) return line;
  const cut = line.slice(0, maxChars + 1);
  const space = cut.lastIndexOf(' ');
  return (space > maxChars / 2 ? cut.slice(0, space) : line.slice(0, maxChars)).trim();
}

function rotatedBounds(r: PixelBox, angle: number): PixelBox {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const pts = [
    [r.x1, r.y1],
    [r.x2, r.y1],
    [r.x1, r.y2],
    [r.x2, r.y2],
  ].map(([x, y]) => [(x as number) * cos - (y as number) * sin, (x as number) * sin + (y as number) * cos] as const);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

function overlaps(a: PixelBox, b: PixelBox, gap: number): boolean {
  return a.x1 < b.x2 + gap && b.x1 < a.x2 + gap && a.y1 < b.y2 + gap && b.y1 < a.y2 + gap;
}

/** Relative luminance (0–1) of the background under a box: mean and 10th/90th percentiles over a grid of at most 32 × 32 points. */
function luminanceRange(bg: Background, box: PixelBox): { mean: number; p10: number; p90: number } {
  const x1 = Math.max(0, Math.floor(box.x1));
  const y1 = Math.max(0, Math.floor(box.y1));
  const x2 = Math.min(bg.width - 1, Math.ceil(box.x2));
  const y2 = Math.min(bg.height - 1, Math.ceil(box.y2));
  const stepX = Math.max(1, Math.floor((x2 - x1) / 32));
  const stepY = Math.max(1, Math.floor((y2 - y1) / 32));
  const values: number[] = [];
  for (let y = y1; y <= y2; y += stepY) {
    for (let x = x1; x <= x2; x += stepX) {
      const i = (y * bg.width + x) * 4;
      values.push(luminance(bg.data[i] as number, bg.data[i + 1] as number, bg.data[i + 2] as number));
    }
  }
  if (values.length === 0) return { mean: 0.5, p10: 0.5, p90: 0.5 };
  values.sort((a, b) => a - b);
  const at = (q: number): number => values[Math.min(values.length - 1, Math.floor(q * values.length))] as number;
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, p10: at(0.1), p90: at(0.9) };
}

/** WCAG relative luminance of an sRGB colour. */
function luminance(r: number, g: number, b: number): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * A text colour with a WCAG contrast ratio of at least 4.5 against the background's mean
 * luminance (random hue, dark on light or light on dark), and an outline colour opposite to it.
 */
function contrastingColours(bgLum: number, rng: Random): { fill: string; outline: string } {
  const dark = bgLum > 0.18;
  for (let i = 0; i < 20; i++) {
    const hue = rng.uniform(0, 360);
    const sat = rng.uniform(0, 0.9);
    const light = dark ? rng.uniform(0, 0.3) : rng.uniform(0.75, 1);
    const [r, g, b] = hslToRgb(hue, sat, light);
    const lum = luminance(r, g, b);
    const ratio = (Math.max(lum, bgLum) + 0.05) / (Math.min(lum, bgLum) + 0.05);
    if (ratio >= 4.5) return { fill: `rgb(${r},${g},${b})`, outline: dark ? '#ffffff' : '#000000' };
  }
  return dark ? { fill: '#000000', outline: '#ffffff' } : { fill: '#ffffff', outline: '#000000' };
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
