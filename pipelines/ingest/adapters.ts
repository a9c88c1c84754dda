import type { SourceAdapter } from './adapter.js';
import type { SourceConfig, SourceType } from './source-config.js';

type AnyAdapter = SourceAdapter<SourceConfig>;

/** Adapters by source type, loaded on demand so a QA-only job never loads PDF or OCR code. */
export const ADAPTERS: Record<SourceType, () => Promise<AnyAdapter>> = {
  qa: async () => (await import('./qa/adapter.js')).qaAdapter as AnyAdapter,
  grounding: async () => (await import('./grounding/adapter.js')).groundingAdapter as AnyAdapter,
  interleaved: async () => (await import('./interleaved/adapter.js')).interleavedAdapter as AnyAdapter,
  gui: async () => (await import('./gui/adapter.js')).guiAdapter as AnyAdapter,
  video: async () => (await import('./video/adapter.js')).videoAdapter as AnyAdapter,
  caption: async () => (await import('./caption/adapter.js')).captionAdapter as AnyAdapter,
  pdf: async () => (await import('./pdf/adapter.js')).pdfAdapter as AnyAdapter,
  ocr: async () => (await import('./ocr/adapter.js')).ocrAdapter as AnyAdapter,
};
