import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casLoaded } from '../../pipelines/verify/cas.js';
import { verifyDeterministic } from '../../pipelines/verify/deterministic.js';
import { createVerifierPool } from '../../pipelines/verify/pool.js';
import { Deadline, excludeFromBudgets } from '../../pipelines/verify/timeout.js';

const glm = (answer: string) => `<think>Working.</think><answer><|begin_of_box|>${answer}<|end_of_box|></answer>`;

/**
 * The CAS engine loads on first use (about 0.3 s of CPU: its module and the first engine), so
 * verifier workers start without it and answers our own parser reads never pay for it. The load
 * happens inside some verification, and no budget may count it. The load is made 1.5 s slower (as
 * on a busy machine, on any machine), longer than the 1 s budgets here, which are far above the
 * comparisons that follow the load (a few ms): no timing decides the outcome.
 */
const BUDGET_MS = 1_000;

describe('the CAS engine, loaded on first use', () => {
  beforeAll(() => {
    process.env.STRATUM_TEST_CAS_LOAD_DELAY_MS = '1500'; // read at the load, here and in the workers started below
  });
  afterAll(() => {
    delete process.env.STRATUM_TEST_CAS_LOAD_DELAY_MS;
  });

  it('is not loaded for answers our own parser reads (integers, fractions, arithmetic)', () => {
    for (const [answer, gold] of [['18', '18'], ['\\frac{3}{7}', '\\frac{6}{14}'], ['2+\\sqrt{2}', '\\sqrt{2}+2']] as const) {
      expect(verifyDeterministic({ domain: 'math', response: glm(answer), groundTruth: gold }, 10_000).result.correct).toBe(true);
    }
    expect(casLoaded()).toBe(false);
  });

  it('loads inside a verification whose budget does not count the load (in-process)', () => {
    expect(casLoaded()).toBe(false);
    const { result } = verifyDeterministic({ domain: 'math', response: glm('\\binom{5}{2}'), groundTruth: '10' }, BUDGET_MS);
    expect(casLoaded()).toBe(true);
    expect(result).toMatchObject({ correct: true });
    expect(result.reason).not.toBe('timeout');
  });

  it('loads inside a worker verification without the hard budget counting the load', async () => {
    const pool = createVerifierPool({ threads: 1, timeBudgetMs: BUDGET_MS, hardGraceMs: 0 });
    try {
      await pool.ready();
      const single = await pool.verify({ domain: 'math', response: glm('\\binom{5}{2}'), groundTruth: '10' });
      expect(single).toMatchObject({ correct: true });
      expect(pool.timeouts).toBe(0);
    } finally {
      await pool.close();
    }
    const batch = createVerifierPool({ threads: 1, timeBudgetMs: BUDGET_MS, hardGraceMs: 0 });
    try {
      await batch.ready();
      // The load falls on the second item of a group: its stamp waits, the others keep their own clocks.
      const results = await batch.verifyBatch([
        { domain: 'math', response: glm('18'), groundTruth: '18' },
        { domain: 'math', response: glm('\\binom{6}{3}'), groundTruth: '20' },
        { domain: 'math', response: glm('7'), groundTruth: '8' },
      ]);
      expect(results.map((r) => r.correct)).toEqual([true, true, false]);
      expect(results.map((r) => r.reason)).not.toContain('timeout');
      expect(batch.timeouts).toBe(0);
    } finally {
      await batch.close();
    }
  }, 120_000);

  it('a one-time load extends the deadlines running at the time, not later ones', () => {
    const running = new Deadline(50);
    excludeFromBudgets(1_000_000);
    expect(running.remaining()).toBeGreaterThan(900_000);
    expect(running.expired()).toBe(false);
    const later = new Deadline(50);
    expect(later.remaining()).toBeLessThanOrEqual(50);
  });
});
