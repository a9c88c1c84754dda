import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { mapBounded } from '../../shared/concurrency.js';
import { stableHash } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit } from '../adapter.js';
import { readInputFile } from '../read-input.js';
import { RecordError } from '../record-error.js';
import { sourceFiles, sourceUri } from '../source-files.js';
import { captionsFromBytes, MAX_CAPTION_BYTES, type CaptionRead } from './captions.js';
import type { CaptionSourceConfig } from './config.js';
import { emitCaptionItem, type CaptionEnv } from './emit.js';

interface FolderEntry {
  image: string;
  /** The first sidecar present, in captionExtensions order. */
  sidecar: string | null;
}

export interface FolderPayload {
  layout: 'folder';
  entries: FolderEntry[];
}

/** Images (any case of the configured extensions) with their sidecars, in slices of `unitRows`. */
export async function planFolder(source: CaptionSourceConfig, ctx: StageContext): Promise<AdapterUnit[]> {
  const exts = [...new Set(source.imageExtensions.flatMap((e) => [e.toLowerCase(), e.toUpperCase()]))];
  const images = await sourceFiles(source.name, source.path, ctx.baseDir, `**/*.{${exts.join(',')}}`);
  const entries: FolderEntry[] = images.map((image) => ({ image, sidecar: findSidecar(image, source.captionExtensions) }));
  const units: AdapterUnit[] = [];
  for (let start = 0; start < entries.length; start += ctx.config.ingest.unitRows) {
    const slice = entries.slice(start, start + ctx.config.ingest.unitRows);
    const end = start + slice.length;
    const payload: FolderPayload = { layout: 'folder', entries: slice };
    units.push({
      key: `${source.path}#${start}-${end}`,
      label: `${source.name} images ${start}–${end} of ${entries.length}`,
      fingerprint: await fingerprintFiles(slice.flatMap((e) => (e.sidecar ? [e.image, e.sidecar] : [e.image])), ctx.baseDir),
      size: slice.length,
      payload,
    });
  }
  return units;
}

export async function processFolder(payload: FolderPayload, env: CaptionEnv, sink: UnitSink): Promise<void> {
  const { source, ctx } = env;
  await mapBounded(payload.entries, ctx.config.ingest.concurrency, async ({ image, sidecar }) => {
    await emitCaptionItem(
      {
        uri: sourceUri(image, ctx.baseDir),
        locator: 'image',
        image,
        imageBase: dirname(image),
        captions: sidecar ? await readSidecar(sidecar, source) : null,
        meta: sidecar ? { sidecar: basename(sidecar) } : {},
        raw: JSON.stringify({ image, sidecar }),
      },
      env,
      sink,
    );
  });
}

function findSidecar(image: string, captionExtensions: string[]): string | null {
  const stem = image.slice(0, image.length - extname(image).length);
  for (const ext of captionExtensions) if (existsSync(`${stem}.${ext}`)) return `${stem}.${ext}`;
  return null;
}

async function readSidecar(path: string, source: CaptionSourceConfig): Promise<CaptionRead> {
  try {
    const bytes = await readInputFile(path, MAX_CAPTION_BYTES, { missing: 'unreadable_caption', tooLarge: 'caption_too_large' });
    const ext = extname(path).slice(1).toLowerCase();
    return captionsFromBytes(bytes, ext, source.captionFields, basename(path));
  } catch (err) {
    if (err instanceof RecordError) return { ok: false, reason: err.reason === 'not_a_file' ? 'unreadable_caption' : err.reason, message: err.message };
    return { ok: false, reason: 'unreadable_caption', message: `${path}: ${(err as Error).message}` };
  }
}

/** Size and mtime of every file of the slice: cheap, and changes when any of them is replaced. */
async function fingerprintFiles(files: string[], baseDir: string): Promise<string> {
  const parts: Array<[string, number, number]> = [];
  for (const file of files) {
    const s = await stat(file);
    parts.push([sourceUri(file, baseDir), s.size, Math.floor(s.mtimeMs)]);
  }
  return stableHash(parts);
}
