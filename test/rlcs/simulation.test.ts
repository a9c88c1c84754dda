import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { simulate } from './simulate.js';

let ws: Workspace;
afterAll(() => ws?.cleanup());

describe('RLCS simulation against a loopback policy whose success rates rise with training', () => {
  it('imported logs match the rollouts, track the true rates, and the sampler sees more informative groups than uniform sampling', async () => {
    ws = await createWorkspace();
    const res = await simulate(ws, { items: 150, steps: 8, batchSize: 24, n: 8, seed: 7 });
    expect(res.historyMismatches).toBe(0);
    expect(res.rereadLines).toBe(0);
    // pooled observed pass rate vs the true rate behind it: within 4 binomial sd for every sample
    expect(res.zScores.length).toBeGreaterThan(50);
    expect(Math.max(...res.zScores)).toBeLessThan(4);
    const share = { curriculum: res.informative.curriculum / res.groups.curriculum, uniform: res.informative.uniform / res.groups.uniform };
    expect(share.curriculum).toBeGreaterThan(share.uniform + 0.1);
    // not-valid groups were seen, so the sampler expanded after the first step
    expect(res.expansionRatios[0]).toBe(1);
    expect(Math.max(...res.expansionRatios.slice(1))).toBeGreaterThan(1);
  });
});
