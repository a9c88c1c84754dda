import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SourceConfigError } from '../source-files.js';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
  /** `-fps_mode` arrived in ffmpeg 5.1; older builds only know `-vsync`. */
  passthroughArgs: string[];
}

const cache = new Map<string, Promise<FfmpegTools>>();

/**
 * The system ffmpeg and ffprobe: the configured paths, else the first on PATH. Throws a
 * SourceConfigError that says how to install them when they are absent or do not run.
 */
export function findFfmpeg(sourceName: string, configured: { ffmpegPath?: string; ffprobePath?: string }, baseDir: string): Promise<FfmpegTools> {
  const key = `${configured.ffmpegPath ?? ''}\u0000${configured.ffprobePath ?? ''}\u0000${baseDir}`;
  let found = cache.get(key);
  if (!found) {
    found = locate(sourceName, configured, baseDir);
    found.catch(() => cache.delete(key));
    cache.set(key, found);
  }
  return found;
}

async function locate(sourceName: string, configured: { ffmpegPath?: string; ffprobePath?: string }, baseDir: string): Promise<FfmpegTools> {
  const ffmpeg = resolveTool(sourceName, 'ffmpeg', configured.ffmpegPath, baseDir);
  const ffprobe = resolveTool(sourceName, 'ffprobe', configured.ffprobePath, baseDir);
  let version: string;
  try {
    version = (await promisify(execFile)(ffmpeg, ['-hide_banner', '-version'], { timeout: 10_000 })).stdout;
  } catch (err) {
    throw new SourceConfigError(`source ${sourceName}: ${ffmpeg} -version failed (${(err as Error).message.split('\n')[0]}); ${INSTALL_HINT}`);
  }
  return { ffmpeg, ffprobe, passthroughArgs: supportsFpsMode(version) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'] };
}

const INSTALL_HINT = 'install ffmpeg (Debian/Ubuntu: `apt-get install ffmpeg`) or set ffmpegPath / ffprobePath in the source config';

function resolveTool(sourceName: string, tool: string, configured: string | undefined, baseDir: string): string {
  if (configured) {
    const path = isAbsolute(configured) || !configured.includes('/') ? configured : resolve(baseDir, configured);
    const onPath = path.includes('/') ? (isExecutable(path) ? path : null) : searchPath(path);
    if (!onPath) throw new SourceConfigError(`source ${sourceName}: ${tool} not found or not executable at ${configured}; ${INSTALL_HINT}`);
    return onPath;
  }
  const found = searchPath(tool);
  if (!found) throw new SourceConfigError(`source ${sourceName}: ${tool} not found on PATH (${process.env.PATH ?? ''}); ${INSTALL_HINT}`);
  return found;
}

function searchPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `ffmpeg version 5.1.9-0+deb12u1` → true; git builds (`N-…`) are assumed recent. */
function supportsFpsMode(versionOutput: string): boolean {
  const m = /ffmpeg version (?:n)?(\d+)\.(\d+)/.exec(versionOutput);
  if (!m) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 1);
}
