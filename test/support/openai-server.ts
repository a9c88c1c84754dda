/**
 * Loopback test double of an OpenAI-compatible chat server standing in for a policy model.
 *
 * Items are recognised by an id tag (`itemTag(id)`) in the last user message; each of the n choices
 * is correct with the item's probability p and answers in GLM-4.1V format. Each item draws from its
 * own seeded PRNG stream, so outcomes do not depend on the order concurrent requests arrive in.
 * Faults (429, 500, hang, dropped socket, short answer) are planted by schedule or by rate.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mulberry32 } from '../../pipelines/shared/random.js';

export interface FakeItem {
  id: string;
  /** Probability that one choice is correct. */
  p: number;
  answer: string;
  /** Default: `not ${answer}`. */
  wrongAnswer?: string;
}

export type Fault =
  | 'ok'
  /** 429 with Retry-After: `retryAfterSeconds` */
  | '429'
  | '500'
  /** Never answers; the client's timeout has to fire. */
  | 'hang'
  /** Destroys the socket without a response. */
  | 'reset'
  /** A 200 with half the choices asked for (at least one fewer). */
  | 'short';

export interface FaultPlan {
  /** Fault for the i-th request received (0-based); requests past its end fall back to the rates. */
  schedule?: readonly Fault[];
  rates?: Partial<Record<Exclude<Fault, 'ok'>, number>>;
}

export interface FakePolicyServerOptions {
  items: readonly FakeItem[];
  /** The model name requests must ask for (404 otherwise). Default `fake-policy`. */
  model?: string;
  seed?: number;
  faults?: FaultPlan;
  /** Delay before answering, ms. */
  latencyMs?: number;
  retryAfterSeconds?: number;
  /** Requests must carry `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** 400 when max_tokens exceeds this, like vLLM's context-length check. */
  maxTokensLimit?: number;
  /** For benchmarks: no latency, no faults, a short fixed completion text. */
  instant?: boolean;
  /** More model names served besides `model` (a captioner, a teacher and a solver on one server). */
  models?: readonly string[];
  /**
   * Completions written by the test (a teacher's questions, a recaption): called per choice; a
   * string or `{content, finishReason}` is the choice, undefined falls back to the items.
   */
  respond?: (request: FakeChatRequest, choiceIndex: number) => string | { content: string; finishReason?: string } | undefined;
}

/** What `respond` sees of a request. */
export interface FakeChatRequest {
  model: string;
  n: number;
  /** Text of the last user message, parts joined. */
  text: string;
  images: number;
  seed: number | null;
}

export interface FakeServerStats {
  requests: number;
  inFlight: number;
  peakInFlight: number;
  faults: Record<Exclude<Fault, 'ok'>, number>;
  /** Requests answered 4xx by validation. */
  rejected: number;
  imagesSeen: number;
  /** 200 responses written, by item id (`?` for prompts without a known tag). */
  completionsByItem: Map<string, number>;
  /** Choices in 200 responses written, by item id. */
  choicesByItem: Map<string, { returned: number; correct: number }>;
  choicesReturned: number;
  lastRequestBody: Record<string, unknown> | null;
  /** Valid requests by the model they asked for. */
  requestsByModel: Map<string, number>;
}

export interface FakePolicyServer {
  baseUrl: string;
  stats: FakeServerStats;
  close(): Promise<void>;
}

export const FAKE_MODEL = 'fake-policy';
export const UNKNOWN_ITEM = '?';

export function itemTag(id: string): string {
  return `[[item:${id}]]`;
}

const ITEM_TAG = /\[\[item:([^\]]+)\]\]/;

/** The answer inside `<|begin_of_box|>…<|end_of_box|>`, the way the GLM verifier reads it. */
export function boxedAnswer(text: string): string | null {
  const match = /<\|begin_of_box\|>([\s\S]*?)<\|end_of_box\|>/.exec(text);
  return match?.[1]?.trim() ?? null;
}

export async function startFakePolicyServer(opts: FakePolicyServerOptions): Promise<FakePolicyServer> {
  const model = opts.model ?? FAKE_MODEL;
  const seed = opts.seed ?? 1;
  const items = new Map(opts.items.map((item) => [item.id, item]));
  const itemRandom = new Map<string, () => number>();
  const faultRandom = mulberry32(hashString(`${seed}:faults`));
  const stats: FakeServerStats = {
    requests: 0,
    inFlight: 0,
    peakInFlight: 0,
    faults: { '429': 0, '500': 0, hang: 0, reset: 0, short: 0 },
    rejected: 0,
    imagesSeen: 0,
    completionsByItem: new Map(),
    choicesByItem: new Map(),
    choicesReturned: 0,
    lastRequestBody: null,
    requestsByModel: new Map(),
  };
  const sockets = new Set<Socket>();

  const pickFault = (requestIndex: number): Fault => {
    if (opts.instant) return 'ok';
    const scheduled = opts.faults?.schedule?.[requestIndex];
    if (scheduled !== undefined) return scheduled;
    const u = faultRandom();
    let acc = 0;
    for (const [fault, rate] of Object.entries(opts.faults?.rates ?? {})) {
      acc += rate ?? 0;
      if (u < acc) return fault as Fault;
    }
    return 'ok';
  };

  const randomFor = (itemId: string): (() => number) => {
    let random = itemRandom.get(itemId);
    if (!random) {
      random = mulberry32(hashString(`${seed}:item:${itemId}`));
      itemRandom.set(itemId, random);
    }
    return random;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestIndex = stats.requests++;
    const raw = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return sendError(res, 404, `no route ${req.method} ${req.url}`, stats);
    }
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return sendError(res, 401, 'Invalid API key', stats);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendError(res, 400, 'request body is not JSON', stats);
    }
    const request = validateRequest(body, opts.maxTokensLimit);
    if (typeof request === 'string') return sendError(res, 400, request, stats);
    if (request.model !== model && !opts.models?.includes(request.model)) return sendError(res, 404, `The model \`${request.model}\` does not exist.`, stats);
    stats.lastRequestBody = body as Record<string, unknown>;
    stats.requestsByModel.set(request.model, (stats.requestsByModel.get(request.model) ?? 0) + 1);
    stats.imagesSeen += request.images;

    const fault = pickFault(requestIndex);
    if (fault !== 'ok') stats.faults[fault]++;
    if (fault === 'hang') return; // the socket stays open until the client gives up or close()
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (!opts.instant && opts.latencyMs) await delay(opts.latencyMs);
    if (fault === '429') {
      res.setHeader('retry-after', String(opts.retryAfterSeconds ?? 0));
      return sendError(res, 429, 'Too many requests: the server is overloaded', stats, false);
    }
    if (fault === '500') return sendError(res, 500, 'Internal server error (planted)', stats, false);

    const itemId = request.itemId !== null && items.has(request.itemId) ? request.itemId : UNKNOWN_ITEM;
    const item = items.get(itemId);
    const count = fault === 'short' ? Math.min(request.n - 1, Math.ceil(request.n / 2)) : request.n;
    const random = randomFor(itemId);
    let correct = 0;
    const chat: FakeChatRequest = { model: request.model, n: request.n, text: request.lastUserText, images: request.images, seed: request.seed };
    const choices = Array.from({ length: count }, (_, index) => {
      const custom = opts.respond?.(chat, index);
      if (custom !== undefined) {
        const { content, finishReason = 'stop' } = typeof custom === 'string' ? { content: custom } : custom;
        return { index, message: { role: 'assistant', content }, finish_reason: finishReason, logprobs: null };
      }
      const right = item !== undefined && random() < item.p;
      if (right) correct++;
      const answer = item === undefined ? 'unknown' : right ? item.answer : (item.wrongAnswer ?? `not ${item.answer}`);
      const content = opts.instant ? `<answer><|begin_of_box|>${answer}<|end_of_box|></answer>` : glmResponse(answer, index);
      return { index, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null };
    });
    const completionTokens = choices.reduce((sum, c) => sum + Math.ceil(c.message.content.length / 4), 0);
    const payload = JSON.stringify({
      id: `chatcmpl-${requestIndex}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices,
      usage: { prompt_tokens: Math.ceil(raw.length / 4), completion_tokens: completionTokens, total_tokens: Math.ceil(raw.length / 4) + completionTokens },
    });
    res.once('finish', () => {
      stats.completionsByItem.set(itemId, (stats.completionsByItem.get(itemId) ?? 0) + 1);
      const tally = stats.choicesByItem.get(itemId) ?? { returned: 0, correct: 0 };
      tally.returned += count;
      tally.correct += correct;
      stats.choicesByItem.set(itemId, tally);
      stats.choicesReturned += count;
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };

  const server = createServer((req, res) => {
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    let counted = true;
    const done = () => {
      if (counted) stats.inFlight--;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `fake server bug: ${String(error)}`, stats, false);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of sockets) socket.destroy();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

interface ValidRequest {
  model: string;
  n: number;
  itemId: string | null;
  images: number;
  lastUserText: string;
  seed: number | null;
}

/** Checks what vLLM would check, plus that the sampling params are all explicit. */
function validateRequest(body: unknown, maxTokensLimit: number | undefined): ValidRequest | string {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const { model, messages, n, temperature, top_p: topP, max_tokens: maxTokens, seed } = body;
  if (typeof model !== 'string' || model === '') return 'model: required string';
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: required non-empty array';
  if (!Number.isInteger(n) || (n as number) < 1) return 'n: required integer ≥ 1';
  if (typeof temperature !== 'number' || temperature < 0) return 'temperature: required number ≥ 0';
  if (typeof topP !== 'number' || topP <= 0 || topP > 1) return 'top_p: required number in (0, 1]';
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) return 'max_tokens: required integer ≥ 1';
  if (seed !== undefined && !Number.isInteger(seed)) return 'seed: must be an integer';
  if (maxTokensLimit !== undefined && (maxTokens as number) > maxTokensLimit) {
    return `This model's maximum context length is ${maxTokensLimit} tokens. However, you requested ${maxTokens as number} tokens in the completion. Please reduce the length of the messages or completion.`;
  }
  let images = 0;
  let lastUserText: string | null = null;
  for (const [i, message] of messages.entries()) {
    if (!isRecord(message) || !['system', 'user', 'assistant'].includes(message.role as string)) return `messages[${i}]: needs a role`;
    const { content } = message;
    let text = '';
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content)) {
      for (const [j, part] of content.entries()) {
        if (!isRecord(part)) return `messages[${i}].content[${j}]: must be an object`;
        if (part.type === 'text' && typeof part.text === 'string') text += part.text;
        else if (part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string') {
          const problem = imageUrlProblem(part.image_url.url);
          if (problem) return `messages[${i}].content[${j}].image_url: ${problem}`;
          images++;
        } else return `messages[${i}].content[${j}]: unsupported content part`;
      }
    } else return `messages[${i}].content: must be a string or an array of parts`;
    if (message.role === 'user') lastUserText = text;
  }
  if (lastUserText === null) return 'messages: no user message';
  return { model, n: n as number, itemId: ITEM_TAG.exec(lastUserText)?.[1] ?? null, images, lastUserText, seed: typeof seed === 'number' ? seed : null };
}

function imageUrlProblem(url: string): string | null {
  if (/^https?:\/\//.test(url)) return null;
  const match = /^data:(image\/[\w.+-]+);base64,([A-Za-z0-9+/]*={0,2})$/.exec(url);
  if (!match) return 'expected an http(s) URL or a data:image/...;base64 URL';
  if ((match[2] ?? '').length === 0 || Buffer.from(match[2] ?? '', 'base64').length === 0) return 'empty image data';
  return null;
}

function glmResponse(answer: string, index: number): string {
  return `<think>Reading the figure and working it out (sample ${index}).</think><answer>The answer is <|begin_of_box|>${answer}<|end_of_box|></answer>`;
}

function sendError(res: ServerResponse, status: number, message: string, stats: FakeServerStats, countAsRejected = true): void {
  if (countAsRejected) stats.rejected++;
  const payload = JSON.stringify({ object: 'error', message, type: status === 429 ? 'RateLimitError' : 'BadRequestError', code: status, error: { message, code: status } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Re-exported for the tests that seed their fixtures like the fake server does. */
export { mulberry32 };

/** FNV-1a, 32-bit. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
