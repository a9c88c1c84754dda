import type { FrameMode } from './config.js';

export interface DecodedFrame {
  /** Presentation time in seconds from the start of the clip. */
  t: number;
  key: boolean;
  modes: FrameMode[];
  image: Buffer;
}

/**
 * Keeps an evenly spaced subset of a stream of unknown length in bounded memory: every frame until
 * `2 × limit` are held, then every other one is dropped and only every second later arrival is
 * taken, and so on (stride doubling). `pickEvenly` then trims the result to `limit`.
 */
export class EvenReservoir<T> {
  private items: T[] = [];
  private stride = 1;
  private seen = 0;

  constructor(private readonly limit: number) {}

  add(item: T): void {
    if (this.seen++ % this.stride !== 0) return;
    this.items.push(item);
    if (this.items.length >= 2 * this.limit) {
      this.items = this.items.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }

  /** How many items were offered, kept or not. */
  get offered(): number {
    return this.seen;
  }

  result(): T[] {
    return pickEvenly(this.items, this.limit);
  }
}

/** `limit` items spread evenly over `items`, first and last included. */
export function pickEvenly<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  if (limit === 1) return [items[Math.floor((items.length - 1) / 2)] as T];
  const picked: T[] = [];
  for (let i = 0; i < limit; i++) picked.push(items[Math.round((i * (items.length - 1)) / (limit - 1))] as T);
  return picked;
}

/** Sorts frames of every mode by time; frames at the same timestamp (a keyframe both modes chose) become one. */
export function mergeFrames(lists: DecodedFrame[][], limit: number): DecodedFrame[] {
  const all = lists.flat().sort((a, b) => a.t - b.t);
  const merged: DecodedFrame[] = [];
  for (const frame of all) {
    const last = merged[merged.length - 1];
    if (last && Math.abs(last.t - frame.t) < 1e-6) {
      merged[merged.length - 1] = { ...last, key: last.key || frame.key, modes: [...new Set([...last.modes, ...frame.modes])] };
    } else merged.push(frame);
  }
  return pickEvenly(merged, limit);
}
