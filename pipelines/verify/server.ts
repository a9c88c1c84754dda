/**
 * Reward service over node:http.
 *   POST /reward      {items: [{domain, response, ground_truth, question?, options?, choices?, format?}]}
 *                     → {results: [{score, correct, extracted, reason, format_ok}]}
 *                     (a whole rollout group per request; `options` may be the option texts of a
 *                     multiple-choice item or a VerifyOptions object)
 *   POST /get_reward  OpenRLHF --remote_rm_url: {query, prompts, labels} → {rewards, scores}
 *                     (domain from ?domain=…, or per item when a label is {"domain", "ground_truth"})
 *   GET  /health      {status: "ok", ...}
 * Deterministic checks run in a worker pool under a hard time budget; judge calls on the main thread.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { defaultJudgeCache } from './judge.js';
import { isVerifyDomain, verify, VERIFY_DOMAINS, type VerifyContextWithCache } from './index.js';
import { createVerifierPool, type VerifierPool } from './pool.js';
import type { FormatMode, JudgeEndpoint, VerifyOptions, VerifyRequest, VerifyResult } from './types.js';

export interface RewardServerOptions {
  port: number;
  host?: string;
  /** LLM judges; default: from STRATUM_REWARD_JUDGES (see judgesFromEnv). */
  judges?: JudgeEndpoint[];
  /** Budget per verification (ms). */
  timeBudgetMs?: number;
  /** Worker threads for the deterministic path; 0 runs it in-process (no hard budget). */
  threads?: number;
  /** Largest accepted request body (bytes). */
  maxBodyBytes?: number;
  /** Default format gate when an item names none. */
  defaultFormat?: FormatMode;
}

export interface RewardServer {
  url: string;
  close(): Promise<void>;
}

const FORMATS = ['glm', 'glm_think', 'lenient', 'none'] as const;

const optionsSchema = z
  .object({
    relTol: z.number().positive().optional(),
    floatRounding: z.number().int().min(0).max(15).optional(),
    exactWhenExact: z.boolean().optional(),
    intervalMatchesRelation: z.boolean().optional(),
    ignoreCase: z.boolean().optional(),
    iouThreshold: z.number().min(0).max(1).optional(),
    multipleAnswers: z.boolean().optional(),
    ordered: z.boolean().optional(),
    languageMixPenalty: z.boolean().optional(),
    repetitionPenalty: z.boolean().optional(),
    useJudge: z.boolean().optional(),
    judgeContext: z.string().optional(),
  })
  .strict();

const itemSchema = z.object({
  domain: z.string().refine(isVerifyDomain, { message: `domain must be one of ${VERIFY_DOMAINS.join(', ')}` }),
  response: z.string(),
  ground_truth: z.string(),
  question: z.string().optional(),
  options: z.union([z.array(z.string()), optionsSchema]).optional(),
  choices: z.array(z.string()).optional(),
  format: z.enum(FORMATS).optional(),
});

const rewardBodySchema = z.object({ items: z.array(itemSchema).max(100_000) });

const openRlhfSchema = z.object({
  query: z.array(z.string()),
  prompts: z.array(z.string()).optional(),
  labels: z.array(z.unknown()).optional(),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function toWire(r: VerifyResult): { score: number; correct: boolean; extracted: string | null; reason: string; format_ok: boolean } {
  return { score: r.score, correct: r.correct, extracted: r.extracted, reason: r.reason, format_ok: r.formatOk };
}

function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
    .join('; ');
}

/**
 * Judges from the environment when none are passed: STRATUM_REWARD_JUDGES holds a JSON array of
 * JudgeEndpoint objects, or comma-separated `baseUrl#model` pairs (API key from OPENAI_API_KEY).
 */
export function judgesFromEnv(env: NodeJS.ProcessEnv = process.env): JudgeEndpoint[] {
  const raw = env.STRATUM_REWARD_JUDGES?.trim();
  if (!raw) return [];
  if (raw.startsWith('[')) return z.array(z.object({ baseUrl: z.string(), model: z.string() }).passthrough()).parse(JSON.parse(raw)) as JudgeEndpoint[];
  return raw.split(',').map((pair) => {
    const [baseUrl, model] = pair.trim().split('#');
    if (!baseUrl || !model) throw new Error(`STRATUM_REWARD_JUDGES: expected baseUrl#model, got ${pair}`);
    return { baseUrl, model, ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}) };
  });
}

/** Starts the reward service; resolves once it listens. */
export async function startRewardServer(opts: RewardServerOptions): Promise<RewardServer> {
  const host = opts.host ?? '127.0.0.1';
  const limit = opts.maxBodyBytes ?? 256 * 1024 * 1024;
  const threads = opts.threads ?? undefined;
  let pool: VerifierPool | null = null;
  if (threads !== 0) {
    pool = createVerifierPool({ ...(threads !== undefined ? { threads } : {}), ...(opts.timeBudgetMs !== undefined ? { timeBudgetMs: opts.timeBudgetMs } : {}) });
    await pool.ready();
  }
  const judges = opts.judges ?? judgesFromEnv();
  const ctx: VerifyContextWithCache = {
    judges,
    judgeCache: defaultJudgeCache,
    ...(opts.timeBudgetMs !== undefined ? { timeBudgetMs: opts.timeBudgetMs } : {}),
  };
  const run = (reqs: VerifyRequest[]): Promise<VerifyResult[]> =>
    pool ? pool.verifyBatch(reqs, ctx) : Promise.all(reqs.map((r) => verify(r, ctx)));
  let served = 0;

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname === '/health') {
          if (req.method !== 'GET') throw new HttpError(405, 'use GET');
          send(res, 200, {
            status: 'ok',
            domains: VERIFY_DOMAINS,
            judges: judges.length,
            workers: pool?.threads ?? 0,
            timeouts: pool?.timeouts ?? 0,
            served,
            judge_cache: { size: defaultJudgeCache.size, hits: defaultJudgeCache.hits, misses: defaultJudgeCache.misses },
          });
          return;
        }
        if (url.pathname === '/reward') {
          if (req.method !== 'POST') throw new HttpError(405, 'use POST');
          const parsed = rewardBodySchema.safeParse(await readJson(req, limit));
          if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
          const reqs: VerifyRequest[] = parsed.data.items.map((it) => {
            const choices = it.choices ?? (Array.isArray(it.options) ? it.options : undefined);
            const options = it.options && !Array.isArray(it.options) ? (it.options as VerifyOptions) : undefined;
            return {
              domain: it.domain as VerifyRequest['domain'],
              response: it.response,
              groundTruth: it.ground_truth,
              ...(it.question !== undefined ? { question: it.question } : {}),
              ...(choices ? { choices } : {}),
              ...(options ? { options } : {}),
              ...(it.format ?? opts.defaultFormat ? { format: it.format ?? opts.defaultFormat } : {}),
            };
          });
          const results = await run(reqs);
          served += results.length;
          send(res, 200, { results: results.map(toWire) });
          return;
        }
        if (url.pathname === '/get_reward') {
          if (req.method !== 'POST') throw new HttpError(405, 'use POST');
          const parsed = openRlhfSchema.safeParse(await readJson(req, limit));
          if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
          const { query, prompts, labels } = parsed.data;
          const defaultDomain = url.searchParams.get('domain') ?? 'math';
          const format = (url.searchParams.get('format') as FormatMode | null) ?? opts.defaultFormat ?? 'glm';
          const reqs: VerifyRequest[] = query.map((q, i) => {
            const prompt = prompts?.[i] ?? '';
            const response = prompt && q.startsWith(prompt) ? q.slice(prompt.length) : q;
            const label = labels?.[i];
            const obj = label && typeof label === 'object' ? (label as Record<string, unknown>) : null;
            const domain = String(obj?.domain ?? defaultDomain);
            const groundTruth = obj ? String(obj.ground_truth ?? obj.answer ?? '') : String(label ?? '');
            return {
              domain: (isVerifyDomain(domain) ? domain : 'general') as VerifyRequest['domain'],
              response,
              groundTruth,
              question: typeof obj?.question === 'string' ? obj.question : prompt,
              format,
            };
          });
          const results = await run(reqs);
          served += results.length;
          const rewards = results.map((r) => r.score);
          send(res, 200, { rewards, scores: rewards, extra_logs: { format_ok: results.map((r) => (r.formatOk ? 1 : 0)) } });
          return;
        }
        throw new HttpError(404, `no route ${url.pathname}`);
      } catch (err) {
        if (err instanceof HttpError) send(res, err.status, { error: err.message });
        else send(res, 500, { error: String(err instanceof Error ? err.message : err).slice(0, 500) });
      }
    })();
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool?.close();
    },
  };
}
