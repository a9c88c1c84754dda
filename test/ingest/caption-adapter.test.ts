import { readManifest } from '../../pipelines/shared/runner/manifest.js';
import { readFileSync } from 'node:fs';
import { rm, truncate } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { connect } from '../../pipelines/shared/store/duckdb.js';
import { createWorkspace, makePng, makeTruncatedJpeg, queryShards, type Workspace } from '../support/workspace.js';
import { makeBombPng, writeTar } from '../fixtures/caption/build.js';

let ws: Workspace;
let loaded: LoadedConfig;

beforeAll(async () => {
  ws = await createWorkspace('stratum-caption-');
  // (1) an image folder with sidecars
  await ws.write('folder/cat.png', await makePng(1));
  await ws.write('folder/cat.txt', '  A grey cat\n sleeping on a mat.  \n');
  await ws.write('folder/dog.jpg', await sharp(await makePng(2)).jpeg().toBuffer());
  await ws.write('folder/dog.json', JSON.stringify({ captions: ['A dog.', 'A brown dog running.'], photographer: 'x' }));
  await ws.write('folder/sub/bird.PNG', await makePng(3));
  await ws.write('folder/sub/bird.txt', 'A bird.');
  await ws.write('folder/nocap.png', await makePng(4));
  await ws.write('folder/blank.png', await makePng(5));
  await ws.write('folder/blank.txt', '  \n ');
  await ws.write('folder/badjson.png', await makePng(6));
  await ws.write('folder/badjson.json', '{"caption": ');
  await ws.write('folder/truncated.jpg', await makeTruncatedJpeg());
  await ws.write('folder/truncated.txt', 'Half a photo.');
  await ws.write('folder/bomb.png', makeBombPng(100_000, 100_000));
  await ws.write('folder/bomb.txt', 'A very large image.');
  await ws.write('folder/text.png', 'I am not an image');
  await ws.write('folder/text.txt', 'A text file.');
  await ws.write('folder/notes.md', 'not an image, not listed');

  // (2) records: jsonl with a path, base64, a data: URL, a missing file, no caption field
  const b64 = (await makePng(10)).toString('base64');
  await ws.write('records/imgs/r1.png', await makePng(11));
  await ws.write(
    'records/pairs.jsonl',
    [
      JSON.stringify({ id: 'r1', image: 'imgs/r1.png', caption: 'A red square.', extra: 1 }),
      JSON.stringify({ id: 'r2', image: b64, caption: 'Base64 pixels.', alt: 'Alt text too.' }),
      JSON.stringify({ id: 'r3', image: `data:image/png;base64,${b64}`, caption: 'Same pixels, data URL.' }),
      JSON.stringify({ id: 'r4', image: 'imgs/missing.png', caption: 'Nothing here.' }),
      JSON.stringify({ id: 'r5', image: 'imgs/r1.png' }),
      '{"id": "r6", ',
      JSON.stringify({ id: 'r7', image: 'http://127.0.0.1:9/x.png', caption: 'Remote but no download configured.' }),
    ].join('\n') + '\n',
  );

  // (2b) parquet with image bytes in a BLOB column
  const conn = await connect();
  const hex = (await makePng(12)).toString('hex');
  await conn.run(`COPY (SELECT 'p1' AS id, from_hex('${hex}') AS img, ['First caption.', 'Second caption.'] AS caps) TO '${ws.path('records/bytes.parquet')}' (FORMAT PARQUET)`);

  // (3) a WebDataset shard, including hostile member names
  await writeTar(ws.path('wds/shard-000.tar'), [
    { name: 'shard/000001.jpg', body: await sharp(await makePng(20)).jpeg().toBuffer() },
    { name: 'shard/000001.txt', body: 'First shard sample.' },
    { name: 'shard/000002.png', body: await makePng(21) },
    { name: 'shard/000002.json', body: JSON.stringify({ caption: 'Second shard sample.', url: 'https://example.org/2.png', similarity: 0.31 }) },
    { name: '../evil.jpg', body: await makePng(22) },
    { name: '/etc/evil.jpg', body: await makePng(23) },
    { name: 'shard/link.jpg', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'shard/dir', type: 'directory' },
    { name: 'shard/000003.txt', body: 'A caption without its image.' },
    { name: 'shard/000004.png', body: await makePng(24) },
    { name: 'shard/000005.png', body: makeBombPng(50_000, 50_000) },
    { name: 'shard/000005.txt', body: 'Bomb in a tar.' },
  ]);
  // a second shard cut in the middle of a member
  await writeTar(ws.path('wds/shard-001.tar'), [
    { name: 'b/000001.png', body: await makePng(30, 8, 8) }, // header + one 512-byte block
    { name: 'b/000001.txt', body: 'Before the cut.' }, // header + one block
    { name: 'b/000002.png', body: await makePng(31, 64, 64) },
    { name: 'b/000002.txt', body: 'After the cut.' },
  ]);
  await truncate(ws.path('wds/shard-001.tar'), 4 * 512 + 512 + 100); // inside b/000002.png
  // a gzipped shard
  await writeTar(ws.path('wdsgz/plain.tar'), [
    { name: 'z/1.png', body: await makePng(40) },
    { name: 'z/1.txt', body: 'Compressed shard.' },
  ]);
  await ws.write('wdsgz/shard.tgz', gzipSync(readFileSync(ws.path('wdsgz/plain.tar'))));
  await rm(ws.path('wdsgz/plain.tar'));

  loaded = await ws.config({
    datasets: {
      c: {
        sources: [
          { name: 'folder', type: 'caption', layout: 'folder', path: 'folder' },
          { name: 'folder_first', type: 'caption', layout: 'folder', path: 'folder/dog.jpg', captions: 'first' },
          { name: 'pairs', type: 'caption', layout: 'records', path: 'records/pairs.jsonl', format: 'jsonl', fields: { id: 'id', image: 'image', captions: ['caption', 'alt'] } },
          { name: 'bytes', type: 'caption', layout: 'records', path: 'records/bytes.parquet', format: 'parquet', fields: { id: 'id', image: 'img', captions: 'caps' } },
          { name: 'wds', type: 'caption', layout: 'webdataset', path: 'wds' },
          { name: 'wdsgz', type: 'caption', layout: 'webdataset', path: 'wdsgz' },
        ],
        ingest: { unitRows: 4 },
      },
      open: {
        sources: [{ name: 'nocaptions', type: 'caption', layout: 'folder', path: 'folder', requireCaption: false }],
      },
    },
  });
  await runCommand(loaded, 'ingest', {});
}, 60_000);
afterAll(() => ws?.cleanup());

/** `uri#locator` → `kept` or `decision:reason`, for one source's units. */
async function decisions(source: string): Promise<Record<string, string>> {
  const rows = await queryShards(loaded, `SELECT source_uri, locator, decision, reason FROM ledger WHERE unit LIKE '${source}:%' ORDER BY ALL`);
  return Object.fromEntries(rows.map((r) => [`${r.source_uri}#${r.locator}`, r.decision === 'kept' ? 'kept' : `${r.decision}:${r.reason}`]));
}

describe('caption ingest: image folders with sidecars', () => {
  it('pairs each image with its sidecar caption(s) and quarantines the rest with reasons', async () => {
    const d = await decisions('folder');
    expect(d).toEqual({
      'folder/badjson.png#image': 'quarantined:malformed_caption_json',
      'folder/blank.png#image': 'quarantined:empty_caption',
      'folder/bomb.png#image#caption:0': 'quarantined:image_too_large',
      'folder/cat.png#image#caption:0': 'kept',
      'folder/dog.jpg#image#caption:0': 'kept',
      'folder/dog.jpg#image#caption:1': 'kept',
      'folder/nocap.png#image': 'quarantined:missing_caption',
      'folder/sub/bird.PNG#image#caption:0': 'kept',
      'folder/text.png#image#caption:0': 'quarantined:corrupt_image',
      'folder/truncated.jpg#image#caption:0': 'quarantined:corrupt_image',
    });
  });

  it('builds caption samples: image part then caption text, media described, both perceptual hashes', async () => {
    const rows = await queryShards(
      loaded,
      `SELECT kind, content, media[1] AS m, signals.extra AS extra, meta FROM samples WHERE source.name = 'folder' AND source.uri = 'folder/cat.png'`,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0] as { kind: string; content: Array<{ type: string; text: string | null; media_id: string | null }>; m: Record<string, unknown>; extra: string };
    expect(row.kind).toBe('caption');
    expect(row.content.map((p) => p.type)).toEqual(['image', 'text']);
    expect(row.content[1]?.text).toBe('A grey cat\n sleeping on a mat.');
    expect(row.m).toMatchObject({ mime: 'image/png', width: 64, height: 48, phash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(row.content[0]?.media_id).toBe(row.m.id);
    expect(JSON.parse(row.extra)).toMatchObject({ caption_chars: 30 });
    const blobs = await queryShards(loaded, `SELECT count(DISTINCT m.id)::INT AS n FROM (SELECT unnest(media) AS m FROM samples WHERE dataset = 'c')`);
    expect(blobs[0]?.n).toBeGreaterThan(0);
  });

  it('captions: first keeps one sample per image with the other captions in meta', async () => {
    const rows = await queryShards(loaded, `SELECT content[2].text AS caption, meta FROM samples WHERE source.name = 'folder_first'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.caption).toBe('A dog.');
    expect(JSON.parse(rows[0]?.meta as string)).toMatchObject({ other_captions: ['A brown dog running.'], sidecar: 'dog.json', });
  });

  it('requireCaption: false keeps caption-less images as image-only samples', async () => {
    const rows = await queryShards(loaded, `SELECT source.uri AS uri, len(content)::INT AS parts FROM samples WHERE dataset = 'open' ORDER BY ALL`);
    const byUri = Object.fromEntries(rows.map((r) => [r.uri, r.parts]));
    expect(byUri['folder/nocap.png']).toBe(1);
    expect(byUri['folder/blank.png']).toBe(1);
    expect(byUri['folder/cat.png']).toBe(2);
    expect(byUri['folder/bomb.png']).toBeUndefined();
  });
});

describe('caption ingest: records', () => {
  it('reads paths, base64, data: URLs and parquet bytes, with several caption fields', async () => {
    expect(await decisions('pairs')).toEqual({
      'records/pairs.jsonl#line:1#caption:0': 'kept',
      'records/pairs.jsonl#line:2#caption:0': 'kept',
      'records/pairs.jsonl#line:2#caption:1': 'kept',
      'records/pairs.jsonl#line:3#caption:0': 'kept',
      'records/pairs.jsonl#line:4#caption:0': 'quarantined:missing_image',
      'records/pairs.jsonl#line:5': 'quarantined:missing_caption',
      'records/pairs.jsonl#line:6': 'quarantined:malformed_json',
      'records/pairs.jsonl#line:7#caption:0': 'quarantined:remote_image',
    });
    expect(await decisions('bytes')).toEqual({
      'records/bytes.parquet#row:0#caption:0': 'kept',
      'records/bytes.parquet#row:0#caption:1': 'kept',
    });
    const same = await queryShards(loaded, `SELECT count(DISTINCT media[1].id)::INT AS n FROM samples WHERE source.name = 'pairs' AND source.locator IN ('line:2#caption:0', 'line:3#caption:0')`);
    expect(same[0]?.n).toBe(1);
    const meta = await queryShards(loaded, `SELECT meta FROM samples WHERE source.name = 'pairs' AND source.locator = 'line:1#caption:0'`);
    expect(JSON.parse(meta[0]?.meta as string)).toEqual({ extra: 1 });
  });
});

describe('caption ingest: WebDataset shards', () => {
  it('groups members by key, refuses unsafe members and reads up to a damaged tail', async () => {
    expect(await decisions('wds')).toEqual({
      'wds/shard-000.tar#key:shard/000001#caption:0': 'kept',
      'wds/shard-000.tar#key:shard/000002#caption:0': 'kept',
      'wds/shard-000.tar#member:../evil.jpg': 'quarantined:unsafe_member_path',
      'wds/shard-000.tar#member:/etc/evil.jpg': 'quarantined:unsafe_member_path',
      'wds/shard-000.tar#member:shard/link.jpg': 'quarantined:unsupported_tar_member',
      'wds/shard-000.tar#key:shard/000003#caption:0': 'quarantined:missing_image',
      'wds/shard-000.tar#key:shard/000004': 'quarantined:missing_caption',
      'wds/shard-000.tar#key:shard/000005#caption:0': 'quarantined:image_too_large',
      'wds/shard-001.tar#key:b/000001#caption:0': 'kept',
      'wds/shard-001.tar#after:b/000001.txt': 'quarantined:corrupt_archive',
    });
    expect(await decisions('wdsgz')).toEqual({ 'wdsgz/shard.tgz#key:z/1#caption:0': 'kept' });
    const meta = await queryShards(loaded, `SELECT content[2].text AS caption, meta FROM samples WHERE source.name = 'wds' AND source.locator = 'key:shard/000002#caption:0'`);
    expect(meta[0]?.caption).toBe('Second shard sample.');
    expect(JSON.parse(meta[0]?.meta as string)).toMatchObject({ key: 'shard/000002', json: { similarity: 0.31 } });
  });

  it('never writes a member anywhere: nothing named evil exists outside the blob store', async () => {
    const { glob } = await import('tinyglobby');
    expect(await glob('**/evil*', { cwd: ws.dir, dot: true })).toEqual([]);
    expect(await glob('evil*', { cwd: ws.path('..') })).toEqual([]);
  });
});

describe('caption ingest: accounting', () => {
  it('balances in = kept + dropped + quarantined for every unit', async () => {
    let total = 0;
    for (const name of ['c', 'open']) {
      const manifest = await readManifest(ws.path(`shards/${name}/ingest/_manifest.jsonl`), 'ingest');
      const units = Object.values((manifest as { units: Record<string, { counts: { in: number; kept: number; dropped: number; quarantined: number } }> }).units);
      for (const { counts } of units) expect(counts.in).toBe(counts.kept + counts.dropped + counts.quarantined);
      total += units.reduce((n, u) => n + u.counts.in, 0);
    }
    const ledger = await queryShards(loaded, `SELECT count(*)::INT AS n, count(*) FILTER (WHERE decision = 'kept')::INT AS kept FROM ledger`);
    const samples = await queryShards(loaded, `SELECT count(*)::INT AS n FROM samples`);
    expect(ledger[0]?.n).toBe(total);
    expect(ledger[0]?.kept).toBe(samples[0]?.n);
  });

  it('a re-run skips every committed unit', async () => {
    const [c, open] = await runCommand(loaded, 'ingest', {});
    expect(c?.processed).toBe(0);
    expect(open?.processed).toBe(0);
  });
});

