import { existsSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { LoadedConfig } from '../shared/config/load.js';
import { stableHash } from '../shared/hash.js';
import { datasetNames } from '../shared/runner/context.js';
import { DatasetLayout } from '../shared/store/layout.js';
import { stageChain } from '../stages.js';
import { changesBetween, historyPath, recordSnapshot, snapshotOf, stateDigest, type Snapshot } from './history.js';
import type { RenderedDataset } from './render.js';

/** Bumped when the report's content changes, so an unchanged dataset still gets the new report once. */
const REPORT_VERSION = 1;

export interface ReportOptions {
  /** Output file; default `<shardsDir>/report.html`. Relative paths are taken from the current directory. */
  out?: string;
  dataset?: string;
  /** Write even when the shards are unchanged since the report at `out` was written. */
  force?: boolean;
  /** What the run that precedes this report did, per dataset (recorded in the history). */
  runs?: Map<string, Snapshot['run']>;
}

export interface ReportResult {
  path: string;
  written: boolean;
  digest: string;
}

export function defaultReportPath(loaded: LoadedConfig): string {
  return join(loaded.shardsDir, 'report.html');
}

/**
 * Writes the HTML report of the given datasets: one self-contained file (inline CSS, SVG charts,
 * thumbnails as data URLs). When the shards are unchanged since the report already at `out` was
 * written (same state digest), nothing is read or written: a nightly run that found nothing new
 * pays only for reading the manifests.
 */
export async function writeReport(loaded: LoadedConfig, options: ReportOptions = {}): Promise<ReportResult> {
  const path = options.out ? (isAbsolute(options.out) ? options.out : resolve(options.out)) : defaultReportPath(loaded);
  const datasets = datasetNames(loaded, options.dataset);
  const states = [];
  for (const dataset of datasets) {
    const config = loaded.config.datasets[dataset]!;
    const layout = new DatasetLayout(loaded.shardsDir, dataset);
    const stages = stageChain(config);
    states.push({ dataset, layout, stages, digest: await stateDigest(layout, stages) });
  }
  const digest = stableHash([REPORT_VERSION, states.map((s) => [s.dataset, s.digest])]);
  if (!options.force && (await embeddedDigest(path)) === digest) return { path, written: false, digest };

  // Loaded only when there is something to write: an unchanged run pays for none of this.
  const [{ connect }, { BlobStore }, { collectDataset }, { renderReport }] = await Promise.all([
    import('../shared/store/duckdb.js'),
    import('../shared/store/blob-store.js'),
    import('./collect.js'),
    import('./render.js'),
  ]);
  const conn = await connect();
  try {
    const rendered: RenderedDataset[] = [];
    for (const s of states) {
      const data = await collectDataset(conn, loaded.shardsDir, s.dataset, s.stages);
      const blobs = new BlobStore(s.layout.blobs);
      const thumbnails = new Map<string, string>();
      const media = new Set<string>([...data.gallery.map((g) => g.media), ...data.clusters.flatMap((c) => [c.keeper.media, ...c.members.map((m) => m.media)])].filter((m): m is string => !!m));
      // Thumbnails (sharp) load only for datasets with images.
      if (media.size) {
        const { thumbnail } = await import('./thumbnails.js');
        for (const id of media) {
          const url = await thumbnail(blobs, id);
          if (url) thumbnails.set(id, url);
        }
      }
      const current = snapshotOf(data, s.digest, options.runs?.get(s.dataset));
      const { history, previous } = await recordSnapshot(historyPath(s.layout), current);
      rendered.push({ data, thumbnails, history, previous, changes: changesBetween(previous, current) });
    }
    const html = renderReport({ generatedAt: new Date().toISOString(), configFile: loaded.file, shardsDir: loaded.shardsDir, digest }, rendered);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, html);
    await rename(tmp, path);
    return { path, written: true, digest };
  } finally {
    conn.closeSync();
  }
}

/** The digest a report file was written from (a meta tag near its top), or null. */
async function embeddedDigest(path: string): Promise<string | null> {
  if (!existsSync(path)) return null;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return /<meta name="stratum-report-digest" content="([0-9a-f]+)">/.exec(buffer.subarray(0, bytesRead).toString('utf8'))?.[1] ?? null;
  } finally {
    await handle.close();
  }
}
