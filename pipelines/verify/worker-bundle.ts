/**
 * The verifier pool's worker as one JavaScript file, so a worker starts without the TypeScript
 * loader: through tsx each worker gets its own loader-hooks thread and resolves and transforms its
 * modules one by one, which made starting 2 workers cost 1.4–1.7 s of CPU; from one bundle it costs
 * about half (docs/difficulty.md, Throughput).
 *
 * The bundle is built with esbuild on first use and cached under `node_modules/.cache/stratum/`,
 * named by a fingerprint (path, size, mtime) of every file that went into it and of the package
 * manifest and lockfile, so an edit to any verifier source or dependency builds a fresh one and a
 * stale bundle is never loaded. Files are written under a temporary name and renamed, so
 * concurrent processes never read a partial bundle. Any failure (no esbuild, read-only install)
 * falls back to loading `worker.ts` through tsx.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { log } from '../shared/log.js';

const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ROOT = resolve(dirname(WORKER_SOURCE), '../..');

let cached: Promise<string | null> | null = null;

/** A file URL of a current bundle of the pool worker, or null to load `worker.ts` through tsx. */
export function verifyWorkerBundle(): Promise<string | null> {
  return (cached ??= currentBundle(WORKER_SOURCE, join(ROOT, 'node_modules', '.cache', 'stratum'), ROOT).catch((error: unknown) => {
    log.warn({ error: String(error) }, 'verifier worker bundle unavailable: workers load the TypeScript sources');
    return null;
  }));
}

/** Fingerprint of files by path, size and mtime; null when one is gone. */
function fingerprint(files: readonly string[]): string | null {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      const st = statSync(file);
      hash.update(`${file}\u0000${st.size}\u0000${st.mtimeMs}\n`);
    } catch {
      return null;
    }
  }
  return hash.digest('hex').slice(0, 20);
}

function writeAtomically(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * A file URL of an ES module bundle of `entry` (resolved from `root`), current with every input:
 * reused from `cacheDir` while no input changed, else built there.
 */
export async function currentBundle(entry: string, cacheDir: string, root: string): Promise<string> {
  const stem = basename(entry).replace(/\.[^.]+$/, '');
  const bundlePath = (print: string) => join(cacheDir, `${stem}-${print}.mjs`);
  // The inputs of the last bundle built, to fingerprint before deciding whether it is still current.
  const inputsFile = join(cacheDir, `${stem}.inputs.json`);
  try {
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8')) as string[];
    const print = Array.isArray(inputs) ? fingerprint(inputs) : null;
    if (print !== null) {
      statSync(bundlePath(print));
      return pathToFileURL(bundlePath(print)).href;
    }
  } catch {
    // no bundle yet, or its inputs changed: build one
  }
  const esbuild = await import('esbuild');
  const started = performance.timeOrigin + performance.now();
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outfile: join(cacheDir, `${stem}.mjs`),
    // The CAS engine (3.4 MB) is required on first use (cas.ts), from node_modules: a worker whose
    // answers never need it does not even parse it. The lockfile below covers its version.
    external: ['@cortex-js/compute-engine'],
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __stratumCreateRequire } from 'node:module'; const require = __stratumCreateRequire(import.meta.url);" },
  });
  // The lockfile too: an upgrade that resolves a dependency elsewhere without touching the old files.
  const manifests = ['package.json', 'pnpm-lock.yaml'].map((f) => join(root, f)).filter((f) => existsSync(f));
  const inputs = [...new Set([...Object.keys(result.metafile.inputs).map((p) => resolve(root, p)), ...manifests])].sort();
  const print = fingerprint(inputs);
  const out = result.outputFiles[0];
  // An input edited while esbuild read it would give a bundle of old text under the new fingerprint.
  const edited = inputs.some((file) => (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) > started);
  if (print === null || !out || edited) throw new Error('the bundle inputs changed while it was built');
  mkdirSync(cacheDir, { recursive: true });
  writeAtomically(bundlePath(print), out.text);
  writeAtomically(inputsFile, JSON.stringify(inputs));
  return pathToFileURL(bundlePath(print)).href;
}
