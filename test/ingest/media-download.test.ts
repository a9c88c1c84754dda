import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DOWNLOAD_OPTIONS, Downloader, type DownloadOptions } from '../../pipelines/ingest/media/download.js';
import { RecordError } from '../../pipelines/ingest/record-error.js';
import { makePng, makeTruncatedJpeg } from '../support/workspace.js';
import { startImageServer, type ImageServer } from '../fixtures/caption/image-server.js';

let server: ImageServer;
let png: Buffer;
let cacheDir: string;

beforeAll(async () => {
  png = await makePng(1);
  server = await startImageServer(png, await makeTruncatedJpeg());
  cacheDir = await mkdtemp(join(tmpdir(), 'stratum-dl-'));
});
afterAll(async () => {
  await server?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

const loopback = (o: Partial<DownloadOptions> = {}): Downloader =>
  new Downloader({ ...DEFAULT_DOWNLOAD_OPTIONS, allowPrivateNetworks: true, maxBytes: 64 * 1024, timeoutMs: 1000, retries: 1, backoffMs: 5, ...o });

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof RecordError) return err.reason;
    throw err;
  }
}

describe('downloader', () => {
  it('fetches images, following redirects, with or without Content-Length', async () => {
    const d = loopback();
    expect((await d.fetch(server.url('/ok.png'))).bytes.equals(png)).toBe(true);
    const chunked = await d.fetch(server.url('/chunked.png'));
    expect(chunked.bytes.equals(png)).toBe(true);
    expect(chunked.contentType).toBe('image/png');
    const redirected = await d.fetch(server.url('/redirect'));
    expect(redirected.finalUrl).toBe(server.url('/ok.png'));
  });

  it('refuses a 2 GB declared Content-Length from the header, without reading the body', async () => {
    const started = Date.now();
    expect(await reasonOf(loopback().fetch(server.url('/huge.jpg')))).toBe('download_too_large');
    expect(Date.now() - started).toBeLessThan(900); // well under the 1 s timeout: nothing waited for the body
  });

  it('aborts a body that grows past the limit', async () => {
    expect(await reasonOf(loopback().fetch(server.url('/endless.png')))).toBe('download_too_large');
  });

  it('refuses other content types, HTTP errors and redirect loops without retrying them', async () => {
    const d = loopback({ retries: 3 });
    expect(await reasonOf(d.fetch(server.url('/page.html')))).toBe('wrong_content_type');
    expect(await reasonOf(d.fetch(server.url('/missing.png')))).toBe('http_error');
    expect(server.hits.get('/missing.png')).toBe(1);
    expect(await reasonOf(d.fetch(server.url('/redirect-loop')))).toBe('too_many_redirects');
    expect(await reasonOf(d.fetch('ftp://127.0.0.1/x.png'))).toBe('invalid_url');
  });

  it('retries a 503 and times out a server that never answers', async () => {
    expect((await loopback().fetch(server.url('/flaky.png'))).bytes.equals(png)).toBe(true);
    expect(server.hits.get('/flaky.png')).toBe(2);
    expect(await reasonOf(loopback({ timeoutMs: 150 }).fetch(server.url('/slow.png')))).toBe('download_timeout');
    expect(server.hits.get('/slow.png')).toBe(2); // the first attempt and one retry
  });

  it('refuses loopback, private and unspecified addresses unless allowed, checking DNS answers and redirects', async () => {
    const strict = new Downloader({ ...DEFAULT_DOWNLOAD_OPTIONS, retries: 0 });
    for (const url of [server.url('/private-check.png'), `http://localhost:${server.port}/private-check.png`, `http://[::1]:${server.port}/private-check.png`, 'http://10.1.2.3/x.png', 'http://169.254.169.254/latest/meta-data']) {
      expect(await reasonOf(strict.fetch(url)), url).toBe('private_address_refused');
    }
    expect(server.hits.get('/private-check.png')).toBeUndefined(); // no request was made
    // Allowed private networks still never reach 0.0.0.0, and a redirect is checked again.
    expect(await reasonOf(loopback().fetch(server.url('/redirect-unspecified')))).toBe('private_address_refused');
  });

  it('keeps downloads in an on-disk cache keyed by URL', async () => {
    const first = await loopback({ cacheDir }).fetch(server.url('/cached.png'));
    const again = await loopback({ cacheDir }).fetch(server.url('/cached.png'));
    expect(first.fromCache).toBe(false);
    expect(again.fromCache).toBe(true);
    expect(again.bytes.equals(png)).toBe(true);
    expect(server.hits.get('/cached.png')).toBe(1);
  });
});
