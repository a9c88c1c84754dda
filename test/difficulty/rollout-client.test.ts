import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutClient, RolloutError, Semaphore, imageDataUrl, type ChatMessage, type RolloutClientOptions, type SamplingParams } from '../../pipelines/difficulty/rollout-client.js';
import { FAKE_MODEL, boxedAnswer, itemTag, mulberry32, startFakePolicyServer, type FakePolicyServer, type FakePolicyServerOptions } from '../support/openai-server.js';

const PARAMS: SamplingParams = { n: 8, temperature: 1, topP: 0.95, maxTokens: 512 };

let servers: FakePolicyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(opts: Partial<FakePolicyServerOptions> = {}): Promise<FakePolicyServer> {
  const server = await startFakePolicyServer({ items: [{ id: 'a', p: 0.5, answer: '42' }], ...opts });
  servers.push(server);
  return server;
}

function clientFor(server: FakePolicyServer, opts: Partial<RolloutClientOptions> = {}): RolloutClient {
  return new RolloutClient({
    endpoint: { name: 'fake', baseUrl: server.baseUrl, model: FAKE_MODEL },
    concurrency: 4,
    maxRetries: 5,
    timeoutMs: 2_000,
    backoff: { baseMs: 1, maxMs: 20 },
    ...opts,
  });
}

async function failure(pending: Promise<unknown>): Promise<RolloutError> {
  const error = await pending.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RolloutError);
  return error as RolloutError;
}

function ask(id: string): ChatMessage[] {
  return [
    { role: 'system', content: 'Answer inside <|begin_of_box|><|end_of_box|>.' },
    { role: 'user', content: `${itemTag(id)} What is 6 × 7?` },
  ];
}

describe('RolloutClient', () => {
  it('sends every sampling param and returns the n choices of one request', async () => {
    const server = await serve();
    const result = await clientFor(server).complete(ask('a'), { ...PARAMS, seed: 7 });
    expect(server.stats.requests).toBe(1);
    expect(server.stats.lastRequestBody).toMatchObject({ model: FAKE_MODEL, n: 8, temperature: 1, top_p: 0.95, max_tokens: 512, seed: 7 });
    expect(result.attempts).toBe(1);
    expect(result.choices.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const choice of result.choices) {
      expect(['42', 'not 42']).toContain(boxedAnswer(choice.text));
      expect(choice.finishReason).toBe('stop');
      expect(choice.completionTokens).toBeNull();
    }
    expect(result.promptTokens).toBeGreaterThan(0);
    expect(result.completionTokens).toBeGreaterThan(0);
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  it('omits seed when unset and sends image parts as data URLs', async () => {
    const server = await serve();
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const url = imageDataUrl(png, 'image/png');
    expect(url).toBe(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);
    await clientFor(server).complete(
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: `${itemTag('a')} What is shown?` }] }],
      PARAMS,
    );
    expect(server.stats.imagesSeen).toBe(1);
    expect(server.stats.lastRequestBody).not.toHaveProperty('seed');
    expect(server.stats.choicesByItem.get('a')?.returned).toBe(8);
  });

  it('retries planted 429, 500, timeouts and dropped sockets, counting attempts', async () => {
    const server = await serve({ faults: { schedule: ['429', '500', 'hang', 'reset', 'ok'] } });
    const retries: number[] = [];
    // The hang costs one full timeout; it is long enough that no real answer on a loaded machine ever hits it.
    const client = clientFor(server, { timeoutMs: 2_000, onRetry: (r) => retries.push(r.error.status ?? -1) });
    const result = await client.complete(ask('a'), PARAMS);
    expect(result.attempts).toBe(5);
    expect(retries).toEqual([429, 500, -1, -1]);
    expect(result.choices).toHaveLength(8);
    expect(server.stats.requests).toBe(5);
    expect(server.stats.faults).toMatchObject({ '429': 1, '500': 1, hang: 1, reset: 1 });
    expect(server.stats.choicesReturned).toBe(8);
  });

  it('honours Retry-After up to the backoff cap, and backs off exponentially with jitter otherwise', async () => {
    const server = await serve({ faults: { schedule: ['429', '500', '500', 'ok', '429', 'ok'] }, retryAfterSeconds: 3 });
    const delays: number[] = [];
    const sleep = async (ms: number) => void delays.push(ms);
    const client = clientFor(server, { backoff: { baseMs: 100, maxMs: 1_000 }, random: () => 0.5, sleep });
    await client.complete(ask('a'), PARAMS);
    // 429 → Retry-After 3 s capped at 1 s; then 500s: 0.5 × 100·2^1, 0.5 × 100·2^2
    expect(delays).toEqual([1_000, 100, 200]);
    delays.length = 0;
    const generous = clientFor(server, { backoff: { baseMs: 100, maxMs: 10_000 }, sleep });
    await generous.complete(ask('a'), PARAMS);
    expect(delays).toEqual([3_000]);
  });

  it('loses and duplicates no choice across many faulty requests', async () => {
    const items = Array.from({ length: 60 }, (_, i) => ({ id: `q${i}`, p: (i % 11) / 10, answer: String(i) }));
    const server = await serve({ items, latencyMs: 2, faults: { rates: { '429': 0.1, '500': 0.1, hang: 0.05, reset: 0.1 } } });
    const client = clientFor(server, { concurrency: 8, maxRetries: 12, timeoutMs: 2_000 });
    const results = await Promise.all(items.map((item) => client.complete(ask(item.id), PARAMS)));
    const attempts = results.reduce((sum, r) => sum + r.attempts, 0);
    const faults = Object.values(server.stats.faults).reduce((a, b) => a + b, 0);
    expect(faults).toBeGreaterThan(10);
    expect(attempts).toBe(server.stats.requests);
    expect(attempts - results.length).toBe(faults);
    for (const [i, item] of items.entries()) {
      const result = results[i]!;
      expect(result.choices).toHaveLength(8);
      const correct = result.choices.filter((c) => boxedAnswer(c.text) === item.answer).length;
      expect(server.stats.completionsByItem.get(item.id)).toBe(1);
      expect(server.stats.choicesByItem.get(item.id)).toEqual({ returned: 8, correct });
    }
  });

  it('fails fast on a 400 with the status, endpoint, server message and advice', async () => {
    const server = await serve({ maxTokensLimit: 256 });
    const error = await failure(clientFor(server).complete(ask('a'), PARAMS));
    const e = error;
    expect(e).toMatchObject({ status: 400, retryable: false, attempts: 1, endpoint: 'fake' });
    expect(e.message).toContain('HTTP 400');
    expect(e.message).toContain(server.baseUrl);
    expect(e.message).toContain('maximum context length is 256');
    expect(e.message).toMatch(/context length/);
    expect(server.stats.requests).toBe(1);
  });

  it('says what to check on 401 and 404', async () => {
    const server = await serve({ apiKey: 'secret' });
    const noKey = await failure(clientFor(server).complete(ask('a'), PARAMS));
    expect(noKey).toMatchObject({ status: 401, attempts: 1 });
    expect(noKey.message).toMatch(/API key/);
    const wrongModel = new RolloutClient({
      endpoint: { name: 'fake', baseUrl: `${server.baseUrl}/`, model: 'glm-4.1v', apiKey: 'secret' },
      concurrency: 1,
      maxRetries: 3,
      timeoutMs: 1_000,
      backoff: { baseMs: 1, maxMs: 1 },
    });
    const e = await failure(wrongModel.complete(ask('a'), PARAMS));
    expect(e).toMatchObject({ status: 404, attempts: 1 });
    expect(e.message).toContain('glm-4.1v');
    expect(e.message).toContain('/models');
  });

  it('throws a retryable RolloutError after exhausting retries', async () => {
    const server = await serve({ faults: { schedule: Array(10).fill('500') } });
    const e = await failure(clientFor(server, { maxRetries: 3 }).complete(ask('a'), PARAMS));
    expect(e).toBeInstanceOf(RolloutError);
    expect(e).toMatchObject({ status: 500, retryable: true, attempts: 4 });
    expect(e.message).toMatch(/gave up after 4 attempts.*HTTP 500.*planted/);
    expect(server.stats.requests).toBe(4);
  });

  it('returns the choices that came when the server sends fewer than n', async () => {
    const server = await serve({ faults: { schedule: ['short'] } });
    const result = await clientFor(server).complete(ask('a'), PARAMS);
    expect(result.choices).toHaveLength(4);
    expect(result.attempts).toBe(1);
  });

  it('keeps at most `concurrency` requests in flight across all calls', async () => {
    const server = await serve({ latencyMs: 15 });
    const client = clientFor(server, { concurrency: 3 });
    const inFlightSeen: number[] = [];
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        const pending = client.complete(ask('a'), PARAMS);
        inFlightSeen.push(client.inFlight);
        await pending;
      }),
    );
    expect(server.stats.peakInFlight).toBe(3);
    expect(Math.max(...inFlightSeen)).toBeLessThanOrEqual(3);
    expect(server.stats.requests).toBe(24);
  });

  it('stops waiting when the caller aborts, queued or in flight', async () => {
    const server = await serve({ faults: { schedule: ['hang', 'hang'] } });
    const client = clientFor(server, { concurrency: 1, timeoutMs: 10_000 });
    const controller = new AbortController();
    const inFlight = client.complete(ask('a'), PARAMS, controller.signal);
    const queued = client.complete(ask('a'), PARAMS, controller.signal);
    // Abort once the first request has reached the server (hung there), however slow the machine is.
    while (server.stats.requests < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error('cancelled'));
    await expect(inFlight).rejects.toThrow('cancelled');
    await expect(queued).rejects.toThrow('cancelled');
    expect(client.inFlight).toBe(0);
    expect(server.stats.requests).toBe(1);
  });

  it('leaves no listener behind on a long-lived caller signal', async () => {
    const server = await serve({ faults: { schedule: ['500', 'ok', '429'] } });
    const client = clientFor(server, { concurrency: 2 });
    const stageSignal = new AbortController().signal;
    await Promise.all(Array.from({ length: 20 }, () => client.complete(ask('a'), PARAMS, stageSignal)));
    expect(getEventListeners(stageSignal, 'abort')).toHaveLength(0);
  });

  it('keeps one abort listener on a shared caller signal however many calls wait on it, and an abort still reaches all of them', async () => {
    const server = await serve({ latencyMs: 30 });
    const client = clientFor(server, { concurrency: 4 });
    const controller = new AbortController();
    const calls = Array.from({ length: 40 }, () => client.complete(ask('a'), PARAMS, controller.signal).then(() => 'done', (e: unknown) => e));
    let most = 0;
    while (server.stats.requests < 8) {
      most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // one for the requests in flight, one for the calls queued for a permit
    expect(most).toBeLessThanOrEqual(2);
    controller.abort(new Error('stop'));
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o instanceof Error && o.message === 'stop').length).toBeGreaterThan(20);
    expect(outcomes.every((o) => o === 'done' || (o instanceof Error && o.message === 'stop'))).toBe(true);
    expect(client.inFlight).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects invalid sampling params before sending anything', async () => {
    const server = await serve();
    await expect(clientFor(server).complete(ask('a'), { ...PARAMS, n: 0, topP: 0 })).rejects.toThrow(/n=0.*topP=0/);
    expect(server.stats.requests).toBe(0);
  });

  it('estimates planted pass rates within binomial tolerance (200 items × n=16)', async () => {
    const random = mulberry32(2024);
    const items = Array.from({ length: 200 }, (_, i) => ({ id: `item-${i}`, p: i < 10 ? 0 : i < 20 ? 1 : random(), answer: `A${i}` }));
    const server = await serve({ items, seed: 99, faults: { rates: { '429': 0.05, '500': 0.05 } } });
    const client = clientFor(server, { concurrency: 16 });
    const n = 16;
    const estimates = await Promise.all(
      items.map(async (item) => {
        const result = await client.complete(ask(item.id), { ...PARAMS, n });
        expect(result.choices).toHaveLength(n);
        return result.choices.filter((c) => boxedAnswer(c.text) === item.answer).length / n;
      }),
    );
    let signedError = 0;
    for (const [i, item] of items.entries()) {
      const estimate = estimates[i]!;
      const sigma = Math.sqrt((item.p * (1 - item.p)) / n);
      // 4σ plus one rollout's worth, since the normal approximation is poor near 0 and 1.
      expect(Math.abs(estimate - item.p)).toBeLessThanOrEqual(4 * sigma + 1 / n);
      if (item.p === 0 || item.p === 1) expect(estimate).toBe(item.p);
      signedError += estimate - item.p;
    }
    // Mean of 200 estimates, each with σ ≤ 0.125: 4σ of the mean ≈ 0.035.
    expect(Math.abs(signedError / items.length)).toBeLessThan(0.035);
  });
});

describe('fake policy server', () => {
  it('answers 400 with an error body when a sampling param is missing or an image URL is malformed', async () => {
    const server = await serve();
    const post = async (body: unknown) => {
      const response = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { error?: { message?: string } } };
    };
    const complete = { model: FAKE_MODEL, messages: ask('a'), n: 2, temperature: 1, top_p: 1, max_tokens: 16 };
    expect((await post(complete)).status).toBe(200);
    for (const field of ['model', 'messages', 'n', 'temperature', 'top_p', 'max_tokens'] as const) {
      const { [field]: _dropped, ...rest } = complete;
      const reply = await post(rest);
      expect(reply.status, field).toBe(400);
      expect(reply.body.error?.message).toContain(field);
    }
    const badImage = { ...complete, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,' } }] }] };
    expect((await post(badImage)).status).toBe(400);
    expect(server.stats.rejected).toBe(7);
  });
});

describe('Semaphore', () => {
  it('grants permits in FIFO order and never above the limit', async () => {
    const semaphore = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([semaphore.acquire(), semaphore.acquire()]);
    const waiting = [3, 4, 5].map((i) => semaphore.acquire().then((release) => (order.push(i), release)));
    expect(semaphore.inUse).toBe(2);
    releases[0]!();
    releases[0]!(); // releasing twice must not free a second permit
    await Promise.resolve();
    expect(order).toEqual([3]);
    expect(semaphore.inUse).toBe(2);
    releases[1]!();
    const fourth = await waiting[1]!;
    expect(order).toEqual([3, 4]);
    fourth();
    await waiting[2];
    expect(order).toEqual([3, 4, 5]);
  });
});
