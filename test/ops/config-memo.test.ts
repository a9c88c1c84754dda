import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../pipelines/shared/config/load.js';
import { validateConfig } from '../../pipelines/shared/config/validate.js';
import { mulberry32 } from '../../pipelines/shared/random.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

// Each variant is a new file: an ES module is imported once per URL and process.
let serial = 0;
async function writeConfig(body: string): Promise<string> {
  const file = join(dir as string, `pipeline-${serial++}.config.ts`);
  await writeFile(file, body);
  return file;
}

async function memoFiles(): Promise<string[]> {
  const shards = join(dir as string, 'shards');
  return (await readdir(shards).catch(() => [] as string[])).filter((f) => f.startsWith('.config-memo-')).map((f) => join(shards, f));
}

const base = { shardsDir: 'shards', datasets: { d: { sources: [{ name: 'qa', type: 'qa', path: 'qa/*.jsonl', format: 'jsonl' }] } } };

/** A random but valid variation of the base config: options the schema fills in, reorders or transforms. */
function variant(rand: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const dataset: Record<string, unknown> = { sources: [{ name: 'qa', type: 'qa', path: pick(['qa/*.jsonl', 'a.jsonl', 'x/**/*.jsonl']), format: 'jsonl' }] };
  if (rand() < 0.5) dataset.ingest = { unitRows: 1 + Math.floor(rand() * 5000) };
  if (rand() < 0.5) dataset.difficulty = { n: 1 + Math.floor(rand() * 16), temperature: Math.round(rand() * 200) / 100, tiers: { easy: 0.8, medium: pick([0.1, 0.3, 0.5]) } };
  if (rand() < 0.4) dataset.export = { formats: pick([['verl'], ['easyr1'], ['verl', 'easyr1']]) };
  if (rand() < 0.3) dataset.synthesize = { seed: Math.floor(rand() * 100) };
  if (rand() < 0.3) dataset.filter = { enabled: rand() < 0.5 };
  const datasets: Record<string, unknown> = { [pick(['d', 'main', 'x.y'])]: dataset };
  if (rand() < 0.3) datasets.second = { sources: [{ name: 'b', type: 'qa', path: 'b.jsonl', format: 'jsonl' }] };
  return { shardsDir: 'shards', datasets };
}

describe('config memo', () => {
  it('gives exactly what validation gives, for many configs, loaded fresh and from the memo', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-config-memo-'));
    const rand = mulberry32(7);
    for (let i = 0; i < 25; i++) {
      const raw = variant(rand);
      const body = `export default ${JSON.stringify(raw)};\n`;
      const fresh = await loadConfig(await writeConfig(body));
      const expected = validateConfig(raw, fresh.file);
      expect(fresh).toEqual(expected);
      // Same value from another file of the same folder: memo files are per config path, so load it twice.
      const again = await writeConfig(body);
      await loadConfig(again);
      expect(await loadConfig(again)).toEqual({ ...validateConfig(raw, again) });
    }
    expect((await memoFiles()).length).toBeGreaterThan(0);
  });

  it('is used only for the same exported value: a changed value is validated, an invalid one still refused', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-config-memo-'));
    const file = await writeConfig(`export default ${JSON.stringify(base)};\n`);
    await loadConfig(file);
    const [memo] = await memoFiles();
    expect(memo).toBeDefined();
    // Prove the memo is read: a planted value comes back for the same exported value.
    const stored = JSON.parse(await readFile(memo as string, 'utf8')) as { config: { datasets: { d: { ingest: { unitRows: number } } } } };
    stored.config.datasets.d.ingest.unitRows = 4242;
    await writeFile(memo as string, JSON.stringify(stored));
    expect((await loadConfig(file)).config.datasets.d?.ingest.unitRows).toBe(4242);

    // The memo is keyed by the config's path; a different value at that path must not hit it. Loading a
    // module twice from one URL gives the cached module, so the changed value is checked with readConfigMemo.
    const { readConfigMemo } = await import('../../pipelines/shared/config/memo.js');
    expect(readConfigMemo(file, { ...base, shardsDir: 'shards' })).not.toBeNull();
    expect(readConfigMemo(file, { ...base, datasets: { d: { ...base.datasets.d, ingest: { unitRows: 5 } } } })).toBeNull();
    expect(readConfigMemo(file, { datasets: base.datasets, shardsDir: 'shards' })).toBeNull(); // key order is part of the value
    const bad = await writeConfig(`export default ${JSON.stringify({ ...base, datasets: { d: { sources: [] } } })};\n`);
    await expect(loadConfig(bad)).rejects.toThrow(ConfigError);
  });

  it('is not used when the schema code changed, nor on a memo from another version', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-config-memo-'));
    const file = await writeConfig(`export default ${JSON.stringify(base)};\n`);
    await loadConfig(file);
    const { readConfigMemo } = await import('../../pipelines/shared/config/memo.js');
    const [memo] = await memoFiles();
    const text = await readFile(memo as string, 'utf8');
    expect(readConfigMemo(file, base)).not.toBeNull();
    const stored = JSON.parse(text) as { code: Array<{ path: string; mtimeNs: string; size: string }>; version: number };
    expect(stored.code.some((c) => c.path.endsWith('pipelines/shared/config/schema.ts'))).toBe(true);
    expect(stored.code.some((c) => c.path.endsWith('pipelines/ingest/qa/config.ts'))).toBe(true);
    expect(stored.code.some((c) => /node_modules\/.*zod/.test(c.path))).toBe(true);
    for (const changed of ['mtimeNs', 'size'] as const) {
      for (const i of [0, stored.code.length - 1]) {
        const edited = structuredClone(stored);
        const entry = edited.code[i] as { mtimeNs: string; size: string };
        entry[changed] = String(BigInt(entry[changed]) + 1n);
        await writeFile(memo as string, JSON.stringify(edited));
        expect(readConfigMemo(file, base)).toBeNull();
      }
    }
    await writeFile(memo as string, JSON.stringify({ ...stored, version: stored.version + 1 }));
    expect(readConfigMemo(file, base)).toBeNull();
    await writeFile(memo as string, '{"torn');
    expect(readConfigMemo(file, base)).toBeNull();
    expect((await loadConfig(file)).config).toEqual(validateConfig(base, file).config);
  });

  it('remembers only plain JSON values: functions, dates and undefined members are validated every time', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-config-memo-'));
    const file = await writeConfig(
      `const shardsDir = 'shards';\nexport default { shardsDir, datasets: { d: { sources: [{ name: 'qa', type: 'qa', path: 'a.jsonl', format: 'jsonl', license: undefined }] } } };\n`,
    );
    const loaded = await loadConfig(file);
    expect(loaded.config.datasets.d?.sources[0]?.name).toBe('qa');
    expect(await memoFiles()).toEqual([]);
  });
});
