import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from './manifest.js';

/** A unit that failed for good (every attempt used), as `status` shows it. */
export interface UnitFailure {
  unit: string;
  label: string;
  error: string;
  attempts: number;
  failedAt: string;
}

/** Thrown by an executor after every other job settled, when some units failed for good. */
export class UnitsFailedError extends Error {
  override name = 'UnitsFailedError';
  constructor(
    readonly stage: string,
    readonly failures: UnitFailure[],
  ) {
    super(
      `${failures.length} unit(s) of ${stage} failed after their attempts; the others are committed. ` +
        failures
          .slice(0, 3)
          .map((f) => `${f.label}: ${f.error}`)
          .join('; '),
    );
  }
}

/** `<stage folder>/_failures.json`: the units the last run of this step could not process. */
export function failuresPath(stageDir: string): string {
  return join(stageDir, '_failures.json');
}

export async function writeFailures(stageDir: string, failures: UnitFailure[]): Promise<void> {
  if (failures.length === 0) await rm(failuresPath(stageDir), { force: true });
  else await writeJsonAtomic(failuresPath(stageDir), failures);
}

export async function readFailures(stageDir: string): Promise<UnitFailure[]> {
  const path = failuresPath(stageDir);
  if (!existsSync(path)) return [];
  return JSON.parse(await readFile(path, 'utf8')) as UnitFailure[];
}
