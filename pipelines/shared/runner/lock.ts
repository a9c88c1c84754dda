import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { log } from '../log.js';
import { UserError } from '../errors.js';

export class StageLockedError extends UserError {
  override name = 'StageLockedError';
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

/** One run per dataset + stage: an exclusive lock file holding the owner's pid; a dead owner's lock is taken over. */
export async function acquireLock(path: string, what: string): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await readLock(path);
      if (holder && holder.host === info.host && isAlive(holder.pid)) {
        throw new StageLockedError(
          `${what} is already running (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}). ` +
            `Wait for it to finish, or stop it; if that process is gone, delete ${path}.`,
        );
      }
      if (holder && holder.host !== info.host) {
        throw new StageLockedError(
          `${what} is locked by pid ${holder.pid} on another host (${holder.host}, since ${holder.startedAt}). ` +
            `If no run is active there, delete ${path}.`,
        );
      }
      log.warn({ lock: path, holder }, 'taking over a stale lock left by a process that is gone');
      await rm(path, { force: true });
    }
  }
  throw new StageLockedError(`could not acquire ${path}`);
}

async function readLock(path: string): Promise<LockInfo | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
