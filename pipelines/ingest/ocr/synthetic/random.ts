import { sha256Hex } from '../../../shared/hash.js';
import { mulberry32 } from '../../../shared/random.js';

/** A seeded generator (mulberry32): the same seed draws the same sequence on every run and machine. */
export class Random {
  private readonly draw: () => number;

  constructor(seed: string) {
    this.draw = mulberry32(parseInt(sha256Hex(seed).slice(0, 8), 16));
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.draw();
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  int(min: number, max: number): number {
    return Math.floor(this.uniform(min, max + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}
