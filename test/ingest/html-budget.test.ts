import { afterAll, describe, expect, it } from 'vitest';
import { closeHtmlPools, extractHtmlWithin } from '../../pipelines/ingest/interleaved/html-pool.js';

afterAll(() => closeHtmlPools());

const nested = (depth: number, seed: number) => `<html><body>${Array.from({ length: depth }, (_, i) => `<${['div', 'section', 'span', 'em'][(i + seed) % 4]}>`).join('')}deep text ${seed}</body></html>`;

describe('HTML extraction budgets', () => {
  it('refuses pages nested past maxDepth before Readability runs, whatever the tags', async () => {
    for (const [depth, seed] of [[300, 1], [1_000, 2], [20_000, 3]] as const) {
      await expect(extractHtmlWithin({ html: nested(depth, seed), readability: true, maxDepth: 256 }, 60_000)).rejects.toMatchObject({ reason: 'html_too_deep' });
    }
  }, 120_000);

  it('stops an extraction that runs past the time budget (the worker is killed) and keeps serving', async () => {
    // 400 levels is within a raised depth budget but takes Readability seconds: a 200 ms budget stops it.
    await expect(extractHtmlWithin({ html: nested(400, 5), readability: true, maxDepth: 10_000 }, 200)).rejects.toMatchObject({ reason: 'html_time_budget' });
    const page = await extractHtmlWithin({ html: '<html><body><article><p>Fine page after a killed one.</p></article></body></html>', readability: true, maxDepth: 256 }, 200_000);
    expect(page.blocks).toEqual([{ type: 'text', text: 'Fine page after a killed one.' }]);
  }, 120_000);
});
