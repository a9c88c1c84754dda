import type { DatasetConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import type { AnyStage } from './stage.js';

/** A registered stage: known by name and input without loading its module (loading `difficulty` loads the verifiers). */
export interface StageEntry {
  name: string;
  input: string | null;
  load(): Promise<AnyStage>;
  /** Whether the config runs this stage; a skipped stage's consumers read its input instead. Default: always. */
  enabled?(config: DatasetConfig): boolean;
}

const entries = new Map<string, StageEntry>();

export function registerStage(entry: StageEntry): void {
  if (entries.has(entry.name)) throw new Error(`stage "${entry.name}" is registered twice`);
  if (entry.input !== null && !entries.has(entry.input)) throw new Error(`stage "${entry.name}" reads "${entry.input}", which is not registered`);
  entries.set(entry.name, entry);
}

export function registeredStages(): string[] {
  return [...entries.keys()];
}

export function stageEntry(name: string): StageEntry {
  const entry = entries.get(name);
  if (!entry) throw new ConfigError(`unknown stage "${name}" (stages: ${registeredStages().join(', ')})`);
  return entry;
}

/** Loads a stage and checks that its definition agrees with its registration. */
export async function loadStage(name: string): Promise<AnyStage> {
  const entry = stageEntry(name);
  const stage = await entry.load();
  if (stage.name !== entry.name || stage.input !== entry.input) {
    throw new Error(`stage "${name}" is registered with input ${entry.input} but defines name ${stage.name}, input ${stage.input}`);
  }
  return stage;
}

function isEnabled(name: string, config: DatasetConfig): boolean {
  return stageEntry(name).enabled?.(config) ?? true;
}

/** The stage a stage reads from under this config: its declared input, skipping disabled stages. */
export function resolveUpstream(name: string, config: DatasetConfig): string | null {
  let input = stageEntry(name).input;
  while (input !== null && !isEnabled(input, config)) input = stageEntry(input).input;
  return input;
}

/** Every enabled stage in dependency order (inputs before their consumers): what `run all` runs. */
export function stageChain(config: DatasetConfig): string[] {
  const order: string[] = [];
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    const input = resolveUpstream(name, config);
    if (input) visit(input);
    order.push(name);
  };
  for (const name of entries.keys()) if (isEnabled(name, config)) visit(name);
  return order;
}
