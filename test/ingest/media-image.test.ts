import { afterAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { closeImagePool, getImagePool } from '../../pipelines/ingest/media/image-pool.js';
import { analyzeImageBytes, ingestImage, runImageTask } from '../../pipelines/ingest/media/load-image.js';
import { hammingDistance } from '../../pipelines/ingest/media/perceptual-hash.js';
import { RecordError } from '../../pipelines/ingest/record-error.js';
import { makePng, makeTruncatedJpeg } from '../support/workspace.js';
import { makeBombPng } from '../fixtures/caption/build.js';

afterAll(() => closeImagePool());

/** A smooth synthetic scene (gradient + shapes): perceptual hashes are meaningful on it, unlike on noise. */
function scene(variant: number, width = 320, height = 240): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 320 240">
    <defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="${variant ? '#203080' : '#f0e0a0'}"/><stop offset="1" stop-color="${variant ? '#f0a020' : '#102010'}"/></linearGradient></defs>
    <rect width="320" height="240" fill="url(#g)"/>
    <circle cx="${variant ? 240 : 90}" cy="${variant ? 70 : 150}" r="55" fill="#fff"/>
    <rect x="${variant ? 30 : 200}" y="150" width="80" height="60" fill="#000"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof RecordError) return `${err.reason}: ${err.message}`;
    throw err;
  }
}

describe('image analysis', () => {
  it('refuses a decompression bomb from its header, before decoding', async () => {
    const started = performance.now();
    expect(await reason(analyzeImageBytes(makeBombPng(100_000, 100_000), 100_000_000))).toMatch(/^image_too_large: the header declares 100000×100000 = 10000000000 pixels, over the limit of 100000000; refused before decoding/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('calls a truncated JPEG and a non-image corrupt_image', async () => {
    expect(await reason(analyzeImageBytes(await makeTruncatedJpeg(), 1e8))).toMatch(/^corrupt_image: /);
    expect(await reason(analyzeImageBytes(Buffer.from('hello'), 1e8))).toMatch(/^corrupt_image: /);
  });

  it('describes RGBA, 16-bit and palette images alike', async () => {
    const rgba = await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).png().toBuffer();
    const deep = await sharp(await scene(0)).toColourspace('rgb16').png().toBuffer();
    const gif = await sharp(await scene(1)).gif().toBuffer();
    for (const [bytes, mime] of [[rgba, 'image/png'], [deep, 'image/png'], [gif, 'image/gif']] as const) {
      const { descriptor } = await analyzeImageBytes(bytes, 1e8);
      expect(descriptor.mime).toBe(mime);
      expect(descriptor.phash).toMatch(/^[0-9a-f]{16}$/);
      expect(descriptor.dhash).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('gives near-duplicates close hashes and different images distant ones', async () => {
    const original = await analyzeImageBytes(await scene(0), 1e8);
    const resized = await analyzeImageBytes(await sharp(await scene(0)).resize(160, 120).jpeg({ quality: 60 }).toBuffer(), 1e8);
    const other = await analyzeImageBytes(await scene(1), 1e8);
    expect(resized.descriptor.id).not.toBe(original.descriptor.id);
    expect(hammingDistance(original.descriptor.phash as string, resized.descriptor.phash as string)).toBeLessThanOrEqual(6);
    expect(hammingDistance(original.descriptor.dhash as string, resized.descriptor.dhash as string)).toBeLessThanOrEqual(6);
    expect(hammingDistance(original.descriptor.phash as string, other.descriptor.phash as string)).toBeGreaterThan(16);
    expect(hammingDistance(original.descriptor.dhash as string, other.descriptor.dhash as string)).toBeGreaterThan(16);
  });
});

describe('image process pool', () => {
  it('is on by default and gives the same answer as in-process decoding', async () => {
    expect(getImagePool()).not.toBeNull();
    const png = await makePng(5, 200, 100);
    const viaPool = await ingestImage(png, '/', { maxPixels: 1e8, blobs: null });
    const local = await runImageTask({ source: { kind: 'bytes', bytes: png }, maxPixels: 1e8, blobRoot: null });
    expect(local).toEqual({ ok: true, analysis: viaPool });
    const stats = await getImagePool()?.workerStats();
    expect(stats?.reduce((n, s) => n + s.tasksDone, 0)).toBeGreaterThan(0);
  });

  it('carries decode refusals back as RecordError reasons', async () => {
    expect(await reason(ingestImage(makeBombPng(), '/', { maxPixels: 1e8, blobs: null }))).toMatch(/^image_too_large/);
    expect(await reason(ingestImage(await makeTruncatedJpeg(), '/', { maxPixels: 1e8, blobs: null }))).toMatch(/^corrupt_image/);
    expect(await reason(ingestImage('nope/missing.png', '/tmp', { maxPixels: 1e8, blobs: null }))).toMatch(/^missing_image/);
    expect(await reason(ingestImage('https://example.org/a.png', '/tmp', { maxPixels: 1e8, blobs: null }))).toMatch(/^remote_image/);
  });
});
