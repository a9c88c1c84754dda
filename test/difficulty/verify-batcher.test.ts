import { describe, expect, it } from 'vitest';
import { VerifyBatcher } from '../../pipelines/difficulty/verify-batcher.js';
import { mulberry32 } from '../../pipelines/shared/random.js';
import type { VerifyRequest, VerifyResult } from '../../pipelines/verify/types.js';

const req = (tag: string): VerifyRequest => ({ domain: 'math', response: tag, groundTruth: tag });
const result = (r: VerifyRequest): VerifyResult => ({ score: 1, correct: true, extracted: r.response, reason: `ok ${r.response}`, formatOk: true }) as unknown as VerifyResult;

describe('VerifyBatcher', () => {
  it('hands every group back its own results in order, however groups were packed into messages', async () => {
    const random = mulberry32(5);
    for (let trial = 0; trial < 30; trial++) {
      const slots = 1 + Math.floor(random() * 4);
      const maxItems = 1 + Math.floor(random() * 40);
      const messages: number[] = [];
      let out = 0;
      let most = 0;
      const batcher = new VerifyBatcher(
        async (reqs) => {
          out++;
          most = Math.max(most, out);
          messages.push(reqs.length);
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 3)));
          out--;
          return reqs.map(result);
        },
        slots,
        maxItems,
      );
      const groups = Array.from({ length: 60 }, (_, g) => Array.from({ length: Math.floor(random() * 9) }, (_, i) => req(`t${trial}g${g}i${i}`)));
      const got = await Promise.all(groups.map(async (reqs, g) => {
        if (random() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
        return [g, await batcher.verify(reqs)] as const;
      }));
      for (const [g, results] of got) expect(results.map((r) => r.extracted)).toEqual(groups[g]!.map((r) => r.response));
      expect(most).toBeLessThanOrEqual(slots);
      // A message exceeds maxItems only when one group alone does.
      for (const size of messages) expect(size <= maxItems || size <= 8).toBe(true);
      expect(messages.reduce((a, b) => a + b, 0)).toBe(groups.reduce((a, g) => a + g.length, 0));
    }
  });

  it('packs groups that arrive while every slot is busy into one message', async () => {
    const messages: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new VerifyBatcher(async (reqs) => {
      messages.push(reqs.length);
      await gate;
      return reqs.map(result);
    }, 1);
    const first = batcher.verify([req('a')]);
    const rest = Array.from({ length: 10 }, (_, i) => batcher.verify([req(`b${i}`), req(`c${i}`)]));
    release();
    await Promise.all([first, ...rest]);
    expect(messages).toEqual([1, 20]);
  });

  it('fails every group of a failed message, and keeps serving', async () => {
    let fail = true;
    const batcher = new VerifyBatcher(async (reqs) => {
      if (fail) throw new Error('worker died');
      return reqs.map(result);
    }, 1);
    const outcomes = await Promise.allSettled([batcher.verify([req('x')]), batcher.verify([req('y')])]);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    fail = false;
    expect((await batcher.verify([req('z')]))[0]!.extracted).toBe('z');
  });
});
