import { lstat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { toSampleRow } from '../../../schemas/sample.js';
import { mapBounded } from '../../shared/concurrency.js';
import { stableHash } from '../../shared/hash.js';
import type { SourceAdapter } from '../adapter.js';
import { RecordError } from '../record-error.js';
import { sourceFiles, sourceUri } from '../source-files.js';
import { ingestClip, type ClipRef } from './clip.js';
import { ClipError } from './clip-error.js';
import type { VideoSourceConfig } from './config.js';
import { findFfmpeg } from './ffmpeg-tools.js';
import { sidecarPaths } from './sidecar.js';

interface VideoUnitPayload {
  clips: ClipRef[];
}

/**
 * Video clips (mp4/mkv/mov/webm/gif/avi) with optional `clip.txt` / `clip.json` sidecars → one
 * `video` sample per clip: frames with their timestamps (GLM style), the video in the blob store.
 * Decoding runs in system ffmpeg processes, one per core at most, each bounded in time and output.
 */
export const videoAdapter: SourceAdapter<VideoSourceConfig> = {
  type: 'video',
  version: 2, // 2: as qa 2, for sidecar questions with options

  async plan(source, ctx) {
    await findFfmpeg(source.name, source, ctx.baseDir); // fail early, with the install hint
    const files = await listClips(source, ctx.baseDir);
    const units = [];
    for (let start = 0; start < files.length; start += source.clipsPerUnit) {
      const batch = files.slice(start, start + source.clipsPerUnit);
      const clips = batch.map((file) => ({ file, uri: sourceUri(file, ctx.baseDir) }));
      const first = clips[0]?.uri ?? '';
      const payload: VideoUnitPayload = { clips };
      units.push({
        key: `${first}+${clips.length}`,
        label: `${source.name} ${first}${clips.length > 1 ? ` (+${clips.length - 1} clips)` : ''}`,
        fingerprint: stableHash(await Promise.all(batch.map(fileState))),
        size: clips.length,
        payload,
      });
    }
    return units;
  },

  async process(source, unit, ctx, sink) {
    const { clips } = unit.payload as VideoUnitPayload;
    const tools = await findFfmpeg(source.name, source, ctx.baseDir);
    sink.inputs(clips.length);
    await mapBounded(clips, source.concurrency ?? availableParallelism(), async (clip) => {
      const ref = { sample_id: null, source_uri: clip.uri, locator: 'file' };
      try {
        const sample = await ingestClip(ctx, source, tools, clip);
        sink.keep({ ...ref, sample_id: sample.id }, toSampleRow(sample));
      } catch (err) {
        if (err instanceof ClipError) sink.quarantine(ref, err.reason, { message: err.message, ...err.details });
        else if (err instanceof RecordError) sink.quarantine(ref, err.reason, { message: err.message });
        else if ((err as NodeJS.ErrnoException).code === 'ENOENT') sink.quarantine(ref, 'missing_video', { message: `${clip.file} disappeared after planning` });
        else throw err;
      }
    });
  },
};

/**
 * The clips of a source, sorted. A folder listing yields regular files only (named pipes and
 * devices there are never opened); a `path` naming a pipe itself is listed, to be quarantined.
 */
async function listClips(source: VideoSourceConfig, baseDir: string): Promise<string[]> {
  const abs = resolve(baseDir, source.path);
  const info = await lstat(abs).catch(() => null);
  if (info && !info.isFile() && !info.isDirectory()) return [abs];
  const exts = [...new Set(source.extensions.flatMap((e) => [e.toLowerCase(), e.toUpperCase()]))];
  return sourceFiles(source.name, source.path, baseDir, `**/*.{${exts.join(',')}}`);
}

/** What a unit's fingerprint covers: each clip's and sidecar's size and mtime (videos are too big to hash at plan time). */
async function fileState(file: string): Promise<unknown> {
  const state = async (path: string) => {
    const s = await lstat(path).catch(() => null);
    return s ? [s.size, s.mtimeMs, s.isFile()] : null;
  };
  const { txt, json } = sidecarPaths(file);
  return [file, await state(file), await state(txt), await state(json)];
}
