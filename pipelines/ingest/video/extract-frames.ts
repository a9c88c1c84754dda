import { ClipError } from './clip-error.js';
import type { FrameMode, VideoFramesConfig } from './config.js';
import { FfmpegLog } from './ffmpeg-log.js';
import type { FfmpegTools } from './ffmpeg-tools.js';
import { EvenReservoir, type DecodedFrame } from './frame-selection.js';
import { ImageStreamSplitter } from './image-stream.js';
import type { VideoProbe } from './probe.js';
import { runBounded, type ProcessLimits } from './run-process.js';

export interface ExtractRequest {
  mode: FrameMode;
  frames: VideoFramesConfig;
  probe: VideoProbe;
  /** Seconds of the clip to read at most (ffmpeg `-t`): bounds clips that lie about, or lack, a duration. */
  readLimit: number;
  threads: number;
  limits: ProcessLimits;
}

export interface Extraction {
  mode: FrameMode;
  /** Kept frames, in presentation order. */
  frames: DecodedFrame[];
  /** Frames ffmpeg wrote (before the even re-sampling). */
  framesOut: number;
  /** Frames the decoder produced (every frame in fps mode, only keyframes in keyframe mode). */
  framesDecoded: number | null;
  /** Latest presentation time among the frames written, seconds. */
  lastT: number | null;
  /** Frames came out of ffmpeg with timestamps out of order (they were sorted). */
  timestampsReordered: boolean;
  /** Frames that repeated an earlier timestamp or had none (they were left out). */
  droppedTimestamps: number;
  decodeErrors: number;
  stderrTail: string;
  wallMs: number;
}

/**
 * Decodes one clip's frames for one mode in a single ffmpeg process: the video stream only,
 * display rotation applied (ffmpeg's autorotate), frames selected in ffmpeg, scaled to `maxSide`,
 * encoded as JPEG/PNG onto stdout and timed by `showinfo` on stderr.
 */
export async function extractFrames(tools: FfmpegTools, file: string, req: ExtractRequest): Promise<Extraction> {
  const { frames: cfg, mode } = req;
  const log = new FfmpegLog();
  const splitter = new ImageStreamSplitter(cfg.format);
  const reservoir = new EvenReservoir<{ index: number; image: Buffer }>(cfg.maxFrames);
  let written = 0;
  let streamError: Error | null = null;
  const onStdout = (chunk: Buffer): void => {
    if (streamError) return;
    try {
      for (const image of splitter.push(chunk)) reservoir.add({ index: written++, image });
    } catch (err) {
      streamError = err as Error;
    }
  };
  const result = await runBounded(tools.ffmpeg, ffmpegArgs(tools, file, req), req.limits, { onStdout, onStderrLine: (l) => log.line(l) });
  const base = { tool: 'ffmpeg', mode, stderr_tail: log.stderrTail(), wall_ms: result.wallMs };
  if (result.killed === 'timeout') {
    throw new ClipError('ffmpeg_timeout', `ffmpeg (${mode} frames) did not finish within ${req.limits.timeoutMs} ms and was killed after ${written} frames; raise timeoutMs for very long clips`, base);
  }
  if (result.killed === 'output_limit') {
    throw new ClipError('video_output_too_large', `ffmpeg (${mode} frames) wrote more than ${req.limits.maxStdoutBytes} bytes of frames and was killed; lower frames.maxSide/maxFrames or raise maxOutputBytes`, base);
  }
  if (streamError) throw new ClipError('corrupt_video', `ffmpeg's frame stream could not be split: ${(streamError as Error).message}`, base);
  if (result.code !== 0) {
    throw new ClipError('corrupt_video', `ffmpeg could not decode the clip (exit code ${result.code}): ${lastMessage(log.stderrTail())}`, { ...base, exit_code: result.code });
  }

  const infos = log.frameInfos;
  let timestampsReordered = false;
  for (let i = 1; i < infos.length; i++) if ((infos[i]?.ptsTime ?? 0) < (infos[i - 1]?.ptsTime ?? 0)) timestampsReordered = true;
  const sampled = reservoir.result();
  const kept: DecodedFrame[] = [];
  for (const { index, image } of sampled) {
    const info = infos[index];
    if (!info || !Number.isFinite(info.ptsTime)) continue;
    kept.push({ t: Math.max(0, info.ptsTime), key: mode === 'keyframes' || info.key, modes: [mode], image });
  }
  kept.sort((a, b) => a.t - b.t);
  const unique = kept.filter((f, i) => i === 0 || f.t - (kept[i - 1] as DecodedFrame).t > 1e-9);
  const lastT = infos.reduce<number | null>((max, i) => (Number.isFinite(i.ptsTime) && (max === null || i.ptsTime > max) ? i.ptsTime : max), null);
  return {
    mode,
    frames: unique,
    framesOut: written,
    framesDecoded: log.framesDecoded,
    lastT,
    timestampsReordered,
    droppedTimestamps: sampled.length - unique.length,
    decodeErrors: log.errors,
    stderrTail: log.stderrTail(),
    wallMs: result.wallMs,
  };
}

function ffmpegArgs(tools: FfmpegTools, file: string, req: ExtractRequest): string[] {
  const { frames: cfg, mode, probe } = req;
  const span = Math.min(probe.duration ?? req.readLimit, req.readLimit);
  // One frame per interval: the first frame whose time falls into each new interval (real timestamps, no duplicates).
  const interval = mode === 'fps' ? Math.max(1 / cfg.fps, span / cfg.maxFrames) : span / cfg.maxFrames;
  const filters: string[] = [];
  if (interval > 0 && Number.isFinite(interval)) {
    const i = interval.toFixed(6);
    filters.push(`select='isnan(prev_selected_t)+gte(floor(t/${i})\\,floor(prev_selected_t/${i})+1)'`);
  }
  filters.push(`scale=w='min(${cfg.maxSide}\\,iw)':h='min(${cfg.maxSide}\\,ih)':force_original_aspect_ratio=decrease`);
  filters.push('showinfo');
  const encoder = cfg.format === 'jpeg' ? ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(cfg.jpegQscale)] : ['-c:v', 'png', '-pix_fmt', 'rgb24'];
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'repeat+level+verbose',
    '-threads',
    String(req.threads),
    ...(mode === 'keyframes' ? ['-skip_frame', 'nokey'] : []),
    '-t',
    req.readLimit.toFixed(3),
    '-i',
    `file:${file}`,
    '-map',
    `0:${probe.streamIndex}`,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    filters.join(','),
    ...tools.passthroughArgs,
    '-f',
    'image2pipe',
    ...encoder,
    'pipe:1',
  ];
}

function lastMessage(tail: string): string {
  const errors = tail.split('\n').filter((l) => /\[(error|fatal|panic)\]/.test(l));
  return (errors.pop() ?? tail.split('\n').pop() ?? '').replace(/^(\[[^\]]*\] )+/, '').trim();
}
