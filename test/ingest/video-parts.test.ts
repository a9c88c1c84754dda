import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { timeLabels } from '../../pipelines/ingest/video/clip.js';
import { findFfmpeg } from '../../pipelines/ingest/video/ffmpeg-tools.js';
import { EvenReservoir, mergeFrames, pickEvenly } from '../../pipelines/ingest/video/frame-selection.js';
import { ImageStreamSplitter } from '../../pipelines/ingest/video/image-stream.js';
import { describeProbe } from '../../pipelines/ingest/video/probe.js';
import { runBounded } from '../../pipelines/ingest/video/run-process.js';
import { makePng } from '../support/workspace.js';

/** Feeds `stream` to a splitter in chunks of the given sizes, cycling. */
function split(format: 'jpeg' | 'png', stream: Buffer, sizes: number[]): Buffer[] {
  const splitter = new ImageStreamSplitter(format);
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = sizes[i % sizes.length] as number;
    out.push(...splitter.push(stream.subarray(at, at + n)));
    at += n;
  }
  expect(splitter.leftover).toBe(0);
  return out;
}

describe('image stream splitter', () => {
  it('recovers back-to-back PNGs and JPEGs byte for byte, whatever the chunking', async () => {
    const pngs = await Promise.all([1, 2, 3].map((s) => makePng(s, 40 + s, 30)));
    const jpegs = await Promise.all(pngs.map((p, i) => sharp(p).jpeg({ quality: 80 + i }).toBuffer()));
    for (const sizes of [[1], [7, 3], [4096], [1_000_000]]) {
      expect(split('png', Buffer.concat(pngs), sizes)).toEqual(pngs);
      expect(split('jpeg', Buffer.concat(jpegs), sizes)).toEqual(jpegs);
    }
  });

  it('splits ffmpeg’s own image2pipe stream into decodable JPEGs', async () => {
    const { stdout } = await promisify(execFile)(
      'ffmpeg',
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=96x64:rate=5', '-t', '1', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-f', 'image2pipe', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
    );
    const images = split('jpeg', stdout, [333]);
    expect(images).toHaveLength(5);
    for (const image of images) expect(await sharp(image).metadata()).toMatchObject({ format: 'jpeg', width: 96, height: 64 });
  });
});

describe('frame selection', () => {
  it('keeps an even subset of a stream of unknown length in bounded memory', () => {
    const reservoir = new EvenReservoir<number>(8);
    for (let i = 0; i < 1000; i++) reservoir.add(i);
    const kept = reservoir.result();
    expect(kept).toHaveLength(8);
    expect(kept[0]).toBe(0);
    const gaps = kept.slice(1).map((v, i) => v - (kept[i] as number));
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(128);
    expect(kept[7]).toBeGreaterThan(800);
  });

  it('picks first and last, evenly', () => {
    expect(pickEvenly([0, 1, 2, 3, 4, 5, 6, 7, 8], 3)).toEqual([0, 4, 8]);
    expect(pickEvenly([1, 2], 5)).toEqual([1, 2]);
    expect(pickEvenly([0, 1, 2, 3, 4], 1)).toEqual([2]);
  });

  it('merges modes by time and joins a frame both modes chose', () => {
    const f = (t: number, mode: 'fps' | 'keyframes') => ({ t, key: mode === 'keyframes', modes: [mode], image: Buffer.alloc(0) });
    const merged = mergeFrames([[f(0, 'fps'), f(1, 'fps'), f(2, 'fps')], [f(0, 'keyframes'), f(1.5, 'keyframes')]], 10);
    expect(merged.map((m) => [m.t, m.key, m.modes.join('+')])).toEqual([
      [0, true, 'fps+keyframes'],
      [1, false, 'fps'],
      [1.5, true, 'keyframes'],
      [2, false, 'fps'],
    ]);
  });

  it('labels times with one decimal unless that would repeat a label', () => {
    expect(timeLabels([0, 1, 2.5])).toEqual(['0.0', '1.0', '2.5']);
    expect(timeLabels([0, 0.03125, 0.0625])).toEqual(['0.00', '0.03', '0.06']);
  });
});

describe('probe interpretation', () => {
  const stream = { index: 0, codec_name: 'h264', width: 568, height: 320, avg_frame_rate: '30/1', duration: '0.1', nb_frames: '3' };
  it('turns the display matrix (counter-clockwise) and the rotate tag (clockwise) into clockwise degrees', () => {
    expect(describeProbe({ streams: [{ ...stream, side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] }] })).toMatchObject({ rotation: 90, width: 320, height: 568 });
    expect(describeProbe({ streams: [{ ...stream, side_data_list: [{ side_data_type: 'Display Matrix', rotation: -180 }] }] })).toMatchObject({ rotation: 180, width: 568 });
    expect(describeProbe({ streams: [{ ...stream, tags: { rotate: '270' } }] })).toMatchObject({ rotation: 270, width: 320 });
    expect(describeProbe({ streams: [stream], format: { duration: '9.5' } })).toMatchObject({ rotation: 0, duration: 0.1, fps: 30, frameCount: 3 });
  });

  it('skips cover art and says so when there is no other picture', () => {
    const cover = { ...stream, index: 1, disposition: { attached_pic: 1 } };
    expect(() => describeProbe({ streams: [cover] })).toThrow(/cover art/);
    expect(describeProbe({ streams: [cover, { ...stream, index: 2 }] }).streamIndex).toBe(2);
    expect(() => describeProbe({ streams: [] })).toThrow(expect.objectContaining({ reason: 'no_video_stream' }));
  });
});

describe('bounded processes', () => {
  it('kills the whole process group past the wall-clock limit', async () => {
    let out = '';
    const result = await runBounded('sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300, maxStdoutBytes: 1024 }, { onStdout: (c) => (out += c.toString()) });
    expect(result.killed).toBe('timeout');
    expect(result.wallMs).toBeLessThan(5000);
    const grandchild = Number(out.trim());
    expect(grandchild).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    // The background sleep died with its group (gone, or a zombie waiting for init to reap it).
    const state = existsSync(`/proc/${grandchild}/stat`) ? readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });

  it('kills a process that writes too much', async () => {
    const result = await runBounded('yes', [], { timeoutMs: 10_000, maxStdoutBytes: 1024 * 1024 });
    expect(result.killed).toBe('output_limit');
  });

  it('says how to install ffmpeg when it is missing', async () => {
    await expect(findFfmpeg('clips', { ffmpegPath: '/nonexistent/ffmpeg' }, '/')).rejects.toThrow(/apt-get install ffmpeg/);
    const tools = await findFfmpeg('clips', {}, '/');
    expect(tools.ffmpeg).toMatch(/ffmpeg$/);
  });
});
