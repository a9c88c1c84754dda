import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const CORPUS = join(REPO_ROOT, '..', 'shared', 'corpora', 'video');

interface Row {
  uri: string;
  media: Array<{ mime: string; width: number; height: number; duration: number; frames: number | null; phash: string }>;
  extra: string;
}

describe.skipIf(!existsSync(CORPUS))('video ingest on ../shared/corpora/video', () => {
  let ws: Workspace;
  let loaded: LoadedConfig;
  let rows: Map<string, Row>;

  beforeAll(async () => {
    ws = await createWorkspace('stratum-video-corpus-');
    loaded = await ws.config({ datasets: { v: { sources: [{ name: 'corpus', type: 'video', path: CORPUS, frames: { maxFrames: 8 } }] } } });
    await runCommand(loaded, 'ingest', {});
    const samples = (await queryShards(loaded, `SELECT source.uri AS uri, media, signals.extra AS extra FROM samples`)) as unknown as Row[];
    rows = new Map(samples.map((r) => [r.uri.slice(CORPUS.length + 1), r]));
  }, 120_000);
  afterAll(() => ws?.cleanup());

  it('keeps every clip but the corrupt one, which is quarantined with ffmpeg’s message', async () => {
    const ledger = await queryShards(loaded, `SELECT source_uri, decision, reason, details FROM ledger`);
    expect(ledger).toHaveLength(18);
    const bad = ledger.filter((r) => r.decision !== 'kept');
    expect(bad.map((r) => [String(r.source_uri).slice(CORPUS.length + 1), r.reason])).toEqual([['decord/corrupted.mp4', 'corrupt_video']]);
    expect(JSON.parse(bad[0]?.details as string).message).toMatch(/Invalid NAL unit size/);
  });

  it('turns the rotation-tagged copies upright', () => {
    for (const [name, w, h] of [['video_0', 568, 320], ['video_90', 320, 568], ['video_180', 568, 320], ['video_270', 320, 568]] as const) {
      const row = rows.get(`decord/${name}.mov`) as Row;
      expect(row.media[0]).toMatchObject({ mime: 'video/quicktime', width: w, height: h, frames: 3 });
      expect(row.media[1]).toMatchObject({ width: Math.round((w * 448) / 568), height: Math.round((h * 448) / 568) });
    }
    expect(JSON.parse((rows.get('decord/video_90.mov') as Row).extra).rotation).toBe(90);
  });

  it('orders the out-of-order timestamps of unordered.mov and says so', () => {
    const extra = JSON.parse((rows.get('decord/unordered.mov') as Row).extra) as { pts_reordered: boolean; frame_times: number[] };
    expect(extra.pts_reordered).toBe(true);
    expect(extra.frame_times).toEqual([...extra.frame_times].sort((a, b) => a - b));
  });

  it('describes containers, durations and frame counts as decord and ffprobe see them', () => {
    expect((rows.get('decord/flipping_a_pancake.mkv') as Row).media[0]).toMatchObject({ mime: 'video/x-matroska', frames: 310 }); // counted by decoding: mkv has no frame count
    expect((rows.get('imageio/newtonscradle.gif') as Row).media[0]).toMatchObject({ mime: 'image/gif', frames: 36 });
    const cockatoo = rows.get('imageio/cockatoo.mp4') as Row;
    expect(cockatoo.media[0]).toMatchObject({ width: 1280, height: 720, duration: 14, frames: 280 });
    expect(cockatoo.media).toHaveLength(9); // the video + 8 frames, evenly over 14 s
  });

  it('gives re-encoded duplicates near-identical frame hashes', () => {
    const hashes = (uri: string) => (rows.get(uri) as Row).media.slice(1).map((m) => BigInt(`0x${m.phash}`));
    const distance = (a: bigint, b: bigint) => (a ^ b).toString(2).replaceAll('0', '').length;
    const a = hashes('imageio/cockatoo.mp4');
    const b = hashes('imageio/cockatoo_yuv420.mp4');
    expect(a).toHaveLength(b.length);
    const median = a.map((h, i) => distance(h, b[i] as bigint)).sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
    expect(median).toBeLessThanOrEqual(6);
  });
});
