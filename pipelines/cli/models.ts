import type { LoadedConfig } from '../shared/config/load.js';
import { addModel, listModels, modelId, modelsDir } from '../embed/registry.js';
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
export async function modelsAddCommand(loaded: LoadedConfig, dir: string, name: string): Promise<void> {
  const entry = await addModel(dir, name, modelsDir(loaded.baseDir));
  process.stdout.write(`registered ${entry.name} (${modelId(entry)}): vision ${entry.visionModel}${entry.textModel ? `, text ${entry.textModel}` : ', no text tower'}\n`);
}
