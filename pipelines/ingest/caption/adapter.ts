import type { StageContext } from '../../shared/runner/stage.js';
import type { SourceAdapter } from '../adapter.js';
import type { Downloader } from '../media/download.js';
import { downloaderFromConfig } from '../media/download-config.js';
import { planCoco, processCoco, type CocoPayload } from './coco.js';
import type { CaptionSourceConfig } from './config.js';
import type { CaptionEnv } from './emit.js';
import { planFolder, processFolder, type FolderPayload } from './folder.js';
import { planRecords, processRecords, type RecordsPayload } from './records.js';
import { planWebDataset, processWebDataset, type WebDatasetPayload } from './webdataset.js';

type CaptionPayload = FolderPayload | RecordsPayload | WebDatasetPayload | CocoPayload;

/**
 * Image-caption pairs from image folders with sidecar captions, record files, WebDataset shards or
 * COCO caption files: each image is fetched/decoded/hashed once (on the image process pool) and
 * stored in the blob store; each (image, caption) pair becomes a `caption` sample.
 */
export const captionAdapter: SourceAdapter<CaptionSourceConfig> = {
  type: 'caption',
  version: 1,

  async plan(source, ctx) {
    switch (source.layout) {
      case 'folder':
        return planFolder(source, ctx);
      case 'records':
        return planRecords(source, ctx);
      case 'webdataset':
        return planWebDataset(source, ctx);
      case 'coco-captions':
        return planCoco(source, ctx);
    }
  },

  async process(source, unit, ctx, sink) {
    const payload = unit.payload as CaptionPayload;
    const env: CaptionEnv = { source, ctx, downloader: downloaderFor(source, ctx) };
    switch (payload.layout) {
      case 'folder':
        return processFolder(payload, env, sink);
      case 'records':
        return processRecords(payload, env, sink);
      case 'webdataset':
        return processWebDataset(payload, env, sink);
      case 'coco-captions':
        return processCoco(payload, env, sink);
    }
  },
};

function downloaderFor(source: CaptionSourceConfig, ctx: StageContext): Downloader | null {
  return source.download ? downloaderFromConfig(source.download, ctx) : null;
}
