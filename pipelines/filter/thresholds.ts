import type { SampleKind } from '../../schemas/sample.js';
import type { FilterConfig, HeuristicThresholds } from './config.js';

// Plain data, apart from config.ts: the map step reads thresholds without loading zod and the schemas.
const BASE_HEURISTICS: HeuristicThresholds = {
  imageMinSide: 32,
  imageMaxAspect: 10,
  imageMinStddev: 2,
  textMinChars: 1,
  textMaxChars: 200_000,
  textMinWords: 1,
  maxSymbolRatio: 0.5,
  maxDupNgramRatio: 0.3,
  repetitionMinWords: 50,
  languages: [],
  langMinChars: 40,
};

/** Defaults per kind: photos follow DataComp (min side 200, aspect ≤ 3); documents, GUIs and diagrams are allowed more. */
export const DEFAULT_HEURISTICS: Record<SampleKind, HeuristicThresholds> = {
  // spam alt text repeats within a few words: captions are judged from 10 words on
  caption: { ...BASE_HEURISTICS, imageMinSide: 200, imageMaxAspect: 3, textMinChars: 5, textMinWords: 2, textMaxChars: 2000, repetitionMinWords: 10 },
  interleaved: { ...BASE_HEURISTICS, textMinChars: 50, textMinWords: 10 },
  ocr: { ...BASE_HEURISTICS, maxDupNgramRatio: 0.6, maxSymbolRatio: 0.6 },
  grounding: { ...BASE_HEURISTICS, imageMinSide: 64, imageMaxAspect: 5 },
  gui: { ...BASE_HEURISTICS, imageMinSide: 64, imageMaxAspect: 6 },
  video: { ...BASE_HEURISTICS, imageMinSide: 32 },
  qa: { ...BASE_HEURISTICS, textMinChars: 3, maxSymbolRatio: 0.6 },
};

/** The thresholds that apply to one kind: per-kind defaults ← dataset-wide overrides ← per-kind overrides. */
export function thresholdsFor(config: FilterConfig, kind: SampleKind): HeuristicThresholds {
  return { ...DEFAULT_HEURISTICS[kind], ...config.heuristics, ...(config.perKind[kind] ?? {}) } as HeuristicThresholds;
}
