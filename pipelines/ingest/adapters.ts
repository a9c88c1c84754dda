import type { SourceAdapter } from './adapter.js';
import type { SourceConfig, SourceType } from './source-config.js';

type AnyAdapter = SourceAdapter<SourceConfig>;

/** Adapters by source type, loaded on demand so a QA-only job never loads PDF or OCR code. */
export const ADAPTERS: Record<SourceType, () => Promise<AnyAdapter>> = {
  qa: async () => (await import('./qa/adapter.js')).qaAdapter as AnyAdapter,
  video: async () => (await import('./video/adapter.js')).videoAdapter as AnyAdapter,
};
