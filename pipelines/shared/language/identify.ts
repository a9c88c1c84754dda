import { eld } from 'eld/medium';
import { DETECTED_LANGUAGES, UNDETERMINED } from './codes.js';

/** A text's language by both codes: ISO 639-1 (`sample.lang`) and ISO 639-3 (`signals.quality.lang`, `heuristics.languages`). */
export interface IdentifiedLanguage {
  iso639_1: string;
  iso639_3: string;
}

/**
 * The language of a text, or null when the detector is not confident (short or mixed text).
 * ELD (Nito-ELD, n-gram model, pure JS; the medium database, 60 languages): on the corpora here it
 * reads 97–100% of GSM8K, MMLU-STEM, MATH-500 and COCO captions as English, where franc, used
 * before, said Scots, Kapampangan or Afrikaans for 11–41% of them, at 0.03–0.06 ms a text against
 * franc's 0.40 (`STRATUM_BENCH_FILTER_PARTS=language pnpm bench filter`; docs/filter.md).
 */
export function identifyLanguage(text: string): IdentifiedLanguage | null {
  const result = eld.detect(text);
  if (!result.language || !result.isReliable()) return null;
  const iso639_3 = DETECTED_LANGUAGES[result.language as keyof typeof DETECTED_LANGUAGES];
  return iso639_3 ? { iso639_1: result.language, iso639_3 } : null;
}

/** ISO 639-3 code of a text's language, or `und`. */
export function detectLanguage(text: string): string {
  return identifyLanguage(text)?.iso639_3 ?? UNDETERMINED;
}
