import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ContentPart, MediaDescriptor, Sample } from '../../../schemas/sample.js';
import { sha256File } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import { buildSample, imagePart, storeImage, textPart } from '../sample-builder.js';
import { ClipError } from './clip-error.js';
import type { VideoSourceConfig } from './config.js';
import { extractFrames, type Extraction } from './extract-frames.js';
import type { FfmpegTools } from './ffmpeg-tools.js';
import { mergeFrames } from './frame-selection.js';
import { probeVideo, type VideoProbe } from './probe.js';
import { readSidecar } from './sidecar.js';

export interface ClipRef {
  file: string;
  /** Path relative to the config folder: the sample's source uri. */
  uri: string;
}

/**
 * One clip → one `video` sample: probe, decode frames per mode, check the decode (errors,
 * truncation, length, a file that changes underneath), store frames and the video, build the
 * sample. Anything wrong with the clip is a ClipError (or RecordError from its sidecar).
 */
export async function ingestClip(ctx: StageContext, source: VideoSourceConfig, tools: FfmpegTools, clip: ClipRef): Promise<Sample> {
  const before = await regularFile(clip.file);
  const sidecar = await readSidecar(clip.file, source.verifier);
  const limits = { timeoutMs: source.timeoutMs };
  const probe = await probeVideo(tools, clip.file, limits);
  const { maxDuration } = source;
  if (probe.duration !== null && probe.duration > maxDuration && source.tooLong === 'refuse') {
    throw new ClipError('video_too_long', `the clip declares ${probe.duration.toFixed(1)} s, over maxDuration ${maxDuration} s (set tooLong: 'head' to sample its first ${maxDuration} s instead)`, probeDetails(probe));
  }
  // Refusing: read a second past the limit, so a clip that lies about (or lacks) its length shows it.
  const readLimit = source.tooLong === 'head' ? maxDuration : maxDuration + 1;

  const extractions: Extraction[] = [];
  for (const mode of source.frames.modes) {
    extractions.push(
      await extractFrames(tools, clip.file, {
        mode,
        frames: source.frames,
        probe,
        readLimit,
        threads: source.ffmpegThreads,
        limits: { ...limits, maxStdoutBytes: source.maxOutputBytes },
      }),
    );
  }
  const decoded = checkDecode(source, probe, extractions, readLimit);
  const frames = mergeFrames(
    extractions.map((e) => e.frames),
    source.frames.maxFrames,
  );

  const frameMedia: MediaDescriptor[] = [];
  for (const frame of frames) frameMedia.push(await storeImage(ctx, frame.image, ctx.baseDir));
  const stored = before.size <= source.maxStoredVideoBytes ? await ctx.blobs.putFile(clip.file, before.size) : { id: await sha256File(clip.file, before.size), bytes: before.size };
  await unchangedSince(clip.file, before);

  const middle = frameMedia[Math.floor((frameMedia.length - 1) / 2)];
  const video: MediaDescriptor = {
    id: stored.id,
    mime: mimeOf(clip.file),
    width: probe.width,
    height: probe.height,
    bytes: stored.bytes,
    duration: probe.duration ?? decoded.span,
    frames: probe.frameCount ?? decoded.framesDecoded,
    phash: middle?.phash ?? null,
    dhash: middle?.dhash ?? null,
  };
  const labels = timeLabels(frames.map((f) => f.t));
  const content: ContentPart[] = frames.flatMap((_, i) => [imagePart(frameMedia[i] as MediaDescriptor), textPart(`[t=${labels[i]}s]`)]);
  if (sidecar.caption) content.push(textPart(sidecar.caption));
  if (sidecar.qa) content.push(textPart(sidecar.qa.question));

  const storedInBlobs = before.size <= source.maxStoredVideoBytes;
  return buildSample(ctx, {
    source,
    uri: clip.uri,
    locator: 'file',
    recordId: sidecar.qa?.recordId ?? null,
    kind: 'video',
    domain: sidecar.qa?.domainOverride ?? source.domain,
    license: sidecar.qa?.licenseOverride ?? null,
    content,
    media: uniqueMedia([video, ...frameMedia]),
    task: sidecar.qa?.task ?? null,
    signals: {
      video_stored: storedInBlobs ? 'blob' : 'path',
      rotation: probe.rotation,
      fps: probe.fps,
      codec: probe.codec,
      container: probe.container,
      frame_times: frames.map((f) => round(f.t, 6)),
      keyframes: frames.map((f) => f.key),
      frame_modes: frames.map((f) => f.modes.join('+')),
      frames_decoded: decoded.framesDecoded,
      keyframes_decoded: extractions.find((e) => e.mode === 'keyframes')?.framesDecoded ?? null,
      decoded_span: decoded.span === null ? null : round(decoded.span, 3),
      // Packets are stored in decode order ≠ presentation order (B-frames); times come from decoded frames.
      pts_reordered: probe.reordersFrames,
      // ffmpeg handed frames over out of timestamp order, or repeated timestamps: they were sorted / left out.
      timestamps_sorted: extractions.some((e) => e.timestampsReordered),
      timestamps_dropped: extractions.reduce((n, e) => n + e.droppedTimestamps, 0),
      decode_errors: decoded.errors,
      truncated_to: decoded.truncatedTo,
    },
    meta: {
      ...sidecar.meta,
      sidecars: sidecar.files,
      video_path: storedInBlobs ? null : clip.file,
      probe: { ...probe },
      ffmpeg_ms: extractions.reduce((n, e) => n + e.wallMs, 0),
    },
  });
}

interface DecodeCheck {
  /** Seconds of the clip the decoder got through (fps mode; keyframe mode: the last keyframe). */
  span: number | null;
  framesDecoded: number | null;
  errors: number;
  truncatedTo: number | null;
}

/** Decode errors, truncation (decoded far shorter than probed), and clips longer than they said. */
function checkDecode(source: VideoSourceConfig, probe: VideoProbe, extractions: Extraction[], readLimit: number): DecodeCheck {
  const errors = extractions.reduce((n, e) => n + e.decodeErrors, 0);
  const tails = Object.fromEntries(extractions.map((e) => [`stderr_tail_${e.mode}`, e.stderrTail]));
  if (errors > source.maxDecodeErrors) {
    const first = extractions.find((e) => e.decodeErrors > 0) as Extraction;
    throw new ClipError('corrupt_video', `ffmpeg reported ${errors} decode error(s) (maxDecodeErrors ${source.maxDecodeErrors}): ${firstError(first.stderrTail)}`, {
      ...probeDetails(probe),
      decode_errors: errors,
      ...tails,
    });
  }
  const full = extractions.find((e) => e.mode === 'fps');
  const frameTime = probe.fps ? 1 / probe.fps : 0;
  const lastT = Math.max(...extractions.map((e) => e.lastT ?? -1));
  const span =
    lastT < 0 && !full?.framesDecoded
      ? null
      : Math.max(lastT + frameTime, full?.framesDecoded && probe.fps ? full.framesDecoded / probe.fps : 0);
  if (span === null || !extractions.some((e) => e.frames.length)) {
    throw new ClipError('corrupt_video', 'ffmpeg decoded no frame from the clip', { ...probeDetails(probe), ...tails });
  }
  if (source.tooLong === 'refuse' && span > source.maxDuration + frameTime + 1e-3) {
    throw new ClipError('video_too_long', `decoding went past maxDuration ${source.maxDuration} s (the file declared ${probe.duration === null ? 'no duration' : `${probe.duration.toFixed(1)} s`}: a live or endless stream?)`, {
      ...probeDetails(probe),
      decoded_span: span,
    });
  }
  const expected = Math.min(probe.duration ?? 0, readLimit);
  if (full && expected > 0 && span < source.minDecodedRatio * expected) {
    throw new ClipError('corrupt_video', `truncated: decoded ${span.toFixed(2)} s of the ${expected.toFixed(2)} s the file declares (minDecodedRatio ${source.minDecodedRatio})`, {
      ...probeDetails(probe),
      truncated: true,
      decoded_span: span,
      frames_decoded: full.framesDecoded,
      ...tails,
    });
  }
  const truncatedTo = source.tooLong === 'head' && (probe.duration === null ? span >= readLimit - frameTime - 1e-3 : probe.duration > readLimit) ? readLimit : null;
  return { span, framesDecoded: full?.framesDecoded ?? null, errors, truncatedTo };
}

async function regularFile(file: string): Promise<Stats> {
  const info = await lstat(file);
  if (!info.isFile()) {
    const what = info.isFIFO() ? 'a named pipe (FIFO): reading it waits on a writer that may never finish' : info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
    throw new ClipError('not_a_regular_file', `${file} is ${what}; record the stream into a regular file first`, {});
  }
  if (info.size === 0) throw new ClipError('corrupt_video', 'the file is empty (0 bytes)', {});
  return info;
}

async function unchangedSince(file: string, before: Stats): Promise<void> {
  const after = await lstat(file);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new ClipError('video_changed_during_read', `the file changed while it was read (${before.size} → ${after.size} bytes): it is still being written (a recording, or an endless stream?); ingest it once it is complete`, {
      size_before: before.size,
      size_after: after.size,
    });
  }
}

/** `[t=…s]` labels with one decimal, or more when one decimal would give two frames the same label. */
export function timeLabels(times: number[]): string[] {
  for (const digits of [1, 2, 3]) {
    const labels = times.map((t) => t.toFixed(digits));
    if (new Set(labels).size === labels.length) return labels;
  }
  return times.map((t) => t.toFixed(6));
}

const MIME: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mkv': 'video/x-matroska',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.gif': 'image/gif',
  '.avi': 'video/x-msvideo',
};

function mimeOf(file: string): string {
  return MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function uniqueMedia(media: MediaDescriptor[]): MediaDescriptor[] {
  const seen = new Set<string>();
  return media.filter((m) => !seen.has(m.id) && !!seen.add(m.id));
}

function probeDetails(probe: VideoProbe): Record<string, unknown> {
  return { duration: probe.duration, fps: probe.fps, codec: probe.codec, container: probe.container, width: probe.width, height: probe.height };
}

function firstError(tail: string): string {
  const line = tail.split('\n').find((l) => /\[(error|fatal|panic)\]/.test(l)) ?? tail.split('\n')[0] ?? '';
  return line.replace(/^(\[[^\]]*\] )+/, '').trim();
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

