/**
 * Client for OpenAI-compatible chat servers (vLLM, SGLang, any `/v1/chat/completions`): one HTTP
 * request per call asking for `n` samples, a per-client concurrency limit, and retries with
 * exponential backoff on overload (429), server errors (5xx), timeouts and dropped connections.
 */

export interface Endpoint {
  name: string;
  /** Up to and including the version segment, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
}

/** Always sent explicitly: server-side defaults (vLLM reads generation_config.json) differ between servers. */
export interface SamplingParams {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  seed?: number;
}

export type ChatContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ChatContentPart[];
}

export interface RolloutChoice {
  index: number;
  text: string;
  /** `reasoning_content`, when the server splits the thinking off (vLLM/SGLang reasoning parsers). */
  reasoning: string | null;
  finishReason: string | null;
  /** OpenAI-compatible servers report usage for the whole request only, so this is null for now. */
  completionTokens: number | null;
}

export interface CompletionResult {
  /** Sorted by index; fewer than n when the server returned fewer. */
  choices: RolloutChoice[];
  promptTokens: number | null;
  /** Total over all choices. */
  completionTokens: number | null;
  /** Duration of the attempt that succeeded, excluding earlier attempts, backoff and queueing. */
  latencyMs: number;
  /** HTTP attempts this call made, the successful one included. */
  attempts: number;
}

export interface BackoffOptions {
  /** Delay cap before the first retry; doubles each retry up to maxMs, with full jitter. */
  baseMs: number;
  /** Cap on any delay, Retry-After included. */
  maxMs: number;
}

export interface RetryInfo {
  endpoint: string;
  attempt: number;
  delayMs: number;
  error: RolloutError;
}

export interface RolloutClientOptions {
  endpoint: Endpoint;
  /** Most requests in flight at once over all calls on this client. */
  concurrency: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Per attempt, until the whole response body is read. */
  timeoutMs: number;
  backoff: BackoffOptions;
  onRetry?: (info: RetryInfo) => void;
  /** Test seams. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class RolloutError extends Error {
  override readonly name = 'RolloutError';
  constructor(
    message: string,
    readonly endpoint: string,
    /** Whether the last failure was of a kind worth retrying (it was, as often as allowed). */
    readonly retryable: boolean,
    /** HTTP status of the last attempt; null for network errors and timeouts. */
    readonly status: number | null,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function imageDataUrl(bytes: Uint8Array, mime: string): string {
  if (!/^[\w.+-]+\/[\w.+-]+$/.test(mime)) throw new RangeError(`not a MIME type: ${JSON.stringify(mime)}`);
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/** FIFO counting semaphore. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
    this.available = limit;
  }

  get inUse(): number {
    return this.limit - this.available;
  }

  /** Resolves with a release function once a permit is free; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.releaser());
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(grant);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal?.reason);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next(); // hand the permit over directly
      else this.available++;
    };
  }
}

type AttemptOutcome =
  | { ok: true; result: Omit<CompletionResult, 'attempts'> }
  /** `detail` is the error message without the endpoint prefix. */
  | { ok: false; error: RolloutError; detail: string; retryAfterMs: number | null };

export class RolloutClient {
  readonly endpoint: Endpoint;
  private readonly url: string;
  private readonly limiter: Semaphore;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: RolloutClientOptions) {
    const { endpoint, maxRetries, timeoutMs, backoff } = options;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError(`maxRetries must be an integer ≥ 0, got ${maxRetries}`);
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
    if (!(backoff.baseMs >= 0 && backoff.maxMs >= backoff.baseMs)) {
      throw new RangeError(`backoff needs 0 ≤ baseMs ≤ maxMs, got ${JSON.stringify(backoff)}`);
    }
    this.endpoint = endpoint;
    this.url = `${endpoint.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.limiter = new Semaphore(options.concurrency);
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? sleep;
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.limiter.inUse;
  }

  async complete(messages: readonly ChatMessage[], params: SamplingParams, signal?: AbortSignal): Promise<CompletionResult> {
    validateSamplingParams(params);
    const body = JSON.stringify(requestBody(this.endpoint.model, messages, params));
    const maxAttempts = this.options.maxRetries + 1;
    for (let attempt = 1; ; attempt++) {
      // The permit is held per attempt, not across backoff, so waiting retries do not block other calls.
      const release = await this.limiter.acquire(signal);
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(body, attempt, signal);
      } finally {
        release();
      }
      if (outcome.ok) return { ...outcome.result, attempts: attempt };
      const { error } = outcome;
      if (!error.retryable) throw error;
      if (attempt >= maxAttempts) throw this.exhausted(outcome.detail, error, attempt);
      const delayMs = this.backoffDelay(attempt, outcome.retryAfterMs);
      this.options.onRetry?.({ endpoint: this.endpoint.name, attempt, delayMs, error });
      await this.sleep(delayMs, signal);
    }
  }

  private async attempt(body: string, attempt: number, callerSignal: AbortSignal | undefined): Promise<AttemptOutcome> {
    const { endpoint, timeoutMs } = this.options;
    callerSignal?.throwIfAborted();
    // One controller per attempt, aborted by the timer or the caller. Not AbortSignal.any: on Node 20 it
    // leaks a dependent signal per call into a long-lived caller signal (nodejs/node#55351).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    const onCallerAbort = () => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = controller.signal;
    const started = performance.now();
    const fail = (detail: string, retryable: boolean, status: number | null, cause?: unknown, retryAfterMs: number | null = null): AttemptOutcome => ({
      ok: false,
      error: new RolloutError(`${this.where()}: ${detail}`, endpoint.name, retryable, status, attempt, { cause }),
      detail,
      retryAfterMs,
    });
    try {
      let response: Response;
      let text: string;
      try {
        response = await fetch(this.url, { method: 'POST', headers: this.headers(), body, signal });
        text = await response.text();
      } catch (cause) {
        if (callerSignal?.aborted) throw callerSignal.reason;
        if (timedOut) return fail(`timed out after ${timeoutMs} ms`, true, null, cause);
        return fail(`network error: ${describeNetworkError(cause)}`, true, null, cause);
      }
      const latencyMs = performance.now() - started;
      if (!response.ok) {
        const status = response.status;
        const detail = `HTTP ${status}: ${serverErrorMessage(text)}`;
        if (isRetryableStatus(status)) return fail(detail, true, status, undefined, retryAfterMs(response.headers.get('retry-after')));
        return fail(`${detail}. ${adviceFor(status, endpoint)}`, false, status);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        // A 200 that is not JSON is a cut-off body or a proxy page; both tend to pass.
        return fail(`HTTP 200 with a body that is not JSON: ${truncate(text, 200)}`, true, 200, cause);
      }
      const parsed = parseCompletion(json);
      if (typeof parsed === 'string') {
        return fail(`the response is not an OpenAI chat completion (${parsed}); is baseUrl an OpenAI-compatible /v1 root?`, false, 200);
      }
      // Asked for n ≥ 1 and got nothing: an overloaded or cut-off answer, not a result.
      if (parsed.choices.length === 0) return fail('HTTP 200 with no choices', true, 200);
      return { ok: true, result: { ...parsed, latencyMs } };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  private exhausted(lastDetail: string, last: RolloutError, attempts: number): RolloutError {
    const message =
      `${this.where()}: gave up after ${attempts} attempts; last error: ${lastDetail}. ` +
      `Check that the server is up (GET ${this.endpoint.baseUrl.replace(/\/+$/, '')}/models), lower the concurrency, or raise maxRetries / timeoutMs`;
    return new RolloutError(message, this.endpoint.name, true, last.status, attempts, { cause: last });
  }

  private where(): string {
    return `endpoint "${this.endpoint.name}" (${this.url}, model "${this.endpoint.model}")`;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.endpoint.apiKey) headers.authorization = `Bearer ${this.endpoint.apiKey}`;
    return headers;
  }

  private backoffDelay(attempt: number, retryAfterMs: number | null): number {
    const { baseMs, maxMs } = this.options.backoff;
    if (retryAfterMs !== null) return Math.min(retryAfterMs, maxMs);
    return Math.floor(this.random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
  }
}

function requestBody(model: string, messages: readonly ChatMessage[], params: SamplingParams): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages,
    n: params.n,
    temperature: params.temperature,
    top_p: params.topP,
    max_tokens: params.maxTokens,
  };
  if (params.seed !== undefined) body.seed = params.seed;
  return body;
}

function validateSamplingParams(p: SamplingParams): void {
  const problems: string[] = [];
  if (!Number.isInteger(p.n) || p.n < 1) problems.push(`n=${p.n} (integer ≥ 1)`);
  if (!(p.temperature >= 0)) problems.push(`temperature=${p.temperature} (≥ 0)`);
  if (!(p.topP > 0 && p.topP <= 1)) problems.push(`topP=${p.topP} (in (0, 1])`);
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 1) problems.push(`maxTokens=${p.maxTokens} (integer ≥ 1)`);
  if (p.seed !== undefined && !Number.isInteger(p.seed)) problems.push(`seed=${p.seed} (integer)`);
  if (problems.length > 0) throw new RangeError(`invalid sampling params: ${problems.join(', ')}`);
}

function parseCompletion(json: unknown): Omit<CompletionResult, 'attempts' | 'latencyMs'> | string {
  if (!isRecord(json) || !Array.isArray(json.choices)) return 'no choices array';
  const choices: RolloutChoice[] = [];
  for (const [position, raw] of json.choices.entries()) {
    if (!isRecord(raw) || !isRecord(raw.message)) return `choice ${position} has no message`;
    const { content, reasoning_content: reasoning } = raw.message;
    if (content !== null && content !== undefined && typeof content !== 'string') return `choice ${position} content is not a string`;
    choices.push({
      index: typeof raw.index === 'number' ? raw.index : position,
      text: content ?? '',
      reasoning: typeof reasoning === 'string' ? reasoning : null,
      finishReason: typeof raw.finish_reason === 'string' ? raw.finish_reason : null,
      completionTokens: null,
    });
  }
  choices.sort((a, b) => a.index - b.index);
  const usage = isRecord(json.usage) ? json.usage : {};
  return {
    choices,
    promptTokens: typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : null,
    completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : null,
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After is delay-seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** The `error.message` of an OpenAI/vLLM/SGLang error body, else FastAPI's `detail`, else the raw text. */
function serverErrorMessage(text: string): string {
  try {
    const json: unknown = JSON.parse(text);
    if (isRecord(json)) {
      const { error, message, detail } = json;
      if (isRecord(error) && typeof error.message === 'string') return error.message;
      if (typeof error === 'string') return error;
      if (typeof message === 'string') return message;
      if (typeof detail === 'string') return detail;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim() === '' ? '(empty body)' : truncate(text.trim(), 500);
}

function adviceFor(status: number, endpoint: Endpoint): string {
  switch (status) {
    case 401:
    case 403:
      return `Check the API key for endpoint "${endpoint.name}" (the variable named by apiKeyEnv in the config)`;
    case 404:
      return `Check that baseUrl ends in the API root (e.g. http://host:8000/v1) and that the server serves model "${endpoint.model}" (GET ${endpoint.baseUrl.replace(/\/+$/, '')}/models)`;
    case 413:
      return 'The request is too large: downscale the images or raise the server request size limit';
    default:
      return 'The server refused the request itself, so retrying will not help: check the model name, that maxTokens plus the prompt fits the context length, that the model accepts images, and the sampling params';
  }
}

function describeNetworkError(error: unknown): string {
  // undici wraps the socket error as `fetch failed` with the interesting part in `cause`.
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 4; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${e.message} (${code})` : e.message);
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
