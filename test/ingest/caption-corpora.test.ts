import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { glob } from 'tinyglobby';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const CORPORA = join(REPO_ROOT, '..', 'shared', 'corpora');
const COCO = join(CORPORA, 'image_caption', 'coco_val2017_sample');
const NATURAL = join(CORPORA, 'natural_images');

describe.skipIf(!existsSync(COCO) || !existsSync(NATURAL))('caption ingest of the real corpora', () => {
  let ws: Workspace;
  let loaded: LoadedConfig;

  beforeAll(async () => {
    ws = await createWorkspace('stratum-caption-corpora-');
    loaded = await ws.config({
      datasets: {
        coco: { sources: [{ name: 'coco_val2017', type: 'caption', layout: 'coco-captions', path: join(COCO, 'captions_val2017_subset.json'), imageRoot: join(COCO, 'images') }] },
        natural: { sources: [{ name: 'natural', type: 'caption', layout: 'folder', path: NATURAL, requireCaption: false, license: 'see PROVENANCE.md' }] },
      },
    });
    await runCommand(loaded, 'ingest', {});
  }, 120_000);
  afterAll(() => ws?.cleanup());

  it('pairs every COCO image with its five human captions', async () => {
    const [funnel] = await queryShards(loaded, `SELECT count(*)::INT AS n, count(*) FILTER (WHERE decision = 'kept')::INT AS kept FROM ledger WHERE unit LIKE 'coco_val2017:%'`);
    expect(funnel).toEqual({ n: 400, kept: 400 });
    const rows = await queryShards(
      loaded,
      `SELECT media[1].id AS id, media[1].width AS w, media[1].height AS h, json_extract(meta, '$.coco.width')::INT AS cw, json_extract(meta, '$.coco.height')::INT AS ch, license
       FROM samples WHERE source.name = 'coco_val2017'`,
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(80);
    for (const r of rows) expect([r.w, r.h]).toEqual([r.cw, r.ch]); // the decoded size agrees with the annotation
    expect(rows.every((r) => typeof r.license === 'string' && (r.license as string).length > 0)).toBe(true);
  });

  it('keeps caption-less natural images as image-only samples (requireCaption: false) and quarantines the truncated JPEG', async () => {
    const files = await glob('**/*.{jpg,jpeg,png,gif}', { cwd: NATURAL });
    const ledger = await queryShards(loaded, `SELECT source_uri, decision, reason FROM ledger WHERE unit LIKE 'natural:%'`);
    expect(ledger).toHaveLength(files.length);
    const quarantined = ledger.filter((r) => r.decision !== 'kept');
    expect(quarantined).toEqual([{ source_uri: join(NATURAL, 'skimage_data', 'truncated.jpg'), decision: 'quarantined', reason: 'corrupt_image' }]);
    const [parts] = await queryShards(loaded, `SELECT max(len(content))::INT AS most FROM samples WHERE source.name = 'natural'`);
    expect(parts?.most).toBe(1);
    // skimage and imageio ship the same astronaut.png bytes: one blob, two samples
    const [astronaut] = await queryShards(loaded, `SELECT count(*)::INT AS samples, count(DISTINCT media[1].id)::INT AS blobs FROM samples WHERE source.uri LIKE '%/astronaut.png'`);
    expect(astronaut).toEqual({ samples: 2, blobs: 1 });
  });
});
