/**
 * Time budgets. The CAS is synchronous, so a verification cannot be pre-empted: every step checks
 * the deadline cooperatively (`deadline.check()` between CAS calls), inputs are bounded before
 * they reach the CAS (see `cas.ts` guards), and asynchronous steps (the judge) race a timer.
 */

export class TimeoutError extends Error {
  constructor() {
    super('timeout');
    this.name = 'TimeoutError';
  }
}

/** Time this thread spent in one-time loads (the CAS engine), which no budget counts. */
let excludedMs = 0;

/** Extends every running deadline of this thread by `ms` (a one-time load happened inside it). */
export function excludeFromBudgets(ms: number): void {
  excludedMs += ms;
}

export class Deadline {
  private readonly end: number;
  private readonly excludedAtStart = excludedMs;
  constructor(readonly budgetMs: number) {
    this.end = performance.now() + budgetMs;
  }
  static none(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY);
  }
  /** When the budget runs out (performance.now() time), one-time loads since it began excluded. */
  get at(): number {
    return this.end + (excludedMs - this.excludedAtStart);
  }
  remaining(): number {
    return this.at - performance.now();
  }
  expired(): boolean {
    return performance.now() > this.at;
  }
  check(): void {
    if (this.expired()) throw new TimeoutError();
  }
}

/** Resolves with the promise's value, or rejects with TimeoutError once `ms` have passed. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError()), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
