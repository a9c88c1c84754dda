import type { Sample } from '../../../schemas/sample.js';
import type { QualityConfig } from './config.js';

export type QualityDecision =
  | { kind: 'bucket'; bucket: string; score: number | null }
  | { kind: 'below_floor'; score: number; floor: number }
  | { kind: 'invalid'; value: unknown };

/**
 * The quality bucket of a sample from its score: the bucket with the highest `min` ≤ score. The
 * score is read at a dot path in `signals` (typed fields) or else in the `signals.extra` JSON.
 * A missing score goes to the `missing` bucket; a score that is present but not a finite number
 * (a string, NaN, an object) is invalid: it must not silently land in some bucket.
 */
export function qualityOf(sample: Sample, config: QualityConfig): QualityDecision {
  const value = readScore(sample, config.score);
  if (value === undefined || value === null) return { kind: 'bucket', bucket: config.missing, score: null };
  if (typeof value !== 'number' || !Number.isFinite(value)) return { kind: 'invalid', value };
  const ordered = [...config.buckets].sort((a, b) => b.min - a.min);
  const hit = ordered.find((b) => value >= b.min);
  if (hit) return { kind: 'bucket', bucket: hit.name, score: value };
  const lowest = ordered[ordered.length - 1]!;
  if (config.belowFloor === 'lowest') return { kind: 'bucket', bucket: lowest.name, score: value };
  return { kind: 'below_floor', score: value, floor: lowest.min };
}

function readScore(sample: Sample, path: string): unknown {
  const keys = path.split('.');
  const typed = dig(sample.signals as unknown, keys);
  if (typed !== undefined) return typed;
  let extra: unknown;
  try {
    extra = JSON.parse(sample.signals.extra || '{}');
  } catch {
    return { unparseable_signals_extra: sample.signals.extra.slice(0, 200) };
  }
  return dig(extra, keys);
}

function dig(value: unknown, keys: string[]): unknown {
  let at = value;
  for (const key of keys) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
