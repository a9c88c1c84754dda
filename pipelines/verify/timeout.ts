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

export class Deadline {
  readonly at: number;
  constructor(readonly budgetMs: number) {
    this.at = performance.now() + budgetMs;
  }
  static none(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY);
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
