import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mapBounded } from '../../shared/concurrency.js';
import { sha256File } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import { sqlString } from '../../shared/store/duckdb.js';
import type { UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit } from '../adapter.js';
import { jsonFileTooDeep, MAX_JSON_DEPTH } from '../readers/json-depth.js';
import { rejectFile, sourceFiles, sourceUri } from '../source-files.js';
import type { CaptionSourceConfig } from './config.js';
import { emitCaptionItem, type CaptionEnv } from './emit.js';

export interface CocoPayload {
  layout: 'coco-captions';
  file: string;
  start: number;
  end: number;
}

interface CocoImageRow {
  pos: number;
  id: string | null;
  file_name: string | null;
  license: string | null;
  image_json: string | null;
  captions: string[] | null;
}

/**
 * COCO caption files (`captions_*.json`: images + annotations with image_id and caption), in slices
 * of `unitRows` images by id. DuckDB parses the JSON, so the file is never a JavaScript object.
 */
export async function planCoco(source: CaptionSourceConfig, ctx: StageContext): Promise<AdapterUnit[]> {
  const units: AdapterUnit[] = [];
  for (const file of await sourceFiles(source.name, source.path, ctx.baseDir, '**/captions_*.json')) {
    const uri = sourceUri(file, ctx.baseDir);
    if (await jsonFileTooDeep(file)) {
      await rejectFile(file, 'json_too_deep', `${file} nests JSON more than ${MAX_JSON_DEPTH} levels deep: not a COCO captions file (and too deep to parse safely)`);
      continue;
    }
    const images = await ctx.files.get(file, 'coco-caption-images', () => countImages(ctx.conn, file));
    if (typeof images === 'string') {
      await rejectFile(file, 'not_coco', images);
      continue;
    }
    if (images === 0) {
      await rejectFile(file, 'no_images', `${file} has an empty "images" list`);
      continue;
    }
    const fingerprint = await ctx.files.get(file, 'sha256', () => sha256File(file));
    for (let start = 0; start < Math.max(images, 1); start += ctx.config.ingest.unitRows) {
      const end = Math.min(images, start + ctx.config.ingest.unitRows);
      const payload: CocoPayload = { layout: 'coco-captions', file, start, end };
      units.push({ key: `${uri}#${start}-${end}`, label: `${source.name} ${uri} images ${start}–${end}`, fingerprint, size: end - start, payload });
    }
  }
  return units;
}

export async function processCoco(payload: CocoPayload, env: CaptionEnv, sink: UnitSink): Promise<void> {
  const { source, ctx } = env;
  const uri = sourceUri(payload.file, ctx.baseDir);
  const imageRoot = source.imageRoot ? resolve(ctx.baseDir, source.imageRoot) : dirname(payload.file);
  const licenses = await readLicenses(ctx.conn, payload.file);
  let rows: CocoImageRow[];
  try {
    rows = await readImageSlice(ctx.conn, payload);
  } catch (err) {
    // The images list is there but its entries are not image objects (wrong types): each entry says so.
    sink.inputs(payload.end - payload.start);
    for (let i = payload.start; i < payload.end; i++) {
      sink.quarantine({ sample_id: null, source_uri: uri, locator: `images:${i}` }, 'malformed_image_entry', { message: `entries of "images" are not COCO image objects with id and file_name: ${(err as Error).message.split('\n')[0]}` });
    }
    return;
  }
  await mapBounded(rows, ctx.config.ingest.concurrency, async (row) => {
    if (row.id === null || !row.file_name) {
      sink.inputs(1);
      sink.quarantine({ sample_id: null, source_uri: uri, locator: `images:${row.pos}` }, 'malformed_image_entry', {
        message: 'an entry of "images" needs an id and a file_name',
        raw: row.image_json ?? 'null',
      });
      return;
    }
    const imageJson = row.image_json ?? '{}';
    const image = JSON.parse(imageJson) as Record<string, unknown>;
    const license = row.license === null ? undefined : licenses.get(row.license);
    await emitCaptionItem(
      {
        uri,
        locator: `image:${row.id}`,
        recordId: null,
        image: row.file_name,
        imageBase: imageRoot,
        captions: { ok: true, captions: row.captions ?? [], meta: {} },
        // The per-image (Flickr) licence is the image's; a licence set on the source wins.
        license: source.license ? null : (license?.name ?? null),
        meta: { coco: image, ...(license?.url ? { license_url: license.url } : {}) },
        raw: imageJson,
      },
      env,
      sink,
    );
  });
}

/** The number of images, or why the file is not a COCO captions file (no images list, not JSON, too deep, ...). */
async function countImages(conn: DuckDBConnection, file: string): Promise<number | string> {
  try {
    const reader = await conn.runAndReadAll(`SELECT len(images)::BIGINT FROM ${await jsonSource(file)}`);
    return Number(reader.getRows()[0]?.[0] ?? 0);
  } catch (err) {
    return `${file} is not a COCO captions file with an images list (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Images [start, end) by id, each with its captions in annotation id order. */
async function readImageSlice(conn: DuckDBConnection, { file, start, end }: CocoPayload): Promise<CocoImageRow[]> {
  const sql = `
    WITH doc AS (SELECT images, annotations FROM ${await jsonSource(file)}),
    img AS (SELECT unnest(images) AS im, generate_subscripts(images, 1) - 1 AS pos FROM doc),
    sel AS (SELECT im, pos FROM img ORDER BY im.id, pos LIMIT ${end - start} OFFSET ${start}),
    ann AS (SELECT unnest(annotations) AS a FROM doc)
    SELECT sel.pos::INTEGER AS pos, sel.im.id::VARCHAR AS id, sel.im.file_name::VARCHAR AS file_name, sel.im.license::VARCHAR AS license,
      to_json(sel.im)::VARCHAR AS image_json,
      list(a.caption::VARCHAR ORDER BY a.id) FILTER (WHERE a.caption IS NOT NULL) AS captions
    FROM sel LEFT JOIN ann ON a.image_id = sel.im.id
    GROUP BY ALL
    ORDER BY pos`;
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as unknown as CocoImageRow[];
}

async function readLicenses(conn: DuckDBConnection, file: string): Promise<Map<string, { name: string | null; url: string | null }>> {
  try {
    const reader = await conn.runAndReadAll(`SELECT l.id::VARCHAR AS id, l.name::VARCHAR AS name, l.url::VARCHAR AS url FROM (SELECT unnest(licenses) AS l FROM ${await jsonSource(file)})`);
    const rows = reader.getRowObjectsJson() as Array<{ id: string; name: string | null; url: string | null }>;
    return new Map(rows.map((r) => [r.id, { name: r.name, url: r.url }]));
  } catch {
    return new Map(); // a file without a licenses list
  }
}

async function jsonSource(file: string): Promise<string> {
  const { size } = await stat(file);
  return `read_json(${sqlString(file)}, format = 'auto', maximum_object_size = ${Math.max(16 * 1024 * 1024, size + 1)})`;
}
