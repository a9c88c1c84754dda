import { randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { sha256Hex, stableHash } from '../../shared/hash.js';
import { RecordError } from '../record-error.js';

export interface DownloadOptions {
  /** Requests in flight at once (per downloader; sources with the same options share one). */
  concurrency: number;
  /** Further attempts after a timeout, a network error, HTTP 429 or 5xx. */
  retries: number;
  /** First retry delay; doubles each attempt (with jitter), or follows Retry-After up to 30 s. */
  backoffMs: number;
  /** Per attempt, from connecting to the last byte. */
  timeoutMs: number;
  /** Larger responses are refused: from Content-Length before reading, or when the stream passes it. */
  maxBytes: number;
  /** Accepted media types; `image/*` style wildcards allowed. */
  contentTypes: string[];
  /** Downloads are kept here keyed by the URL's sha256; null: no cache. */
  cacheDir: string | null;
  /** Off by default: loopback, private, link-local and unique-local addresses are refused. */
  allowPrivateNetworks: boolean;
  maxRedirects: number;
  userAgent: string;
}

export interface Downloaded {
  bytes: Buffer;
  contentType: string;
  /** The URL after redirects. */
  finalUrl: string;
  fromCache: boolean;
}

export const DEFAULT_DOWNLOAD_OPTIONS: DownloadOptions = {
  concurrency: 8,
  retries: 3,
  backoffMs: 500,
  timeoutMs: 30_000,
  maxBytes: 32 * 1024 * 1024,
  contentTypes: ['image/*'],
  cacheDir: null,
  allowPrivateNetworks: false,
  maxRedirects: 5,
  userAgent: 'stratum-ingest/0.1',
};

/** Ranges refused unless allowPrivateNetworks; every other non-public range is always refused. */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);

/** A failure worth another attempt (timeouts, resets, 429, 5xx), carrying the reason it ends with. */
class RetryableError extends RecordError {
  constructor(
    reason: string,
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(reason, message);
  }
}

/**
 * Fetches remote images safely: http(s) only; every address a host resolves to must be public
 * (checked again on each redirect, and the connection pinned to the checked address so DNS cannot
 * change between check and connect); size, type and time limits; retries with backoff; a disk cache.
 * Failures throw RecordError with a machine-readable reason.
 */
export class Downloader {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly inFlight = new Map<string, Promise<Downloaded>>();

  constructor(readonly options: DownloadOptions) {}

  fetch(url: string): Promise<Downloaded> {
    let pending = this.inFlight.get(url);
    if (!pending) {
      pending = this.fetchOnce(url).finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, pending);
    }
    return pending;
  }

  private async fetchOnce(url: string): Promise<Downloaded> {
    const cached = await this.readCache(url);
    if (cached) return cached;
    await this.acquire();
    try {
      const result = await this.withRetries(url);
      await this.writeCache(url, result);
      return result;
    } finally {
      this.release();
    }
  }

  private async withRetries(url: string): Promise<Downloaded> {
    const { retries, backoffMs } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.followRedirects(url);
      } catch (err) {
        if (!(err instanceof RetryableError) || attempt >= retries) {
          if (err instanceof RetryableError) throw new RecordError(err.reason, `${err.message} (gave up after ${attempt + 1} attempts)`);
          throw err;
        }
        const delay = err.retryAfterMs ?? backoffMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
        await new Promise((r) => setTimeout(r, Math.min(delay, 30_000)));
      }
    }
  }

  private async followRedirects(start: string): Promise<Downloaded> {
    let url = parseHttpUrl(start);
    for (let hop = 0; ; hop++) {
      const response = await this.request(url);
      if ('redirect' in response) {
        if (hop >= this.options.maxRedirects) throw new RecordError('too_many_redirects', `more than ${this.options.maxRedirects} redirects from ${start}`);
        url = parseHttpUrl(response.redirect, url);
        continue;
      }
      return response;
    }
  }

  /** One request to one URL: a redirect target, or the accepted body. */
  private async request(url: URL): Promise<Downloaded | { redirect: string }> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const target = await this.checkedAddress(host, url.href);
    const { timeoutMs, maxBytes } = this.options;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = (url.protocol === 'https:' ? https : http).request(url, {
          method: 'GET',
          headers: { 'user-agent': this.options.userAgent, accept: this.options.contentTypes.join(', ') },
          signal: abort.signal,
          // Connect to the address that was checked, never to a second DNS answer.
          lookup: (_hostname, opts, callback) => {
            if ((opts as { all?: boolean }).all) (callback as (e: null, a: LookupAddress[]) => void)(null, [target]);
            else (callback as (e: null, a: string, f: number) => void)(null, target.address, target.family);
          },
        });
        req.on('response', resolve);
        req.on('error', reject);
        req.end();
      });
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.destroy();
        return { redirect: res.headers.location };
      }
      if (status === 429 || status >= 500) {
        res.destroy();
        throw new RetryableError('http_error', `HTTP ${status} from ${url.href}`, retryAfterMs(res.headers['retry-after']));
      }
      if (status < 200 || status >= 300) {
        res.destroy();
        throw new RecordError('http_error', `HTTP ${status} from ${url.href}`);
      }
      const contentType = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!this.acceptsType(contentType)) {
        res.destroy();
        throw new RecordError('wrong_content_type', `${url.href} is ${contentType || 'untyped'}; accepted: ${this.options.contentTypes.join(', ')} (set download.contentTypes)`);
      }
      const declared = Number(res.headers['content-length'] ?? Number.NaN);
      if (declared > maxBytes) {
        res.destroy();
        throw new RecordError('download_too_large', `${url.href} declares ${declared} bytes; the limit is ${maxBytes} (set download.maxBytes)`);
      }
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of res) {
        received += (chunk as Buffer).length;
        if (received > maxBytes) {
          res.destroy();
          throw new RecordError('download_too_large', `${url.href} sent more than ${maxBytes} bytes (set download.maxBytes)`);
        }
        chunks.push(chunk as Buffer);
      }
      if (!res.complete) throw new RetryableError('download_failed', `${url.href}: connection closed after ${received} bytes`);
      return { bytes: Buffer.concat(chunks), contentType, finalUrl: url.href, fromCache: false };
    } catch (err) {
      if (err instanceof RecordError) throw err;
      if (abort.signal.aborted) throw new RetryableError('download_timeout', `${url.href}: no complete response within ${timeoutMs} ms`);
      const code = (err as NodeJS.ErrnoException).code ?? '';
      throw new RetryableError('download_failed', `${url.href}: ${code ? `${code} ` : ''}${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves the host and checks every address it has; returns the one to connect to. */
  private async checkedAddress(host: string, href: string): Promise<LookupAddress> {
    let addresses: LookupAddress[];
    if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
    else {
      try {
        addresses = await new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, a) => (err ? reject(err) : resolve(a))));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAI_AGAIN') throw new RetryableError('dns_failed', `${host}: temporary DNS failure`);
        throw new RecordError('dns_failed', `${host} does not resolve (${code ?? (err as Error).message})`);
      }
    }
    for (const { address } of addresses) {
      const range = ipaddr.process(address).range();
      if (range === 'unicast') continue;
      if (PRIVATE_RANGES.has(range) && this.options.allowPrivateNetworks) continue;
      throw new RecordError(
        'private_address_refused',
        `${href}: ${host} resolves to ${address} (${range}); requests to non-public addresses are refused` +
          (PRIVATE_RANGES.has(range) ? ' unless download.allowPrivateNetworks is true' : ''),
      );
    }
    const first = addresses[0];
    if (!first) throw new RecordError('dns_failed', `${host} resolves to no address`);
    return first;
  }

  private acceptsType(type: string): boolean {
    return this.options.contentTypes.some((allowed) => {
      const a = allowed.toLowerCase();
      return a.endsWith('/*') ? type.startsWith(a.slice(0, -1)) : type === a;
    });
  }

  private cachePaths(url: string): { body: string; meta: string } | null {
    if (!this.options.cacheDir) return null;
    const key = sha256Hex(url);
    const body = join(this.options.cacheDir, key.slice(0, 2), key.slice(2));
    return { body, meta: `${body}.json` };
  }

  private async readCache(url: string): Promise<Downloaded | null> {
    const paths = this.cachePaths(url);
    if (!paths || !existsSync(paths.meta) || !existsSync(paths.body)) return null;
    try {
      const meta = JSON.parse(await readFile(paths.meta, 'utf8')) as { contentType: string; finalUrl: string; bytes: number };
      // Limits may have been tightened since the entry was written.
      if (meta.bytes > this.options.maxBytes || !this.acceptsType(meta.contentType)) return null;
      const bytes = await readFile(paths.body);
      if (bytes.length !== meta.bytes) return null;
      return { bytes, contentType: meta.contentType, finalUrl: meta.finalUrl, fromCache: true };
    } catch {
      return null;
    }
  }

  private async writeCache(url: string, result: Downloaded): Promise<void> {
    const paths = this.cachePaths(url);
    if (!paths) return;
    await mkdir(dirname(paths.body), { recursive: true });
    const tag = randomUUID();
    await writeFile(`${paths.body}.${tag}.tmp`, result.bytes);
    await rename(`${paths.body}.${tag}.tmp`, paths.body);
    const meta = { url, finalUrl: result.finalUrl, contentType: result.contentType, bytes: result.bytes.length, fetchedAt: new Date().toISOString() };
    await writeFile(`${paths.meta}.${tag}.tmp`, JSON.stringify(meta));
    await rename(`${paths.meta}.${tag}.tmp`, paths.meta);
  }

  private async acquire(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

const shared = new Map<string, Downloader>();

/** One downloader per distinct option set in this process, so concurrency limits hold across units. */
export function sharedDownloader(options: DownloadOptions): Downloader {
  const key = stableHash(options);
  let downloader = shared.get(key);
  if (!downloader) shared.set(key, (downloader = new Downloader(options)));
  return downloader;
}

export function isRemoteUrl(ref: unknown): ref is string {
  return typeof ref === 'string' && /^https?:\/\//i.test(ref);
}

function parseHttpUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new RecordError('invalid_url', `not a URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RecordError('invalid_url', `only http and https URLs are fetched, not ${url.protocol} (${url.href.slice(0, 200)})`);
  if (url.username || url.password) throw new RecordError('invalid_url', `URLs with credentials are not fetched (${url.host})`);
  return url;
}

function retryAfterMs(header: string | undefined): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}
