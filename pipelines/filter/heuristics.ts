import type { QualitySignals, Sample } from '../../schemas/sample.js';
import type { HeuristicThresholds } from './config.js';
import type { ImageFeatures } from './image-features.js';
import { detectLanguage } from '../shared/language/identify.js';
import { UNDETERMINED } from '../shared/language/codes.js';
import { duplicateNgramRatio, normaliseText, symbolRatio, words } from './text.js';

/** A per-sample verdict: the first failed check names the reason; details carry the threshold and the measured value. */
export type Verdict = { ok: true } | { ok: false; decision: 'dropped' | 'quarantined'; reason: string; details: Record<string, unknown> };

/** The sample's text: its text parts, and the question of a task that is not already among them. */
export function sampleText(sample: Sample): string {
  let parts = sample.content.filter((p) => p.type === 'text').map((p) => p.text ?? '');
  const question = sample.task?.question;
  // The question often repeats a text part (or holds it with the options): count each text once.
  if (question && !parts.some((p) => p.includes(question))) parts = [question, ...parts.filter((p) => !question.includes(p))];
  return parts.join('\n');
}

/**
 * What identifies a sample for text dedup: its text (`sampleText`) and, for a multiple-choice task,
 * its options unless the text lists them inline. "Which statement is true?" over other options is
 * another question. The quality heuristics keep to `sampleText`: options repeat each other's words
 * by design ("True, True" / "True, False"), which is not the repetition Gopher's rules look for.
 */
export function dedupText(sample: Sample, text: string): string {
  const options = sample.task?.choices ?? [];
  return options.length && !options.every((c) => text.includes(c)) ? `${text}\n${options.join('\n')}` : text;
}

export function measureQuality(text: string, images: Array<ImageFeatures | null>, langMinChars: number): QualitySignals {
  const tokens = words(normaliseText(text));
  const decoded = images.filter((f): f is Extract<ImageFeatures, { ok: true }> => !!f && f.ok);
  const trimmed = text.trim();
  return {
    text_chars: trimmed.length,
    words: tokens.length,
    lang: trimmed.length >= langMinChars ? detectLanguage(trimmed.slice(0, 2000)) : UNDETERMINED,
    symbol_ratio: round(symbolRatio(trimmed)),
    dup_ngram_ratio: round(duplicateNgramRatio(tokens, 5)),
    image_min_side: decoded.length ? Math.min(...decoded.map((f) => Math.min(f.width, f.height))) : null,
    image_max_aspect: decoded.length ? round(Math.max(...decoded.map((f) => Math.max(f.width, f.height) / Math.max(1, Math.min(f.width, f.height))))) : null,
    image_min_stddev: decoded.length ? round(Math.min(...decoded.map((f) => f.stddev))) : null,
  };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Checks in a fixed order; the first failure decides. Thresholds come from `thresholdsFor(config, kind)`. */
export function judge(sample: Sample, quality: QualitySignals, images: Array<ImageFeatures | null>, t: HeuristicThresholds): Verdict {
  const fail = (reason: string, details: Record<string, unknown>): Verdict => ({ ok: false, decision: 'dropped', reason, details });
  for (const [i, f] of images.entries()) {
    if (f && !f.ok) return { ok: false, decision: 'quarantined', reason: 'filter:undecodable_image', details: { media_id: sample.media[i]?.id, error: f.reason } };
  }
  if (sample.task && !sample.task.question.trim() && !sample.content.some((p) => p.type !== 'text')) return fail('heuristic:empty_question', {});
  if (sample.task && !sample.task.answer.replace(/<\|(begin|end)_of_box\|>/g, '').trim()) return fail('heuristic:empty_answer', { answer: sample.task.answer });
  if (quality.image_min_side !== null && quality.image_min_side < t.imageMinSide) {
    return fail('heuristic:image_too_small', { min_side: quality.image_min_side, threshold: t.imageMinSide });
  }
  if (quality.image_max_aspect !== null && quality.image_max_aspect > t.imageMaxAspect) {
    return fail('heuristic:image_aspect', { aspect: quality.image_max_aspect, threshold: t.imageMaxAspect });
  }
  if (quality.image_min_stddev !== null && quality.image_min_stddev < t.imageMinStddev) {
    return fail('heuristic:image_uniform', { stddev: quality.image_min_stddev, threshold: t.imageMinStddev });
  }
  const hasText = sample.kind !== 'video' && sample.kind !== 'grounding' && sample.kind !== 'gui';
  if (hasText) {
    if (quality.text_chars < t.textMinChars) return fail('heuristic:text_too_short', { chars: quality.text_chars, threshold: t.textMinChars });
    if (quality.words < t.textMinWords) return fail('heuristic:too_few_words', { words: quality.words, threshold: t.textMinWords });
  }
  if (quality.text_chars > t.textMaxChars) return fail('heuristic:text_too_long', { chars: quality.text_chars, threshold: t.textMaxChars });
  if (quality.symbol_ratio > t.maxSymbolRatio) return fail('heuristic:symbol_ratio', { ratio: quality.symbol_ratio, threshold: t.maxSymbolRatio });
  if (quality.words >= t.repetitionMinWords && quality.dup_ngram_ratio > t.maxDupNgramRatio) {
    return fail('heuristic:repetition', { dup_5gram_ratio: quality.dup_ngram_ratio, threshold: t.maxDupNgramRatio, words: quality.words });
  }
  if (t.languages.length && quality.lang !== UNDETERMINED && !t.languages.includes(quality.lang)) {
    return fail('heuristic:language', { lang: quality.lang, allowed: t.languages });
  }
  return { ok: true };
}
