import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgesFromEnv, startRewardServer, type RewardServer } from '../../pipelines/verify/server.js';
import { glm } from './helpers.js';

let server: RewardServer;
beforeAll(async () => {
  server = await startRewardServer({ port: 0, host: '127.0.0.1', threads: 0 });
});
afterAll(async () => server.close());

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('reward service', () => {
  it('answers GET /health', async () => {
    const r = await fetch(`${server.url}/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok' });
  });
  it('scores a whole rollout group in one POST /reward', async () => {
    const items = [glm('\\frac{1}{2}'), glm('0.5'), glm('2'), '<think>x</think><answer>\\boxed{0.5}</answer>'].map((response) => ({
      domain: 'math',
      response,
      ground_truth: '<|begin_of_box|>0.5<|end_of_box|>',
    }));
    const r = await post('/reward', { items: [...items, { domain: 'multiple_choice', response: glm('Red'), ground_truth: 'B', options: ['Blue', 'Red'] }] });
    expect(r.status).toBe(200);
    const { results } = (await r.json()) as { results: { score: number; format_ok: boolean; reason: string }[] };
    expect(results.map((x) => x.score)).toEqual([1, 1, 0, 0, 1]);
    expect(results[3]!.format_ok).toBe(false);
  });
  it('speaks the OpenRLHF remote reward protocol on POST /get_reward', async () => {
    const prompt = 'Q: 1+1? ';
    const r = await post('/get_reward?domain=math', { query: [prompt + glm('2'), prompt + glm('3')], prompts: [prompt, prompt], labels: ['2', '2'] });
    expect(await r.json()).toMatchObject({ rewards: [1, 0], scores: [1, 0] });
  });
  it('reads judges from STRATUM_REWARD_JUDGES', () => {
    expect(judgesFromEnv({ STRATUM_REWARD_JUDGES: 'http://a/v1#m1,http://b/v1#m2', OPENAI_API_KEY: 'k' })).toEqual([
      { baseUrl: 'http://a/v1', model: 'm1', apiKey: 'k' },
      { baseUrl: 'http://b/v1', model: 'm2', apiKey: 'k' },
    ]);
    expect(judgesFromEnv({ STRATUM_REWARD_JUDGES: '[{"baseUrl":"http://a/v1","model":"m"}]' })).toEqual([{ baseUrl: 'http://a/v1', model: 'm' }]);
    expect(judgesFromEnv({})).toEqual([]);
  });
  it('rejects bad requests with a status and a message', async () => {
    expect((await post('/reward', '{not json')).status).toBe(400);
    const bad = await post('/reward', { items: [{ domain: 'astrology', response: 'x', ground_truth: 'y' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('domain');
    expect((await fetch(`${server.url}/reward`)).status).toBe(405);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
