import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { BlobStore } from '../../pipelines/shared/store/blob-store.js';
import { copy, endlessRecording, hugeDeclaredDuration, rotatedCopy, testPattern, truncatedCopy } from '../fixtures/video/generate.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

let ws: Workspace;
let loaded: LoadedConfig;
let writer: ChildProcess | undefined;
let seconds = 0;

beforeAll(async () => {
  ws = await createWorkspace('stratum-video-');
  const clips = ws.path('clips');
  await mkdir(clips, { recursive: true });
  await mkdir(ws.path('live'), { recursive: true });
  const mp4 = await testPattern(ws.path('clips/testsrc.mp4'), { seconds: 4 });
  await ws.write('clips/testsrc.txt', 'A test pattern with a moving gradient and a frame counter.\n');
  await Promise.all([
    rotatedCopy(mp4, ws.path('clips/rotated.mp4'), 90),
    truncatedCopy(mp4, ws.path('clips/moov-missing.mp4'), 0.5), // the mp4 muxer writes its index (moov) last
    testPattern(ws.path('full.mkv'), { seconds: 4 }).then((mkv) => truncatedCopy(mkv, ws.path('clips/truncated.mkv'), 0.5)),
    testPattern(ws.path('clips/anim.gif'), { size: '64x48', seconds: 0.8, codec: 'gif' }),
    testPattern(ws.path('clips/qa.mov'), { size: '96x64', seconds: 2, codec: 'mpeg4', pattern: 'smptebars' }),
    hugeDeclaredDuration(ws.path('clips/huge-duration.mkv'), 100_000),
    copy(mp4, clips, 'bad-sidecar.mp4'),
  ]);
  await ws.write('clips/qa.json', JSON.stringify({ id: 'bars-1', question: 'How many colour bars are at the top?', answer: '7', caption: 'SMPTE colour bars.', channel: 'test' }));
  await ws.write('clips/bad-sidecar.json', '{"caption": "unterminated');
  await ws.write('clips/empty.mp4', '');
  await ws.write('clips/not-a-video.mp4', 'hello, I am text in a file named .mp4\n');
  await copy(ws.path('clips/huge-duration.mkv'), ws.dir, 'head.mkv');
  execFileSync('mkfifo', [ws.path('live/pipe.mp4')]); // a named pipe nobody ever writes: opening it would block forever
  writer = await endlessRecording(ws.path('live/growing.mkv'), 96 * 1024);

  loaded = await ws.config({
    datasets: {
      v: {
        sources: [
          { name: 'clips', type: 'video', path: 'clips', frames: { modes: ['fps', 'keyframes'], fps: 2, maxFrames: 6 } },
          { name: 'endless', type: 'video', path: 'live/growing.mkv', maxDuration: 5, timeoutMs: 30_000 },
          { name: 'pipe', type: 'video', path: 'live/pipe.mp4' },
          { name: 'slow', type: 'video', path: 'clips/testsrc.mp4', timeoutMs: 5 },
          { name: 'head', type: 'video', path: 'head.mkv', maxDuration: 2, tooLong: 'head', frames: { maxFrames: 4 } },
          { name: 'lenient', type: 'video', path: 'clips/truncated.mkv', maxDecodeErrors: 100 },
        ],
      },
    },
  });
  const started = Date.now();
  await runCommand(loaded, 'ingest', {});
  seconds = (Date.now() - started) / 1000;
});

afterAll(async () => {
  writer?.kill('SIGKILL');
  await ws?.cleanup();
});

describe('video ingest on generated clips', () => {
  it('gives every clip one decision, with the reason each bad one deserves', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri, decision, reason FROM ledger ORDER BY source_uri`);
    const decisions = Object.fromEntries(rows.map((r) => [r.source_uri, `${r.decision}:${r.reason}`]));
    expect(decisions).toEqual({
      'clips/anim.gif': 'kept:ok',
      'clips/bad-sidecar.mp4': 'quarantined:malformed_sidecar',
      'clips/empty.mp4': 'quarantined:corrupt_video',
      'clips/huge-duration.mkv': 'quarantined:video_too_long',
      'clips/moov-missing.mp4': 'quarantined:corrupt_video',
      'clips/not-a-video.mp4': 'quarantined:corrupt_video',
      'clips/qa.mov': 'kept:ok',
      'clips/rotated.mp4': 'kept:ok',
      'clips/testsrc.mp4': expect.stringMatching(/^(kept:ok|quarantined:ffmpeg_timeout)$/), // the same file, in `clips` and in `slow`
      'clips/truncated.mkv': 'quarantined:corrupt_video',
      'head.mkv': 'kept:ok',
      'live/growing.mkv': 'quarantined:video_too_long',
      'live/pipe.mp4': 'quarantined:not_a_regular_file',
    });
    const bySource = await queryShards(loaded, `SELECT split_part(unit, ':', 1) AS source, decision, reason, count(*)::INT AS n FROM ledger GROUP BY ALL ORDER BY ALL`);
    expect(bySource).toContainEqual({ source: 'slow', decision: 'quarantined', reason: 'ffmpeg_timeout', n: 1 });
    expect(bySource).toContainEqual({ source: 'lenient', decision: 'quarantined', reason: 'corrupt_video', n: 1 });
    expect(bySource).toContainEqual({ source: 'clips', decision: 'kept', reason: 'ok', n: 4 });
    expect(seconds).toBeLessThan(30); // the endless stream and the pipe were bounded
  });

  it('balances the funnel in every unit', async () => {
    const funnel = await queryShards(loaded, `SELECT decision, count(*)::INT AS n FROM ledger GROUP BY ALL ORDER BY decision`);
    expect(funnel).toEqual([
      { decision: 'kept', n: 5 },
      { decision: 'quarantined', n: 10 },
    ]);
    const samples = await queryShards(loaded, `SELECT count(*)::INT AS n FROM samples`);
    expect(samples[0]?.n).toBe(5);
  });

  it('explains corrupt and truncated clips with ffmpeg’s own words', async () => {
    const rows = await queryShards(loaded, `SELECT source_uri, details FROM ledger WHERE reason = 'corrupt_video' ORDER BY source_uri`);
    const details = Object.fromEntries(rows.map((r) => [r.source_uri, JSON.parse(r.details as string) as Record<string, unknown>]));
    expect(details['clips/moov-missing.mp4']?.message).toMatch(/moov atom not found/);
    expect(details['clips/not-a-video.mp4']?.message).toMatch(/ffprobe cannot read/);
    expect(details['clips/empty.mp4']?.message).toMatch(/empty/);
    const truncated = details['clips/truncated.mkv'] as Record<string, unknown>;
    expect(truncated.message).toMatch(/truncated|decode error/);
    expect(String(truncated.stderr_tail_fps ?? '')).toMatch(/ended prematurely|error/i);
    // With decode errors tolerated, the decoded length still gives the truncation away.
    const [lenient] = await queryShards(loaded, `SELECT details FROM ledger WHERE unit LIKE 'lenient:%'`);
    const cut = JSON.parse(lenient?.details as string) as { message: string; truncated: boolean; decoded_span: number; duration: number };
    expect(cut).toMatchObject({ truncated: true, duration: 4 });
    expect(cut.decoded_span).toBeLessThan(3);
    expect(cut.message).toMatch(/^truncated: decoded/);
    const bounded = await queryShards(loaded, `SELECT source_uri, reason, details FROM ledger WHERE reason IN ('video_too_long', 'not_a_regular_file', 'ffmpeg_timeout') ORDER BY source_uri`);
    const messages = Object.fromEntries(bounded.map((r) => [r.source_uri, (JSON.parse(r.details as string) as { message: string }).message]));
    expect(messages['live/growing.mkv']).toMatch(/past maxDuration 5 s/);
    expect(messages['live/pipe.mp4']).toMatch(/named pipe/);
    expect(messages['clips/huge-duration.mkv']).toMatch(/declares 100000\.0 s/);
  });

  it('builds GLM-style samples: each frame followed by its timestamp, then the caption', async () => {
    const [row] = await queryShards(loaded, `SELECT kind, content, media, signals.extra AS extra FROM samples WHERE source.uri = 'clips/testsrc.mp4'`);
    expect(row?.kind).toBe('video');
    const content = row?.content as Array<{ type: string; text: string | null; media_id: string | null }>;
    const frames = content.filter((p) => p.type === 'image');
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames.length).toBeLessThanOrEqual(6);
    for (let i = 0; i < frames.length; i++) {
      expect(content[2 * i]?.type).toBe('image');
      expect(content[2 * i + 1]?.text).toMatch(/^\[t=\d+\.\ds\]$/);
    }
    const times = content.filter((p) => p.text?.startsWith('[t=')).map((p) => Number(/t=([\d.]+)/.exec(p.text ?? '')?.[1]));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBe(0);
    expect(content[content.length - 1]?.text).toMatch(/moving gradient/);

    const media = row?.media as Array<{ id: string; mime: string; width: number; height: number; duration: number | null; frames: number | null; phash: string | null }>;
    expect(media[0]).toMatchObject({ mime: 'video/mp4', width: 160, height: 120, duration: 4, frames: 40 });
    const blobs = new BlobStore(ws.path('shards/v/blobs'));
    for (const m of media) expect(blobs.has(m.id)).toBe(true); // the video itself and every frame
    for (const m of media.slice(1)) expect(m).toMatchObject({ mime: 'image/jpeg', width: 160, height: 120, phash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const extra = JSON.parse(row?.extra as string) as { frame_times: number[]; keyframes: boolean[]; rotation: number; video_stored: string };
    expect(extra.frame_times).toHaveLength(frames.length);
    expect(extra.keyframes.some(Boolean)).toBe(true);
    expect(extra).toMatchObject({ rotation: 0, video_stored: 'blob' });
  });

  it('applies the rotation and reports the displayed size', async () => {
    const [row] = await queryShards(loaded, `SELECT media, signals.extra AS extra FROM samples WHERE source.uri = 'clips/rotated.mp4'`);
    const media = row?.media as Array<{ width: number; height: number }>;
    expect(media[0]).toMatchObject({ width: 120, height: 160 });
    expect(media[1]).toMatchObject({ width: 120, height: 160 });
    expect([90, 270]).toContain((JSON.parse(row?.extra as string) as { rotation: number }).rotation);
  });

  it('reads GIFs and sidecar QA', async () => {
    const [gif] = await queryShards(loaded, `SELECT media FROM samples WHERE source.uri = 'clips/anim.gif'`);
    expect((gif?.media as Array<{ mime: string }>)[0]?.mime).toBe('image/gif');
    const [qa] = await queryShards(loaded, `SELECT task, content, meta FROM samples WHERE source.uri = 'clips/qa.mov'`);
    expect(qa?.task).toMatchObject({ question: 'How many colour bars are at the top?', answer: '<|begin_of_box|>7<|end_of_box|>', answer_type: 'numeric' });
    const texts = (qa?.content as Array<{ text: string | null }>).map((p) => p.text).filter((t) => t && !t.startsWith('[t='));
    expect(texts).toEqual(['SMPTE colour bars.', 'How many colour bars are at the top?']);
    expect(JSON.parse(qa?.meta as string)).toMatchObject({ channel: 'test', sidecars: ['qa.json'] });
  });

  it('samples only the head of an over-long clip when told to', async () => {
    const [row] = await queryShards(loaded, `SELECT signals.extra AS extra FROM samples WHERE source.uri = 'head.mkv'`);
    const extra = JSON.parse(row?.extra as string) as { truncated_to: number; frame_times: number[] };
    expect(extra.truncated_to).toBe(2);
    expect(Math.max(...extra.frame_times)).toBeLessThan(2);
  });

  it('skips unchanged clips on the next run; only the still-growing recording is redone', async () => {
    const [summary] = await runCommand(loaded, 'ingest', {});
    expect(summary).toMatchObject({ planned: 7, skipped: 6, processed: 1 });
    expect(summary?.counts).toMatchObject({ in: 1, quarantined: 1 });
  });

  it('leaves no ffmpeg behind', () => {
    const ours = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /ffprobe|ffmpeg/.test(l) && !l.includes('growing.mkv'));
    expect(ours).toEqual([]);
    expect(existsSync(ws.path('live/pipe.mp4'))).toBe(true);
  });
});
