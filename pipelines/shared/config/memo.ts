import { builtinModules } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../hash.js';
import type { PipelineConfig } from './schema.js';

/**
 * The validated config, remembered next to the shards (`<shardsDir>/.config-memo-<hash>.json`).
 * Validation is a pure function of the config file's exported value and the schema's code, so the
 * memo stores the exported value's hash and the size and mtime of every source file the schema is
 * built from (found by following the imports of config/validate.ts; packages by their entry file).
 * When both are unchanged the remembered result is returned and zod is never loaded; any difference
 * validates again. Only plain JSON values are remembered: a config that exports functions, dates or
 * `undefined` fields is validated every time. Deleting the file is always safe.
 */

const MEMO_VERSION = 1;
/** Code changed this recently may change again within the same mtime tick: such a state is not remembered. */
const RACY_WINDOW_MS = 2000;
const ENTRY = fileURLToPath(new URL('./validate.ts', import.meta.url));

interface CodeStamp {
  path: string;
  size: string;
  mtimeNs: string;
}

interface Memo {
  version: number;
  file: string;
  node: string;
  raw: string;
  code: CodeStamp[];
  config: PipelineConfig;
}

/** The remembered validation of `raw` from `file`, or null when anything it depends on may have changed. */
export function readConfigMemo(file: string, raw: unknown): PipelineConfig | null {
  const json = plainJson(raw);
  const path = json === null ? null : memoPath(file, raw);
  if (json === null || path === null || !existsSync(path)) return null;
  let memo: Memo;
  try {
    memo = JSON.parse(readFileSync(path, 'utf8')) as Memo;
  } catch {
    return null;
  }
  if (memo.version !== MEMO_VERSION || memo.file !== file || memo.node !== process.version || memo.raw !== sha256Hex(json)) return null;
  for (const stamp of memo.code) {
    const now = stampOf(stamp.path);
    if (!now || now.size !== stamp.size || now.mtimeNs !== stamp.mtimeNs) return null;
  }
  return memo.config;
}

/** Remembers a successful validation; never fails the command (a read-only shards folder just means no memo). */
export async function writeConfigMemo(file: string, raw: unknown, config: PipelineConfig): Promise<void> {
  try {
    const rawJson = plainJson(raw);
    const configJson = plainJson(config);
    const path = memoPath(file, raw);
    if (rawJson === null || configJson === null || path === null) return;
    const code = schemaSources();
    if (!code) return;
    const racy = BigInt(Date.now() - RACY_WINDOW_MS) * 1_000_000n;
    if (code.some((s) => BigInt(s.mtimeNs) >= racy)) return;
    const memo = `{"version":${MEMO_VERSION},"file":${JSON.stringify(file)},"node":${JSON.stringify(process.version)},"raw":"${sha256Hex(rawJson)}","code":${JSON.stringify(code)},"config":${configJson}}\n`;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, memo);
    await rename(tmp, path);
  } catch {
    // Remembering is an optimisation only.
  }
}

/** Where the memo of this config file lives: in its shards folder, named by the file's path. */
function memoPath(file: string, raw: unknown): string | null {
  const shardsDir = (raw as { shardsDir?: unknown }).shardsDir ?? 'shards';
  if (typeof shardsDir !== 'string') return null;
  return join(resolve(dirname(file), shardsDir), `.config-memo-${sha256Hex(file).slice(0, 16)}.json`);
}

/**
 * JSON text of a value made only of null, booleans, finite numbers, strings, arrays and plain
 * objects (no `undefined` members), so that parsing it gives back an equal value; otherwise null.
 */
function plainJson(value: unknown): string | null {
  const plain = (v: unknown): boolean => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
    if (Array.isArray(v)) return Object.getPrototypeOf(v) === Array.prototype && v.every((x, i) => i in v && plain(x));
    if (typeof v !== 'object') return false;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as Record<string, unknown>).every(plain) && !('toJSON' in (v as object));
  };
  return typeof value === 'object' && value !== null && plain(value) ? JSON.stringify(value) : null;
}

function stampOf(path: string): { size: string; mtimeNs: string } | null {
  try {
    const s = statSync(path, { bigint: true });
    return { size: String(s.size), mtimeNs: String(s.mtimeNs) };
  } catch {
    return null;
  }
}

const IMPORT = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\bimport\s+['"]([^'"]+)['"]/g;

/** Every source file validation may run: the import closure of config/validate.ts, and the entry file of each package it imports. */
function schemaSources(): CodeStamp[] | null {
  const seen = new Set<string>();
  const stamps: CodeStamp[] = [];
  const queue = [ENTRY];
  while (queue.length) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const stamp = stampOf(file);
    if (!stamp) return null;
    stamps.push({ path: file, ...stamp });
    if (file.includes('/node_modules/')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3]) as string;
      if (spec.startsWith('.') || spec.startsWith('/')) {
        const target = resolve(dirname(file), spec);
        const found = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts')].find((p) => existsSync(p) && statSync(p).isFile());
        if (!found) return null;
        queue.push(found);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        try {
          queue.push(fileURLToPath(import.meta.resolve(spec)));
        } catch {
          return null;
        }
      }
    }
  }
  return stamps.sort((a, b) => a.path.localeCompare(b.path));
}
