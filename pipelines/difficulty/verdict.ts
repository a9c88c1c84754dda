import type { VerifyResult } from '../verify/types.js';

/** A verification that did not decide: over its time budget, or the verifier worker failed. */
export function isUndecided(result: VerifyResult): boolean {
  return result.reason === 'timeout' || result.reason.startsWith('error:');
}

export interface Verdict {
  result: VerifyResult;
  /** True when every attempt ran out of time or failed: the rollout is neither right nor wrong. */
  undecided: boolean;
  attempts: number;
}

/** `verifyDecided` over a group: one batch first, then a retry of each undecided item on its own. */
export async function verifyAllDecided(
  batch: () => Promise<VerifyResult[]>,
  one: (index: number) => Promise<VerifyResult>,
  retries = 1,
): Promise<Verdict[]> {
  const first = await batch();
  if (retries < 1 || !first.some(isUndecided)) return first.map((result) => ({ result, undecided: isUndecided(result), attempts: 1 }));
  return Promise.all(
    first.map(async (result, i) => {
      if (!isUndecided(result) || retries < 1) return { result, undecided: isUndecided(result), attempts: 1 };
      const again = await verifyDecided(() => one(i), retries - 1);
      return { ...again, attempts: again.attempts + 1 };
    }),
  );
}

/**
 * Verifies with retries for undecided outcomes. A timeout is never scored as a wrong answer: a
 * retry gets a fresh budget (a loaded machine or a replaced worker can cost one), and a rollout that
 * stays undecided is reported as such, for the caller to leave out of k/n and count.
 */
export async function verifyDecided(verifyOnce: () => Promise<VerifyResult>, retries = 1): Promise<Verdict> {
  let result = await verifyOnce();
  let attempts = 1;
  while (isUndecided(result) && attempts <= retries) {
    result = await verifyOnce();
    attempts++;
  }
  return { result, undecided: isUndecided(result), attempts };
}
