import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { currentBundle } from '../../pipelines/verify/worker-bundle.js';
import { createWorkspace } from '../support/workspace.js';

/**
 * The verifier pool's workers load one bundle of the verifier (pipelines/verify/worker-bundle.ts).
 * A bundle must never be stale: any edit to any input (the entry, a module it imports, a
 * dependency) gives a new bundle with the new code, and an unchanged tree reuses the cached one.
 */
describe('the verifier worker bundle', () => {
  it('is rebuilt when any input changes and reused while none does', async () => {
    const ws = await createWorkspace();
    try {
      const src = join(ws.dir, 'src');
      const cache = join(ws.dir, 'cache');
      await mkdir(join(src, 'node_modules', 'dep'), { recursive: true });
      await writeFile(join(src, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep', main: 'index.js' }));
      const files = {
        entry: join(src, 'entry.ts'),
        helper: join(src, 'helper.ts'),
        dep: join(src, 'node_modules', 'dep', 'index.js'),
      };
      const write = async (file: string, text: string, ageSeconds: number) => {
        await writeFile(file, text);
        const at = Date.now() / 1000 - ageSeconds;
        await utimes(file, at, at);
      };
      await write(files.entry, `import { helper } from './helper.js';\nimport dep from 'dep';\nexport default function run(): string { return helper() + dep; }\n`, 100);
      await write(files.helper, `export const helper = (): string => 'a';\n`, 100);
      await write(files.dep, `module.exports = 'x';\n`, 100);
      const run = async (url: string) => ((await import(`${url}?${Math.random()}`)) as { default: () => string }).default();

      const first = await currentBundle(files.entry, cache, src);
      expect(await run(first)).toBe('ax');
      expect(await currentBundle(files.entry, cache, src)).toBe(first); // nothing changed: reused

      // Same size, new content and time: a fingerprint by size alone would miss it.
      await write(files.helper, `export const helper = (): string => 'b';\n`, 50);
      const second = await currentBundle(files.entry, cache, src);
      expect(second).not.toBe(first);
      expect(await run(second)).toBe('bx');

      await write(files.dep, `module.exports = 'y';\n`, 40);
      const third = await currentBundle(files.entry, cache, src);
      expect(await run(third)).toBe('by');

      await write(files.entry, `import { helper } from './helper.js';\nexport default function run(): string { return helper() + '!'; }\n`, 30);
      const fourth = await currentBundle(files.entry, cache, src);
      expect(await run(fourth)).toBe('b!');
      // Every bundle written in full (no temporary files left), the current inputs recorded.
      const names = await readdir(cache);
      expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect(names.filter((n) => n.endsWith('.mjs'))).toHaveLength(4);
      expect(JSON.parse(await readFile(join(cache, 'entry.inputs.json'), 'utf8'))).toEqual([files.entry, files.helper].sort());
      expect(fileURLToPath(fourth).startsWith(cache)).toBe(true);
    } finally {
      await ws.cleanup();
    }
  });
});
