import type { LoadedConfig } from '../shared/config/load.js';
import { join } from 'node:path';
import { pullModel } from '../embed/hub.js';
import { addModel, checkModelName, listModels, modelId, modelsDir } from '../embed/registry.js';
import { formatTable } from './table.js';

/** `pnpm pipeline models list`: every model a run can use, with the id its embeddings are stored under. */
export async function modelsListCommand(loaded: LoadedConfig): Promise<void> {
  const root = modelsDir(loaded.baseDir);
  const models = await listModels(root);
  process.stdout.write(`models in ${root}\n`);
  process.stdout.write(
    formatTable(
      ['name', 'kind', 'id', 'text tower', 'folder'],
      models.map((m) => [m.name, m.kind, modelId(m), m.textModel ? 'yes' : 'no', m.dir]),
    ) + '\n',
  );
}

/** `pnpm pipeline models add <dir> --name <name>`: registers a Hugging Face ONNX export (not copied; the folder must stay). */
export async function modelsAddCommand(loaded: LoadedConfig, dir: string, name: string, variant?: string): Promise<void> {
  const entry = await addModel(dir, name, modelsDir(loaded.baseDir), variant ? { variant } : {});
  process.stdout.write(`registered ${entry.name} (${modelId(entry)}): vision ${entry.visionModel}${entry.textModel ? `, text ${entry.textModel}` : ', no text tower'}\n`);
}

/**
 * `pnpm pipeline models pull <owner/name>`: downloads a CLIP-family ONNX export from a hub speaking
 * Hugging Face's file API (`--hub`, else `HF_ENDPOINT`, else huggingface.co) into
 * `<models dir>/hub/<name>/`, checksummed and resumable, and registers it. The only command that
 * downloads a model.
 */
export async function modelsPullCommand(loaded: LoadedConfig, repo: string, opts: { name?: string; revision: string; variant?: string; hub?: string }): Promise<void> {
  const name = opts.name ?? (repo.split('/').pop() as string) + (opts.variant ? `-${opts.variant}` : '');
  checkModelName(name);
  const root = modelsDir(loaded.baseDir);
  const hub = opts.hub ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co';
  const result = await pullModel(repo, join(root, 'hub', name), { hub, revision: opts.revision, ...(opts.variant ? { variant: opts.variant } : {}), ...(process.env.HF_TOKEN ? { token: process.env.HF_TOKEN } : {}) });
  const bytes = result.files.reduce((n, f) => n + f.size, 0);
  const resumed = result.files.filter((f) => f.resumedFrom > 0 && f.resumedFrom < f.size).length;
  process.stdout.write(`pulled ${repo}@${result.commit.slice(0, 12)} from ${hub}: ${result.files.length} files, ${(bytes / 1e6).toFixed(1)} MB, checksums verified${resumed ? `, ${resumed} resumed` : ''}\n`);
  await modelsAddCommand(loaded, result.dir, name, opts.variant);
}
