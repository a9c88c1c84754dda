import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { closeImagePool, getImagePool } from '../../pipelines/ingest/media/image-pool.js';
import { ingestImage } from '../../pipelines/ingest/media/load-image.js';
import { IngestResources } from '../../pipelines/ingest/resources.js';
import { ingestStage } from '../../pipelines/ingest/stage.js';
import type { StageContext } from '../../pipelines/shared/runner/stage.js';
import { createWorkspace, makePng, queryShards, type Workspace } from '../support/workspace.js';

/** Live child processes of this process (pool workers are forked from it). */
function children(): number[] {
  if (process.platform !== 'linux') return [];
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) in parentheses: state, ppid, ...
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort();
}

/** Children's exit is asynchronous after close() resolves only for SIGKILLed stragglers; wait until they are gone. */
async function childrenSettled(): Promise<number[]> {
  for (let i = 0; i < 200 && children().length; i++) await new Promise((r) => setTimeout(r, 50));
  return children();
}

const savedWorkers = process.env.STRATUM_IMAGE_WORKERS;
let ws: Workspace;

beforeAll(async () => {
  // One decode process per pool: enough to tell pools apart, cheap on a loaded machine.
  process.env.STRATUM_IMAGE_WORKERS = '1';
  ws = await createWorkspace('stratum-worker-resources-');
  for (let i = 0; i < 6; i++) await ws.write(`a/img${i}.png`, await makePng(100 + i));
  for (let i = 0; i < 6; i++) await ws.write(`b/img${i}.png`, await makePng(200 + i));
  for (const d of ['a', 'b']) {
    await ws.write(`${d}.jsonl`, [...Array(6).keys()].map((i) => JSON.stringify({ id: `${d}${i}`, image: `${d}/img${i}.png`, caption: `Picture ${i} of set ${d}.` })).join('\n') + '\n');
  }
});

afterEach(() => closeImagePool());

afterAll(async () => {
  if (savedWorkers === undefined) delete process.env.STRATUM_IMAGE_WORKERS;
  else process.env.STRATUM_IMAGE_WORKERS = savedWorkers;
  await ws?.cleanup();
});

describe('ingest worker resources (setup/teardown instead of module-level pools)', () => {
  it('gives two workers in one process their own image pools, and teardown stops each one’s processes', async () => {
    const baseline = children();
    const ctx = { config: { sources: [] } } as unknown as StageContext; // no source: nothing to identify languages for
    const a = await ingestStage.setup!(ctx);
    const b = await ingestStage.setup!(ctx);
    const decode = (r: IngestResources, file: string) =>
      r.run(async () => {
        const analysis = await ingestImage(file, ws.dir, { maxPixels: 1e8, blobs: null });
        return { pool: getImagePool(), analysis };
      });
    const [ra, rb] = await Promise.all([decode(a, 'a/img0.png'), decode(b, 'b/img0.png')]);
    expect(ra.pool).not.toBeNull();
    expect(rb.pool).not.toBeNull();
    expect(ra.pool).not.toBe(rb.pool);
    expect(ra.analysis.descriptor.id).not.toBe(rb.analysis.descriptor.id);
    const [sa] = await ra.pool!.workerStats();
    const [sb] = await rb.pool!.workerStats();
    expect(sa!.tasksDone).toBe(1);
    expect(sb!.tasksDone).toBe(1);
    expect(children()).toEqual(expect.arrayContaining([sa!.pid, sb!.pid]));
    // Outside any worker, code gets the process-wide pool, never a worker's.
    expect(getImagePool()).not.toBe(ra.pool);
    await closeImagePool();

    await ingestStage.teardown!(a);
    expect(await childrenSettled().then(() => children().includes(sa!.pid))).toBe(false);
    // b is untouched by a's teardown and still decodes on its own pool.
    const again = await decode(b, 'b/img1.png');
    expect(again.pool).toBe(rb.pool);
    expect(children()).toContain(sb!.pid);
    expect(() => a.get('image-pool', () => null, () => undefined)).toThrow(/released/);

    await ingestStage.teardown!(b);
    expect((await childrenSettled()).filter((pid) => !baseline.includes(pid))).toEqual([]);
  });

  it('leaves no pool processes behind after two concurrent ingest runs in one process', async () => {
    const baseline = children();
    const loaded = await ws.config({
      datasets: Object.fromEntries(
        ['a', 'b'].map((d) => [d, { sources: [{ name: d, type: 'caption', layout: 'records', path: `${d}.jsonl`, format: 'jsonl', fields: { id: 'id', image: 'image', captions: 'caption' } }], ingest: { unitRows: 2 } }]),
      ),
    });
    const [ra, rb] = await Promise.all([runCommand(loaded, 'ingest', { dataset: 'a' }), runCommand(loaded, 'ingest', { dataset: 'b' })]);
    expect(ra.map((s) => s.counts)).toEqual([expect.objectContaining({ kept: 6 })]);
    expect(rb.map((s) => s.counts)).toEqual([expect.objectContaining({ kept: 6 })]);
    const rows = await queryShards(loaded, `SELECT dataset, count(*)::INTEGER AS n FROM samples GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { dataset: 'a', n: 6 },
      { dataset: 'b', n: 6 },
    ]);
    expect((await childrenSettled()).filter((pid) => !baseline.includes(pid))).toEqual([]);
  });
});
