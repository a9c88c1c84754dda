import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { StageContext } from '../../shared/runner/stage.js';
import { DEFAULT_DOWNLOAD_OPTIONS, sharedDownloader, type Downloader } from './download.js';

/** Remote image fetching; present = on. Every field has a safe default. */
export const downloadSchema = z
  .object({
    concurrency: z.number().int().positive().default(8),
    retries: z.number().int().min(0).default(3),
    backoffMs: z.number().int().min(0).default(500),
    timeoutMs: z.number().int().positive().default(30_000),
    /** Larger responses are refused (a declared Content-Length before reading, else when the stream passes it). */
    maxBytes: z.number().int().positive().default(32 * 1024 * 1024),
    contentTypes: z.array(z.string().regex(/^[a-z0-9.+-]+\/([a-z0-9.+-]+|\*)$/i, 'a media type like image/jpeg or image/*')).min(1).default(['image/*']),
    /** Keep downloads on disk keyed by URL hash; a re-run reads them from there. */
    cache: z.boolean().default(true),
    /** Where the cache lives, relative to the config file; default `<shardsDir>/<dataset>/_download-cache`. */
    cacheDir: z.string().optional(),
    /** Allow loopback / private / link-local / unique-local addresses (e.g. an internal mirror). */
    allowPrivateNetworks: z.boolean().default(false),
    maxRedirects: z.number().int().min(0).default(5),
  })
  .strict();

export type DownloadConfig = z.output<typeof downloadSchema>;

/** The process-wide downloader for these settings; the cache defaults to `<shardsDir>/<dataset>/_download-cache`. */
export function downloaderFromConfig(config: DownloadConfig, ctx: StageContext): Downloader {
  const { cache, cacheDir, ...limits } = config;
  const dir = !cache ? null : cacheDir ? resolve(ctx.baseDir, cacheDir) : join(ctx.layout.root, '_download-cache');
  return sharedDownloader({ ...DEFAULT_DOWNLOAD_OPTIONS, ...limits, cacheDir: dir });
}
