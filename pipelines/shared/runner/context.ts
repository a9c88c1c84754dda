import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../config/load.js';
import { BlobStore } from '../store/blob-store.js';
import { lazyConnection } from '../store/duckdb.js';
import { FileMemo } from '../store/file-memo.js';
import { DatasetLayout } from '../store/layout.js';
import type { StageContext } from './stage.js';

export function datasetNames(loaded: LoadedConfig, only?: string): string[] {
  const names = Object.keys(loaded.config.datasets);
  if (only === undefined) return names;
  if (!names.includes(only)) throw new ConfigError(`no dataset "${only}" in ${loaded.file} (datasets: ${names.join(', ')})`);
  return [only];
}

export async function stageContext(loaded: LoadedConfig, dataset: string, signal: AbortSignal): Promise<StageContext> {
  const config = loaded.config.datasets[dataset];
  if (!config) throw new ConfigError(`no dataset "${dataset}" in ${loaded.file}`);
  const layout = new DatasetLayout(loaded.shardsDir, dataset);
  const files = await FileMemo.open(fileMemoPath(layout));
  return { dataset, config, loaded, baseDir: loaded.baseDir, layout, blobs: new BlobStore(layout.blobs), conn: lazyConnection(), signal, files };
}

/** Where a dataset's file memo lives (see FileMemo). */
export function fileMemoPath(layout: DatasetLayout): string {
  return join(layout.root, '_cache', 'file-memo.json');
}
