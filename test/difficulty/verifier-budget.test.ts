import { describe, expect, it } from 'vitest';
import { verifyDecided } from '../../pipelines/difficulty/verdict.js';
import { createVerifierPool } from '../../pipelines/verify/pool.js';
import type { VerifyResult } from '../../pipelines/verify/types.js';

const glm = (answer: string) => `<think>Working.</think><answer><|begin_of_box|>${answer}<|end_of_box|></answer>`;
/** An OCR pair whose edit distance (two 10k-character strings) takes ~200 ms: far beyond a 5–30 ms budget. */
const text = Array.from({ length: 3000 }, (_, i) => String(i)).join(',').slice(0, 9_900);
const other = Array.from({ length: 3000 }, (_, i) => String(3000 - i)).join(';').slice(0, 9_900);

describe('verifier pool budget counts only the verification itself', () => {
  it('scores exact matches on a cold pool, however long its workers take to start', async () => {
    // Starting a worker (tsx, CAS warm-up) takes seconds on a loaded machine; the budget must not see it.
    const pool = createVerifierPool({ threads: 2, timeBudgetMs: 1_000 });
    try {
      const answers = Array.from({ length: 12 }, (_, i) => String(i * 7 + 18));
      const results = await Promise.all(answers.map((a) => pool.verify({ domain: 'math', response: glm(a), groundTruth: a })));
      expect(results.map((r) => r.reason)).not.toContain('timeout');
      expect(results.every((r) => r.correct)).toBe(true);
      expect(pool.timeouts).toBe(0);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('a worker replaced after a timeout does not make the next verification time out', async () => {
    const pool = createVerifierPool({ threads: 1, timeBudgetMs: 1_000, hardGraceMs: 0 });
    try {
      await pool.ready();
      const slow = pool.verify({ domain: 'ocr', response: glm(text), groundTruth: other }, { timeBudgetMs: 5 });
      // Queued behind the slow one, then run on the freshly started replacement worker.
      const next = pool.verify({ domain: 'math', response: glm('\\frac{1}{2}'), groundTruth: '0.5' });
      expect(await slow).toMatchObject({ score: 0, reason: 'timeout' });
      expect(await next).toMatchObject({ score: 1, correct: true });
    } finally {
      await pool.close();
    }
  }, 120_000);
});

describe('verifying a group in one worker message', () => {
  it('gives every item its own budget: only the slow one times out, the rest keep their scores', async () => {
    const pool = createVerifierPool({ threads: 1, timeBudgetMs: 2_000, hardGraceMs: 0 });
    try {
      await pool.ready();
      for (const slowAt of [0, 3, 7]) {
        const reqs = Array.from({ length: 8 }, (_, i) =>
          i === slowAt ? { domain: 'ocr' as const, response: glm(text), groundTruth: other } : { domain: 'math' as const, response: glm(String(i + 10)), groundTruth: i % 2 ? String(i + 10) : '0' },
        );
        // 30 ms: the edit distance of two 10k strings takes ~200 ms; the small comparisons well under 1 ms.
        const results = await pool.verifyBatch(reqs, { timeBudgetMs: 30 });
        expect(results).toHaveLength(8);
        for (const [i, r] of results.entries()) {
          if (i === slowAt) expect(r.reason).toBe('timeout');
          else expect(r.correct, `item ${i}`).toBe(i % 2 === 1);
        }
      }
      const plain = await pool.verifyBatch([1, 2, 3].map((x) => ({ domain: 'math' as const, response: glm(`\\frac{${x}}{2}`), groundTruth: String(x / 2) })));
      expect(plain.map((r) => r.correct)).toEqual([true, true, true]);
    } finally {
      await pool.close();
    }
  }, 120_000);
});

describe('verifyDecided', () => {
  const result = (reason: string, correct = false): VerifyResult => ({ score: correct ? 1 : 0, correct, extracted: null, reason, formatOk: true }) as VerifyResult;

  it('retries an undecided verification and reports what stays undecided instead of calling it wrong', async () => {
    for (const sequence of [['timeout', 'exact match'], ['timeout', 'timeout'], ['error: worker died', 'exact match'], ['wrong answer']]) {
      let call = 0;
      const verdict = await verifyDecided(async () => {
        const reason = sequence[call++]!;
        return result(reason, reason === 'exact match');
      });
      const last = sequence.at(-1)!;
      expect(verdict.attempts).toBe(sequence.length);
      expect(verdict.undecided).toBe(last === 'timeout');
      expect(verdict.result.reason).toBe(last);
    }
  });
});
