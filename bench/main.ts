/**
 * `pnpm bench [name ...]`: runs bench/<name>.ts (each exports an async function whose name starts
 * with `bench`); with no name, every benchmark in this folder. Benchmarks print numbers; they assert nothing.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'))
  .sort();
const wanted = process.argv.slice(2).filter((a) => a !== '--');
const unknown = wanted.filter((w) => !available.some((a) => a === w || a.startsWith(`${w}-`)));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
  process.exit(2);
}
const selected = wanted.length ? available.filter((a) => wanted.some((w) => a === w || a.startsWith(`${w}-`))) : available;
for (const name of selected) {
  const mod = (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as Record<string, unknown>;
  const fn = Object.entries(mod).find(([k, v]) => k.startsWith('bench') && typeof v === 'function')?.[1] as (() => Promise<void>) | undefined;
  if (!fn) continue;
  process.stdout.write(`\n=== ${name} ===\n`);
  await fn();
}
