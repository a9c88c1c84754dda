import { z } from 'zod';
import { VERIFY_DOMAINS } from '../../verify/domains.js';
import { sourceName } from '../qa/config.js';

export const VIDEO_EXTENSIONS = ['mp4', 'mkv', 'mov', 'webm', 'gif', 'avi'] as const;

export const frameModeSchema = z.enum([
  'fps', // one frame per 1/fps seconds (the first frame of each interval), evenly re-spaced when that exceeds maxFrames
  'keyframes', // only keyframes are decoded (`-skip_frame nokey`), at most one per duration/maxFrames interval
]);

export const videoFramesSchema = z
  .object({
    modes: z.array(frameModeSchema).min(1).default(['fps']),
    fps: z.number().positive().max(120).default(1),
    /** Frames per clip, over all modes; longer clips are sampled evenly over their whole length. */
    maxFrames: z.number().int().min(1).max(1024).default(32),
    /** Frames are scaled down (never up) so their longer side is at most this. */
    maxSide: z.number().int().min(16).max(8192).default(448),
    format: z.enum(['jpeg', 'png']).default('jpeg'),
    /** ffmpeg's `-q:v` for JPEG frames: 2 (best) … 31 (worst). */
    jpegQscale: z.number().int().min(2).max(31).default(3),
  })
  .strict();

const MiB = 1024 * 1024;

export const videoSourceSchema = z
  .object({
    name: sourceName,
    type: z.literal('video'),
    /** A video file, a folder (searched recursively for `extensions`) or a glob, relative to the config file. */
    path: z.string().min(1),
    extensions: z.array(z.string().regex(/^[A-Za-z0-9]+$/)).min(1).default([...VIDEO_EXTENSIONS]),
    frames: videoFramesSchema.default(() => videoFramesSchema.parse({})),
    /** Clips longer than this (seconds, probed or decoded) are refused with `video_too_long`… */
    maxDuration: z.number().positive().default(1200),
    /** …or, with `head`, only their first `maxDuration` seconds are sampled (signal `truncated_to`). */
    tooLong: z.enum(['refuse', 'head']).default('refuse'),
    /** Wall-clock limit for each ffprobe/ffmpeg process; its whole process group is killed past it. */
    timeoutMs: z.number().int().positive().default(300_000),
    /** Frame bytes one ffmpeg process may write before it is killed (`video_output_too_large`). */
    maxOutputBytes: z.number().int().positive().default(256 * MiB),
    /** Decoder/demuxer error lines tolerated before a clip is `corrupt_video`. */
    maxDecodeErrors: z.number().int().min(0).default(0),
    /** In fps mode the whole clip is decoded: less than this share of the probed duration means truncated. */
    minDecodedRatio: z.number().min(0).max(1).default(0.9),
    /** Videos up to this size are copied into the blob store; larger ones are referenced by path. */
    maxStoredVideoBytes: z.number().int().min(0).default(512 * MiB),
    /** Clips per work unit: the granularity of commit and resume. */
    clipsPerUnit: z.number().int().positive().default(8),
    /** ffmpeg processes at once (default: the number of cores). */
    concurrency: z.number().int().positive().optional(),
    /** Decoder threads per ffmpeg process; 0 lets ffmpeg choose. */
    ffmpegThreads: z.number().int().min(0).default(1),
    /** Default: `ffmpeg` / `ffprobe` found on PATH. */
    ffmpegPath: z.string().min(1).optional(),
    ffprobePath: z.string().min(1).optional(),
    domain: z.string().default('video'),
    /** Verifier domain (pipelines/verify); a name that is not one is refused when the config loads. */
    verifier: z.enum(VERIFY_DOMAINS).optional(),
    license: z.string().optional(),
    lang: z.string().optional(),
  })
  .strict();

export type VideoSourceConfig = z.output<typeof videoSourceSchema>;
export type VideoFramesConfig = z.output<typeof videoFramesSchema>;
export type FrameMode = z.output<typeof frameModeSchema>;
