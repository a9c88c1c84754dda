import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, makePng, makeTruncatedJpeg, queryShards, type Workspace } from '../support/workspace.js';
import { startImageServer, type ImageServer } from '../fixtures/caption/image-server.js';

let ws: Workspace;
let server: ImageServer;
let loaded: LoadedConfig;

beforeAll(async () => {
  ws = await createWorkspace('stratum-caption-remote-');
  server = await startImageServer(await makePng(1), await makeTruncatedJpeg());
  const row = (id: string, path: string) => JSON.stringify({ id, url: server.url(path), caption: `caption of ${path}` });
  await ws.write(
    'remote.jsonl',
    [
      row('ok', '/ok.png'),
      row('redirect', '/redirect'),
      row('huge', '/huge.jpg'),
      row('html', '/page.html'),
      row('missing', '/missing.png'),
      row('endless', '/endless.png'),
      row('corrupt', '/corrupt.png'),
      row('flaky', '/flaky.png'),
    ].join('\n') + '\n',
  );
  await ws.write('strict.jsonl', row('private', '/private-check.png') + '\n');
  const fields = { id: 'id', image: 'url', captions: 'caption' };
  loaded = await ws.config({
    datasets: {
      r: {
        sources: [
          {
            name: 'remote',
            type: 'caption',
            layout: 'records',
            path: 'remote.jsonl',
            format: 'jsonl',
            fields,
            download: { allowPrivateNetworks: true, maxBytes: 65_536, timeoutMs: 2000, retries: 1, backoffMs: 5 },
          },
          { name: 'strict', type: 'caption', layout: 'records', path: 'strict.jsonl', format: 'jsonl', fields, download: {} },
        ],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
});
afterAll(async () => {
  await server?.close();
  await ws?.cleanup();
});

describe('caption ingest of remote image URLs', () => {
  it('downloads through the limits and quarantines each refusal with its reason', async () => {
    const rows = await queryShards(loaded, `SELECT unit, locator, decision, reason, details FROM ledger ORDER BY ALL`);
    const byLocator = Object.fromEntries(rows.map((r) => [`${String(r.unit).split(':')[0]}@${r.locator}`, r.decision === 'kept' ? 'kept' : r.reason]));
    expect(byLocator).toEqual({
      'remote@line:1#caption:0': 'kept',
      'remote@line:2#caption:0': 'kept',
      'remote@line:3#caption:0': 'download_too_large',
      'remote@line:4#caption:0': 'wrong_content_type',
      'remote@line:5#caption:0': 'http_error',
      'remote@line:6#caption:0': 'download_too_large',
      'remote@line:7#caption:0': 'corrupt_image',
      'remote@line:8#caption:0': 'kept',
      'strict@line:1#caption:0': 'private_address_refused',
    });
    const huge = rows.find((r) => r.locator === 'line:3#caption:0');
    expect(JSON.parse(huge?.details as string).message).toMatch(/declares 2147483648 bytes; the limit is 65536/);
    const strict = rows.find((r) => String(r.unit).startsWith('strict:'));
    expect(JSON.parse(strict?.details as string).message).toMatch(/allowPrivateNetworks/);
    expect(server.hits.get('/private-check.png')).toBeUndefined();
  });

  it('records where each kept image came from; the image is stored once', async () => {
    const rows = await queryShards(loaded, `SELECT source.locator AS locator, media[1].id AS id, meta FROM samples ORDER BY 1`);
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.id)).size).toBe(1);
    expect(JSON.parse(rows[1]?.meta as string).download).toEqual({ url: server.url('/redirect'), final_url: server.url('/ok.png') });
  });

  it('serves a forced re-run from the download cache', async () => {
    const before = server.hits.get('/ok.png');
    await runCommand(loaded, 'ingest', { force: true });
    expect(server.hits.get('/ok.png')).toBe(before);
  });
});
