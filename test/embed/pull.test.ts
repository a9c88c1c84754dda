import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullModel } from '../../pipelines/embed/hub.js';
import { ImageEmbedder } from '../../pipelines/embed/embedder.js';
import { listModels, modelsDir, resolveModel } from '../../pipelines/embed/registry.js';
import { TextEmbedder } from '../../pipelines/embed/text-embedder.js';
import { modelsPullCommand } from '../../pipelines/cli/models.js';
import { UserError } from '../../pipelines/shared/errors.js';
import { addClipText, writeClipExport } from '../support/clip-models.js';
import { rng } from '../support/scenes.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { commitOf, startHub, type FakeHub, type HubRepo } from './hub-server.js';

const CONFIG = { datasets: { d: { sources: [{ name: 'items', type: 'interleaved' as const, format: 'items' as const, path: 'docs/d.jsonl' }] } } };

let hub: FakeHub;
let ws: Workspace;
let exportFiles: Record<string, Uint8Array>;

async function folderFiles(dir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = join(entry.parentPath, entry.name);
      out[full.slice(dir.length + 1)] = await readFile(full);
    }
  }
  return out;
}

beforeAll(async () => {
  hub = await startHub(3);
  ws = await createWorkspace();
  const dir = await writeClipExport(ws.path('export'), { size: 32, dim: 16 });
  await addClipText(dir);
  exportFiles = { ...(await folderFiles(dir)), 'README.md': new TextEncoder().encode('# tiny clip\n'), 'onnx/model.onnx': new Uint8Array(64) };
  hub.repos.set('acme/tiny-clip', { files: exportFiles });
});
afterAll(async () => {
  await hub?.close();
  await ws?.cleanup();
});

const quiet = async <T>(fn: () => Promise<T>): Promise<T> => {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
};

describe('models pull from a loopback hub', () => {
  it('downloads only the export files, verifies them, registers the model, and the pulled model embeds as the original does', async () => {
    const loaded = await ws.config(CONFIG);
    const root = modelsDir(loaded.baseDir);
    await quiet(() => modelsPullCommand(loaded, 'acme/tiny-clip', { revision: 'main', hub: hub.url }));
    const model = await resolveModel('tiny-clip', root);
    expect(model.dir).toBe(join(root, 'hub', 'tiny-clip'));
    const pulled = await folderFiles(model.dir);
    // the layout's files, byte for byte; nothing else (README, other ONNX files) is fetched
    expect(Object.keys(pulled).sort()).toEqual(['config.json', 'onnx/text_model.onnx', 'onnx/vision_model.onnx', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    for (const [p, b] of Object.entries(pulled)) expect(Buffer.compare(Buffer.from(b), Buffer.from(exportFiles[p]!))).toBe(0);
    expect(existsSync(`${model.dir}.pull-${commitOf(hub.repos.get('acme/tiny-clip')!).slice(0, 12)}`)).toBe(false);
    // real inference through the pulled files
    const r = rng(3);
    const images = Array.from({ length: 3 }, () => Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(r() * 256)));
    const a = await ImageEmbedder.open(model, { device: 'cpu', threads: 1, batchBytes: 1 << 20 });
    const b = await ImageEmbedder.open({ ...model, dir: ws.path('export'), visionModel: ws.path('export', 'onnx', 'vision_model.onnx') }, { device: 'cpu', threads: 1, batchBytes: 1 << 20 });
    expect((await a.embed(images)).vectors).toEqual((await b.embed(images)).vectors);
    await Promise.all([a.close(), b.close()]);
    const text = (await TextEmbedder.open(model, { device: 'cpu', threads: 1 }))!;
    expect((await text.embed(['the shapes']))[0]!.length).toBe(16);
    await text.close();
    expect((await listModels(root)).map((m) => m.name)).toContain('tiny-clip');
  });

  it('gives up on a stalled download and resumes it with a range request, sending only the rest of the file', async () => {
    const files = { ...exportFiles, 'onnx/vision_model.onnx': Uint8Array.from([...exportFiles['onnx/vision_model.onnx']!, ...new Uint8Array(5000).fill(7)]) };
    hub.repos.set('acme/resume', { files });
    const size = files['onnx/vision_model.onnx'].length;
    const cut = Math.floor(size / 2);
    hub.faults.stallAfter!['onnx/vision_model.onnx'] = cut;
    hub.sent.clear();
    hub.ranges.length = 0;
    const dest = ws.path('models', 'hub', 'resume');
    // the connection stalls after half the file: the idle timeout gives up, the part file stays
    const first = pullModel('acme/resume', dest, { hub: hub.url, revision: 'main', idleTimeoutMs: 1500 });
    await expect(first).rejects.toThrow(UserError);
    await expect(first).rejects.toThrow(/broke off.*run the command again to resume/);
    expect(existsSync(dest)).toBe(false); // nothing half-made is visible
    const result = await pullModel('acme/resume', dest, { hub: hub.url, revision: 'main' });
    const vision = result.files.find((f) => f.path === 'onnx/vision_model.onnx')!;
    expect(vision.resumedFrom).toBe(cut);
    expect(hub.ranges).toEqual([`onnx/vision_model.onnx bytes=${cut}-`]);
    expect(hub.sent.get('onnx/vision_model.onnx')).toBe(size); // cut + the rest, never the whole file twice
    expect(Buffer.compare(await readFile(join(dest, 'onnx/vision_model.onnx')), Buffer.from(files['onnx/vision_model.onnx']))).toBe(0);
  });

  it('refuses a file whose checksum does not match, removes it, and keeps the earlier pull in place', async () => {
    const dest = ws.path('models', 'hub', 'tiny-clip');
    const before = await readFile(join(dest, 'onnx', 'vision_model.onnx'));
    // a new commit of the repository, served corrupted
    const repo: HubRepo = { files: { ...exportFiles, 'config.json': new TextEncoder().encode(JSON.stringify({ model_type: 'clip', projection_dim: 16, text_config: { max_position_embeddings: 16 }, v: 2 })) } };
    hub.repos.set('acme/tiny-clip', repo);
    for (const path of ['onnx/vision_model.onnx', 'config.json']) {
      hub.faults.corrupt = new Set([path]);
      const attempt = pullModel('acme/tiny-clip', dest, { hub: hub.url, revision: 'main' });
      await expect(attempt).rejects.toThrow(new RegExp(`${path}: checksum mismatch \\(expected (sha256|sha1):`));
      const staging = `${dest}.pull-${commitOf(repo).slice(0, 12)}`;
      expect(existsSync(join(staging, `${path}.part`))).toBe(false);
      expect(existsSync(join(staging, path))).toBe(false);
      expect(Buffer.compare(await readFile(join(dest, 'onnx', 'vision_model.onnx')), before)).toBe(0);
    }
    hub.faults.corrupt = new Set();
    await pullModel('acme/tiny-clip', dest, { hub: hub.url, revision: 'main' });
    expect(JSON.parse(await readFile(join(dest, 'config.json'), 'utf8')).v).toBe(2);
    hub.repos.set('acme/tiny-clip', { files: exportFiles });
  });

  it('says what is wrong: unknown repository, gated model, not an ONNX export, unreachable hub, bad name', async () => {
    const dest = ws.path('models', 'hub', 'x');
    await expect(pullModel('acme/absent', dest, { hub: hub.url, revision: 'main' })).rejects.toThrow(/HTTP 404.*check the repository name/);
    hub.repos.set('acme/gated', { files: exportFiles, token: 'secret' });
    await expect(pullModel('acme/gated', dest, { hub: hub.url, revision: 'main' })).rejects.toThrow(/refused acme\/gated \(HTTP 401\).*HF_TOKEN/);
    await expect(pullModel('acme/gated', dest, { hub: hub.url, revision: 'main', token: 'secret' })).resolves.toMatchObject({ dir: dest });
    hub.repos.set('acme/pytorch-only', { files: { 'config.json': exportFiles['config.json']!, 'onnx/model.onnx': new Uint8Array(10) } });
    await expect(pullModel('acme/pytorch-only', ws.path('models', 'hub', 'y'), { hub: hub.url, revision: 'main' })).rejects.toThrow(/no onnx\/vision_model.onnx.*ONNX files there: onnx\/model.onnx/);
    await expect(pullModel('acme/tiny-clip', ws.path('models', 'hub', 'z'), { hub: hub.url, revision: 'main', variant: 'fp16' })).rejects.toThrow(/no onnx\/vision_model_fp16.onnx/);
    await expect(pullModel('acme/tiny-clip', ws.path('models', 'hub', 'z'), { hub: 'http://127.0.0.1:1', revision: 'main' })).rejects.toThrow(/cannot reach http:\/\/127.0.0.1:1/);
    await expect(pullModel('../etc', ws.path('models', 'hub', 'z'), { hub: hub.url, revision: 'main' })).rejects.toThrow(/not a repository name/);
  });

  it('runs from the command line with HF_ENDPOINT', async () => {
    const cli = await createWorkspace();
    try {
      await cli.config(CONFIG);
      const r = await runCli(['models', 'pull', 'acme/tiny-clip', '--name', 'tc', '--config', cli.path('pipeline.config.ts')], { env: { HF_ENDPOINT: hub.url } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/pulled acme\/tiny-clip@[0-9a-f]{12} from http:\/\/127\.0\.0\.1:\d+: 6 files, [\d.]+ MB, checksums verified/);
      expect(r.stdout).toMatch(/registered tc \(tc@[0-9a-f]{12}\.[0-9a-f]{6}\)/);
      const bad = await runCli(['models', 'pull', 'acme/absent', '--config', cli.path('pipeline.config.ts')], { env: { HF_ENDPOINT: hub.url } });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/HTTP 404/);
    } finally {
      await cli.cleanup();
    }
  }, 120_000);
});
