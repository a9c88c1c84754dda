import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../shared/errors.js';
import { sha256File, sha256Hex } from '../shared/hash.js';
import { BUILTIN_IMAGE_MODEL, ensureBuiltinImageModel } from './builtin-model.js';

/**
 * The model registry: `<modelsDir>/registry.json` names the models a run may use. The built-in
 * image model is always there; users add CLIP-family dual encoders exported in the Hugging Face
 * ONNX layout (`onnx/vision_model.onnx`, `onnx/text_model.onnx`, `tokenizer.json`,
 * `preprocessor_config.json`, `config.json`) with `pnpm pipeline models add <dir> --name <n>`.
 * A run never downloads a model: an unknown name is an error that says how to add it.
 */
export interface RegisteredModel {
  name: string;
  kind: 'builtin-image' | 'dual-encoder';
  /** Folder of the model files (the HF layout), or the built-in model's folder. */
  dir: string;
  visionModel: string;
  textModel: string | null;
  /** sha256 of the vision model file: the `model` column of stored embeddings is `<name>@<first 12 hex>`. */
  visionSha256: string;
  addedAt: string;
}

interface RegistryFile {
  models: Record<string, RegisteredModel>;
}

/** Where models live: `STRATUM_MODELS_DIR`, else `models/` beside the config file. */
export function modelsDir(baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.STRATUM_MODELS_DIR ? resolve(env.STRATUM_MODELS_DIR) : join(baseDir, 'models');
}

async function readRegistry(dir: string): Promise<RegistryFile> {
  const file = join(dir, 'registry.json');
  if (!existsSync(file)) return { models: {} };
  return JSON.parse(await readFile(file, 'utf8')) as RegistryFile;
}

async function writeRegistry(dir: string, registry: RegistryFile): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'registry.json');
  await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify(registry, null, 1));
  await rename(`${file}.${process.pid}.tmp`, file);
}

/** Bumped when the pixels a registered model is fed change for the same files (2: Pillow's resize, pil-resize.ts). */
const PREPROCESS_VERSION = 2;

/**
 * The id stored with every embedding: the name and the vision weights' hash, so a re-exported model
 * never mixes with the old vectors; for registered models also a hash of `preprocessor_config.json`
 * and the preprocessing version, since other pixels give other vectors from the same weights.
 */
export function modelId(model: RegisteredModel): string {
  const base = `${model.name}@${model.visionSha256.slice(0, 12)}`;
  if (model.kind === 'builtin-image') return base;
  const file = join(model.dir, 'preprocessor_config.json');
  const processor = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return `${base}.${sha256Hex(`${PREPROCESS_VERSION}\n${processor}`).slice(0, 6)}`;
}

export function checkModelName(name: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UserError(`model name "${name}": use letters, digits, '.', '_' or '-'`);
  if (name === BUILTIN_IMAGE_MODEL) throw new UserError(`"${name}" is the built-in model's name`);
}

/**
 * Validates a folder in the HF ONNX layout and registers it under `name` (replacing an earlier
 * entry of that name). `variant` (`fp16`, `quantized`, …) picks `onnx/vision_model_<variant>.onnx`
 * and `onnx/text_model_<variant>.onnx`, as ONNX exports on the hub name them.
 */
export async function addModel(dir: string, name: string, root: string, opts: { variant?: string } = {}): Promise<RegisteredModel> {
  checkModelName(name);
  const abs = resolve(dir);
  const suffix = opts.variant ? `_${opts.variant}` : '';
  const vision = `onnx/vision_model${suffix}.onnx`;
  const need = [vision, 'preprocessor_config.json', 'config.json'];
  const missing = need.filter((f) => !existsSync(join(abs, f)));
  if (missing.length) throw new UserError(`${abs} is not a Hugging Face ONNX export: missing ${missing.join(', ')}`);
  const text = existsSync(join(abs, `onnx/text_model${suffix}.onnx`)) ? join(abs, `onnx/text_model${suffix}.onnx`) : null;
  if (text && !existsSync(join(abs, 'tokenizer.json'))) throw new UserError(`${abs}: ${text} needs tokenizer.json beside it`);
  const entry: RegisteredModel = {
    name,
    kind: 'dual-encoder',
    dir: abs,
    visionModel: join(abs, vision),
    textModel: text,
    visionSha256: await sha256File(join(abs, vision)),
    addedAt: new Date().toISOString(),
  };
  const registry = await readRegistry(root);
  registry.models[name] = entry;
  await writeRegistry(root, registry);
  return entry;
}

/** Every model a run can use: the built-in one (converted on first use) and the registered ones. */
export async function listModels(root: string): Promise<RegisteredModel[]> {
  const builtin = await ensureBuiltinImageModel(root);
  const registry = await readRegistry(root);
  return [
    { name: BUILTIN_IMAGE_MODEL, kind: 'builtin-image', dir: join(root, BUILTIN_IMAGE_MODEL), visionModel: builtin.path, textModel: null, visionSha256: builtin.sha256, addedAt: '' },
    ...Object.values(registry.models).sort((a, b) => a.name.localeCompare(b.name)),
  ];
}

export async function resolveModel(name: string, root: string): Promise<RegisteredModel> {
  const all = await listModels(root);
  const found = all.find((m) => m.name === name);
  if (!found) {
    throw new UserError(
      `model "${name}" is not registered in ${root} (registered: ${all.map((m) => m.name).join(', ')}); add an ONNX export with \`pnpm pipeline models add <dir> --name ${name}\``,
    );
  }
  if (!existsSync(found.visionModel)) throw new UserError(`model "${name}": ${found.visionModel} is gone; add the model again`);
  return found;
}
