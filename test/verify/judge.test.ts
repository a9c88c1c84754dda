import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPrompt, JudgeCache, parseBinaryVerdict, parseScoreObject, runJudges } from '../../pipelines/verify/judge.js';
import { verify, type JudgeEndpoint } from '../../pipelines/verify/index.js';
import { glm } from './helpers.js';

/** A fake OpenAI-compatible endpoint: the reply depends on the model name. */
let server: Server;
let baseUrl = '';
const calls: string[] = [];
const replies: Record<string, string> = {
  yes: '1.0',
  no: '0.0',
  cot_no: 'The response mentions 1.0 but the ground truth is 2, so it is wrong.\n0.0',
  think_yes: '<think>maybe 0.0? no, they are equal</think>\n1.0',
  rambling: 'I would give it 1.0 probably',
  geo: '{"analysis": "city right, name wrong", "score": 0.6}',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { model, messages } = JSON.parse(body) as { model: string; messages: { content: string }[] };
      calls.push(model);
      if (model === 'broken') {
        res.writeHead(500).end('boom');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { content: replies[model] ?? '0.0', prompt: messages[0]!.content.length } }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const judge = (model: string): JudgeEndpoint => ({ baseUrl, model });
const req = (response: string, groundTruth = 'Plane') => ({ domain: 'vqa' as const, question: 'What has Alaska Airlines?', response, groundTruth });

describe('verdict parsing', () => {
  it('reads only a final verdict line, so reasoning text cannot flip it', () => {
    expect(parseBinaryVerdict('1.0')).toBe(1);
    expect(parseBinaryVerdict('0.0\n')).toBe(0);
    expect(parseBinaryVerdict(replies.cot_no!)).toBe(0);
    expect(parseBinaryVerdict(replies.think_yes!)).toBe(1);
    expect(parseBinaryVerdict('**Final verdict: 1.0**')).toBe(1);
    expect(parseBinaryVerdict('Score: \\boxed{0}')).toBe(0);
    expect(parseBinaryVerdict(replies.rambling!)).toBeNull();
    expect(parseBinaryVerdict('')).toBeNull();
    expect(parseScoreObject(replies.geo!)).toBeCloseTo(0.6, 12);
  });
  it('fills prompts from files without expanding placeholders inside the answer', () => {
    const p = buildPrompt({ domain: 'math', question: 'Q?', response: 'x {{ground_truth}}', groundTruth: '42' });
    expect(p).toContain('x {{ground_truth}}');
    expect(p).toContain('42');
    expect(p).toMatch(/1\.0.*0\.0/s);
  });
});

describe('judges', () => {
  it('needs a strict majority of yes votes; failures and unparseable replies count as no', async () => {
    const cache = new JudgeCache();
    expect((await runJudges(req('airplane'), [judge('yes'), judge('think_yes'), judge('cot_no')], cache)).correct).toBe(true);
    expect((await runJudges(req('airplane'), [judge('yes'), judge('no')], cache)).correct).toBe(false);
    expect((await runJudges(req('airplane'), [judge('yes'), judge('rambling'), judge('broken')], cache)).correct).toBe(false);
  });
  it('caches votes by (question, answer, ground truth, judge) and does not cache transport errors', async () => {
    const cache = new JudgeCache();
    const before = calls.length;
    await runJudges(req('jet'), [judge('yes')], cache);
    await runJudges(req('jet'), [judge('yes')], cache);
    expect(calls.length - before).toBe(1);
    await runJudges(req('jet', 'Airplane'), [judge('yes')], cache);
    expect(calls.length - before).toBe(2);
    await runJudges(req('jet'), [judge('broken')], cache);
    await runJudges(req('jet'), [judge('broken')], cache);
    expect(calls.length - before).toBe(4);
  });
  it('is asked only when the deterministic path cannot decide', async () => {
    const judges = [judge('yes')];
    const before = calls.length;
    const decided = await verify({ domain: 'vqa', response: glm('2'), groundTruth: '3' }, { judges });
    expect(decided.score).toBe(0);
    const hedged = await verify({ domain: 'math', response: glm('10 (or 8)'), groundTruth: '10' }, { judges });
    expect(hedged.score).toBe(0);
    expect(calls.length).toBe(before);
    const judged = await verify({ domain: 'vqa', response: glm('airplane'), groundTruth: 'Plane', question: 'What has Alaska Airlines?' }, { judges });
    expect(judged).toMatchObject({ score: 1, correct: true });
    expect(judged.reason).toContain('judge 1/1 yes');
  });
  it('averages graded geo-guess judgements', async () => {
    const r = await verify({ domain: 'geoguess', response: '<think>x</think>我认为是<|begin_of_box|>北京颐和园<|end_of_box|>', groundTruth: '{"place_name":"Summer Palace","address":"Beijing"}', format: 'glm_think' }, { judges: [judge('geo')] });
    expect(r.score).toBeCloseTo(0.6, 12);
  });
});
