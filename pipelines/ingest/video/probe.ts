import { ClipError } from './clip-error.js';
import { FfmpegLog } from './ffmpeg-log.js';
import type { FfmpegTools } from './ffmpeg-tools.js';
import { runBounded, type ProcessLimits } from './run-process.js';

export type Rotation = 0 | 90 | 180 | 270;

/** What ffprobe says about a clip's first real video stream (cover art is skipped). */
export interface VideoProbe {
  container: string;
  /** Index of the stream in the file, for `-map 0:<index>`. */
  streamIndex: number;
  codec: string;
  /** As displayed, i.e. after rotation. */
  width: number;
  height: number;
  /** Clockwise degrees the stored frames are turned to be displayed (display matrix or `rotate` tag). */
  rotation: Rotation;
  /** Average frame rate, else the base rate; null when the container does not say. */
  fps: number | null;
  /** Seconds: the stream's duration, else the container's; null when neither is known (live streams). */
  duration: number | null;
  /** The container's frame count when it has one (cheap); null otherwise. */
  frameCount: number | null;
  /** Decode order differs from presentation order (B-frames): timestamps come from decoded frames. */
  reordersFrames: boolean;
  bitRate: number | null;
}

const PROBE_OUTPUT_LIMIT = 4 * 1024 * 1024;

export async function probeVideo(tools: FfmpegTools, file: string, limits: Omit<ProcessLimits, 'maxStdoutBytes'>): Promise<VideoProbe> {
  const chunks: Buffer[] = [];
  const log = new FfmpegLog();
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-select_streams', 'v', 'file:' + file];
  const result = await runBounded(tools.ffprobe, args, { ...limits, maxStdoutBytes: PROBE_OUTPUT_LIMIT }, { onStdout: (c) => chunks.push(c), onStderrLine: (l) => log.line(l) });
  if (result.killed === 'timeout') {
    throw new ClipError('ffmpeg_timeout', `ffprobe did not finish within ${limits.timeoutMs} ms (a stream that never ends, or a stalled disk?); it was killed`, {
      tool: 'ffprobe',
      stderr_tail: log.stderrTail(),
    });
  }
  if (result.killed === 'output_limit') throw new ClipError('corrupt_video', `ffprobe wrote more than ${PROBE_OUTPUT_LIMIT} bytes of metadata`, { tool: 'ffprobe' });
  if (result.code !== 0) {
    throw new ClipError('corrupt_video', `ffprobe cannot read the file: ${messages(log.stderrTail()) || `exit code ${result.code}`}`, {
      tool: 'ffprobe',
      exit_code: result.code,
      stderr_tail: log.stderrTail(),
    });
  }
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FfprobeOutput;
  } catch (err) {
    throw new ClipError('corrupt_video', `ffprobe output is not JSON: ${(err as Error).message}`, { tool: 'ffprobe' });
  }
  return describeProbe(parsed);
}

interface FfprobeStream {
  index: number;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  has_b_frames?: number;
  bit_rate?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; bit_rate?: string };
}

export function describeProbe(out: FfprobeOutput): VideoProbe {
  const stream = (out.streams ?? []).find((s) => !s.disposition?.attached_pic && (s.width ?? 0) > 0 && (s.height ?? 0) > 0);
  if (!stream) {
    const cover = (out.streams ?? []).some((s) => s.disposition?.attached_pic);
    throw new ClipError('no_video_stream', cover ? 'the only picture in the file is cover art (an audio file?)' : 'the file has no video stream with a size', {
      container: out.format?.format_name ?? null,
    });
  }
  const rotation = rotationOf(stream);
  const [w, h] = [stream.width as number, stream.height as number];
  const turned = rotation === 90 || rotation === 270;
  return {
    container: out.format?.format_name ?? 'unknown',
    streamIndex: stream.index,
    codec: stream.codec_name ?? 'unknown',
    width: turned ? h : w,
    height: turned ? w : h,
    rotation,
    fps: rate(stream.avg_frame_rate) ?? rate(stream.r_frame_rate),
    duration: positive(stream.duration) ?? positive(out.format?.duration),
    frameCount: positive(stream.nb_frames),
    reordersFrames: (stream.has_b_frames ?? 0) > 0,
    bitRate: positive(stream.bit_rate) ?? positive(out.format?.bit_rate),
  };
}

/** ffprobe's display-matrix `rotation` is counter-clockwise; the legacy `rotate` tag is clockwise. */
function rotationOf(stream: FfprobeStream): Rotation {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && typeof d.rotation === 'number');
  const clockwise = matrix ? -(matrix.rotation as number) : Number(stream.tags?.rotate ?? 0);
  const quarter = Math.round((((clockwise % 360) + 360) % 360) / 90) % 4;
  return (quarter * 90) as Rotation;
}

function rate(text: string | undefined): number | null {
  if (!text) return null;
  const [num, den] = text.split('/').map(Number);
  if (!num || !den || !Number.isFinite(num / den)) return null;
  return num / den;
}

function positive(text: string | undefined): number | null {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : null;
}

/** ffprobe's error lines without their `[demuxer @ 0x…]` prefixes, e.g. `moov atom not found; …: Invalid data found`. */
function messages(text: string): string {
  const lines = text.split('\n').filter(Boolean).map((l) => l.replace(/^(\[[^\]]*\] )+/, '').replace(/^file:\S*: /, '').trim());
  const joined = [...new Set(lines)].join('; ');
  return joined.length > 300 ? `${joined.slice(0, 300)}…` : joined;
}
