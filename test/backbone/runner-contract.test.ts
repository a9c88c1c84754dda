import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { stageContext } from '../../pipelines/shared/runner/context.js';
import { ManifestLog, readManifest } from '../../pipelines/shared/runner/manifest.js';
import { runStage } from '../../pipelines/shared/runner/run-stage.js';
import type { UnitStage, WorkUnit } from '../../pipelines/shared/runner/stage.js';
import { ConfigError } from '../../pipelines/shared/config/load.js';
import { stageChain, resolveUpstream } from '../../pipelines/stages.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

async function context() {
  const ws = await createWorkspace();
  workspaces.push(ws);
  const loaded = await ws.config({ datasets: { d: { sources: [{ name: 'q', type: 'qa', path: 'q.jsonl', format: 'jsonl' }] } } });
  return { ws, loaded, ctx: await stageContext(loaded, 'd', new AbortController().signal) };
}

function units(n: number): WorkUnit<number>[] {
  return Array.from({ length: n }, (_, i) => ({ id: `u${i}`, label: `unit ${i}`, fingerprint: `f${i}`, configHash: 'c', size: 1, payload: i }));
}

function testStage(overrides: Partial<UnitStage<number>>): UnitStage<number> {
  return {
    name: 'probe',
    version: 1,
    input: null,
    config: () => ({}),
    outputs: { data: { columns: { n: 'INTEGER' }, subdir: '' } },
    unitConcurrency: 2,
    plan: async () => units(2),
    async process(unit, _ctx, sink) {
      sink.inputs(1);
      sink.keep({ sample_id: null, source_uri: 'x', locator: String(unit.payload) }, { n: unit.payload });
    },
    ...overrides,
  };
}

describe('stage runner contract', () => {
  it('when one unit throws, waits for the units in flight to commit before afterRun and before releasing the lock', async () => {
    const { ctx } = await context();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stage = testStage({
      async process(unit, _ctx, sink) {
        sink.inputs(1);
        if (unit.payload === 0) {
          release();
          throw new Error('unit 0 is broken');
        }
        await gate;
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
        sink.keep({ sample_id: null, source_uri: 'x', locator: '1' }, { n: 1 });
        events.push('unit 1 done');
      },
      async afterRun() {
        events.push(`afterRun (lock held: ${existsSync(ctx.layout.lock('probe'))})`);
      },
    });
    await expect(runStage(stage, ctx)).rejects.toThrow('unit 0 is broken');
    const manifest = await readManifest(ctx.layout.manifest('probe'), 'probe');
    expect(Object.keys(manifest.units)).toEqual(['u1']);
    expect(events).toEqual(['unit 1 done', 'afterRun (lock held: true)']);
    expect(existsSync(ctx.layout.lock('probe'))).toBe(false);
    expect(existsSync(ctx.layout.tmp('probe'))).toBe(false);
  });

  it('refuses a row emitted to an output the stage did not declare', async () => {
    const { ctx } = await context();
    const stage = testStage({
      async process(_unit, _ctx, sink) {
        sink.inputs(1);
        sink.emit('surprise', { n: 1 });
      },
    });
    await expect(runStage(stage, ctx)).rejects.toThrow(/output "surprise", which the stage does not declare/);
  });

  it('folds the stage version into the config hash: a new version recomputes committed units', async () => {
    const { ctx } = await context();
    expect((await runStage(testStage({}), ctx)).processed).toBe(2);
    expect((await runStage(testStage({}), ctx)).processed).toBe(0);
    expect((await runStage(testStage({ version: 2 }), ctx)).processed).toBe(2);
  });

  it('reads a manifest log whose last line a crash cut short, and compacts superseded lines', async () => {
    const { ctx } = await context();
    await runStage(testStage({ plan: async () => units(5) }), ctx);
    const path = ctx.layout.manifest('probe');
    await appendFile(path, '{"op":"commit","id":"u9","rec');
    expect(Object.keys((await readManifest(path, 'probe')).units).sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    const log = await ManifestLog.open(path, 'probe');
    for (let i = 0; i < 100; i++) await log.commit('u0', log.units.u0!);
    await log.compactIfWorthIt();
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(5);
  });

  it('refuses a verifier name that does not exist when the config loads, naming the valid ones', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    await expect(ws.config({ datasets: { d: { sources: [{ name: 'q', type: 'qa', path: 'q.jsonl', format: 'jsonl', verifier: 'mth' as 'math' }] } } })).rejects.toThrow(
      /verifier[\s\S]*"math"/,
    );
    await expect(ws.config({ datasets: { d: { sources: [{ name: 'q', type: 'qa', path: 'q.jsonl', format: 'jsonl', verifier: 'mth' as 'math' }] } } })).rejects.toBeInstanceOf(ConfigError);
  });

  it('derives the chain from the registry and the config: a disabled filter is skipped and difficulty reads ingest', async () => {
    const { loaded } = await context();
    const config = loaded.config.datasets.d!;
    expect(stageChain(config)).toEqual(['ingest', 'filter', 'difficulty', 'export']);
    const off = { ...config, filter: { ...config.filter, enabled: false } };
    expect(stageChain(off)).toEqual(['ingest', 'difficulty', 'export']);
    expect(resolveUpstream('difficulty', off)).toBe('ingest');
  });
});
