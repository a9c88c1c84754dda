import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pilResize } from '../../pipelines/embed/pil-resize.js';
import { PIL_RESIZE_WASM } from '../../pipelines/embed/pil-resize-wasm.js';
import { compilePilResizeWasm, wasmModuleSource } from '../../scripts/build-pil-resize-wasm.js';
import { referencePilResize } from '../support/pil-resize-reference.js';
import { rng } from '../support/scenes.js';

/**
 * The WebAssembly resample (pil-resize.ts + pil-resize.wat) against the plain-JS port it replaced
 * (test/support/pil-resize-reference.ts; both pass the 85 Pillow cases of reference.test.ts), on
 * generated sizes, filters, scale factors (down, up, unchanged per axis) and windows.
 */
describe('Pillow resample in WebAssembly', () => {
  it('the checked-in module is the build of pil-resize.wat', async () => {
    const bytes = await compilePilResizeWasm();
    expect(Buffer.from(PIL_RESIZE_WASM, 'base64').equals(Buffer.from(bytes))).toBe(true);
    expect(await readFile(join(import.meta.dirname, '..', '..', 'pipelines', 'embed', 'pil-resize-wasm.ts'), 'utf8')).toBe(wasmModuleSource(bytes));
  });

  it('equals the JS port byte for byte on 600 generated cases, whole images and windows', () => {
    const r = rng(11);
    const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
    let windows = 0;
    for (let n = 0; n < 600; n++) {
      const w = int(1, 160);
      const h = int(1, 160);
      // per axis: shrink (up to 20×), enlarge (up to 4×) or keep
      const axis = (size: number): number => {
        const mode = int(0, 2);
        return mode === 0 ? Math.max(1, Math.floor(size / (1 + r() * 19))) : mode === 1 ? int(size, size * 4) : size;
      };
      const outW = axis(w);
      const outH = axis(h);
      const resample = int(1, 5);
      const src = Uint8Array.from({ length: w * h * 3 }, () => (r() < 0.1 ? (r() < 0.5 ? 0 : 255) : int(0, 255)));
      const whole = referencePilResize(src, w, h, outW, outH, resample);
      const got = pilResize(src, w, h, outW, outH, resample);
      expect(Buffer.from(got).equals(Buffer.from(whole)), `${w}×${h} → ${outW}×${outH} filter ${resample}`).toBe(true);
      const width = int(1, outW);
      const height = int(1, outH);
      const box = { left: int(0, outW - width), top: int(0, outH - height), width, height };
      const part = pilResize(src, w, h, outW, outH, resample, box);
      const want = new Uint8Array(width * height * 3);
      for (let y = 0; y < height; y++) want.set(whole.subarray(((box.top + y) * outW + box.left) * 3, ((box.top + y) * outW + box.left + width) * 3), y * width * 3);
      expect(Buffer.from(part).equals(Buffer.from(want)), `${w}×${h} → ${outW}×${outH} filter ${resample} box ${JSON.stringify(box)}`).toBe(true);
      windows++;
    }
    expect(windows).toBe(600);
  });

  it('resizes an image larger than the kept kernel memory, and refuses a window outside the image', () => {
    const w = 5000;
    const h = 4600; // 69 MB of RGB: a kernel of its own
    const src = new Uint8Array(w * h * 3);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7) & 255;
    const got = pilResize(src, w, h, 40, 37, 3, { left: 3, top: 2, width: 30, height: 30 });
    expect(got.length).toBe(30 * 30 * 3);
    const small = Uint8Array.from({ length: 9 * 7 * 3 }, (_, i) => i & 255);
    expect(Buffer.from(pilResize(small, 9, 7, 4, 3, 2)).equals(Buffer.from(referencePilResize(small, 9, 7, 4, 3, 2)))).toBe(true);
    expect(() => pilResize(small, 9, 7, 4, 3, 2, { left: 2, top: 0, width: 3, height: 3 })).toThrow(/outside 4×3/);
  });
});
