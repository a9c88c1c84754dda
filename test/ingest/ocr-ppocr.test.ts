import { describe, expect, it } from 'vitest';
import { ctcGreedyDecode } from '../../pipelines/ingest/ocr/ppocr/ctc.js';
import { DB_DEFAULTS, dbPostprocess } from '../../pipelines/ingest/ocr/ppocr/db-postprocess.js';
import { minAreaRect, rectCorners, type Point } from '../../pipelines/ingest/ocr/ppocr/min-area-rect.js';

describe('PP-OCR post-processing', () => {
  it('fits the minimum-area rectangle of a rotated rectangle and orders its corners', () => {
    const angle = (20 * Math.PI) / 180;
    const points: Point[] = [];
    for (let u = 0; u <= 40; u++) for (let v = 0; v <= 10; v++) points.push([100 + u * Math.cos(angle) - v * Math.sin(angle), 50 + u * Math.sin(angle) + v * Math.cos(angle)]);
    const rect = minAreaRect(points);
    expect([rect.width, rect.height].sort((a, b) => a - b).map((v) => Math.round(v))).toEqual([10, 40]);
    const [tl, tr, br, bl] = rectCorners(rect);
    expect(tl[0]).toBeLessThan(tr[0]);
    expect(bl[0]).toBeLessThan(br[0]);
    expect(tl[1]).toBeLessThan(bl[1]);
  });

  it('turns a probability map into unclipped boxes in source pixels, top to bottom, left to right', () => {
    const w = 64;
    const h = 32;
    const prob = new Float32Array(w * h);
    const fill = (x1: number, y1: number, x2: number, y2: number, p: number): void => {
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) prob[y * w + x] = p;
    };
    fill(40, 4, 60, 10, 0.9); // right word, first line
    fill(4, 5, 30, 11, 0.9); // left word, first line (a pixel lower)
    fill(4, 20, 50, 28, 0.95); // second line
    fill(10, 14, 12, 16, 0.9); // a speck: too small
    fill(55, 20, 62, 28, 0.4); // faint: mean below the box threshold
    const boxes = dbPostprocess(prob, w, h, w * 2, h * 2, DB_DEFAULTS);
    expect(boxes).toHaveLength(3);
    const bounds = boxes.map((b) => [Math.min(...b.quad.map((p) => p[0])), Math.min(...b.quad.map((p) => p[1])), Math.max(...b.quad.map((p) => p[0])), Math.max(...b.quad.map((p) => p[1]))]);
    // first line left word: pixels 4..29 × 5..10, grown by area×1.5/perimeter ≈ 3.4 px, then doubled to the source scale
    expect(bounds[0]![0]).toBeLessThan(8);
    expect(bounds[0]![2]).toBeGreaterThan(58);
    expect(bounds[1]![0]).toBeGreaterThan(70);
    expect(bounds[2]![1]).toBeGreaterThan(30);
    for (const b of boxes) expect(b.score).toBeGreaterThan(0.6);
  });

  it('decodes CTC output greedily: repeats collapsed, blanks dropped', () => {
    const charset = ['a', 'b', ' '];
    const steps = [1, 1, 0, 1, 2, 2, 0, 3, 1];
    const probs = new Float32Array(steps.length * 4);
    steps.forEach((c, t) => {
      for (let k = 0; k < 4; k++) probs[t * 4 + k] = k === c ? 0.9 : 0.1 / 3;
    });
    expect(ctcGreedyDecode(probs, 0, steps.length, 4, charset)).toEqual({ text: 'aab a', confidence: expect.closeTo(0.9, 5) });
  });
});
