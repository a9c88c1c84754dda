import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { addModel, modelsDir, resolveModel } from '../../pipelines/embed/registry.js';
import { TextEmbedder } from '../../pipelines/embed/text-embedder.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { addClipText, clipTextTable, clipTokenizerJson, writeClipExport } from '../support/clip-models.js';
import { makeScene } from '../support/scenes.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

describe('CLIP score with a test-built dual encoder', () => {
  it('tokenises with the model tokenizer.json (BPE with </w>, start/end tokens, truncation keeping the end token, padding)', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const dir = await writeClipExport(ws.path('tiny'), { size: 32, dim: 16 });
    await addClipText(dir);
    const root = modelsDir(ws.path('.'));
    await addModel(dir, 'tiny', root);
    const text = (await TextEmbedder.open(await resolveModel('tiny', root), { device: 'cpu', threads: 1 }))!;
    const vocab = (clipTokenizerJson() as { model: { vocab: Record<string, number> } }).model.vocab;
    const { ids, mask } = text.ids('The Shapes');
    expect(ids.slice(0, 7)).toEqual([vocab['<|startoftext|>'], vocab['the</w>'], vocab['sh'], vocab['ap'], vocab['es</w>'], vocab['<|endoftext|>'], vocab['<|endoftext|>']]);
    expect(ids.length).toBe(16);
    expect(mask.filter(Boolean).length).toBe(6);
    const long = text.ids('a '.repeat(40));
    expect(long.ids.length).toBe(16);
    expect(long.ids[15]).toBe(vocab['<|endoftext|>']);
    await text.close();
  });

  it('scores every caption pair, drops those under the threshold with the value, and types the score column', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const dir = await writeClipExport(ws.path('tiny'), { size: 32, dim: 16 });
    await addClipText(dir);
    await addModel(dir, 'tiny', modelsDir(ws.path('.')));
    const rows = [];
    const words = ['the shapes', 'a red sky', 'green ground and the sea', 'shapes on a field', 'sky', 'blue circles, the sun', 'the end', 'a map of shapes'];
    for (let i = 0; i < 8; i++) {
      await ws.write(`img/${i}.jpg`, await makeScene(40 + i));
      rows.push({ id: `p${i}`, image: `../img/${i}.jpg`, caption: `${words[i]} picture ${i}` });
    }
    await ws.write('records/pairs.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const base: PipelineConfigInput = {
      datasets: {
        c: {
          sources: [{ name: 'pairs', type: 'caption', layout: 'records', path: 'records/pairs.jsonl', format: 'jsonl', fields: { id: 'id', image: 'image', captions: 'caption' } }],
          filter: { imageWorkers: 1, embed: { imageModel: 'tiny', clipScore: { minScore: {} } } },
        },
      },
    };
    // first pass: scores only, to compare with an independent computation and pick a threshold
    let loaded = await ws.config(base);
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const scored = await queryShards(loaded, `SELECT s.id, s.media[1].id AS media, list_filter(s.content, p -> p.type = 'text')[1].text AS caption, s.signals.embedding.clip_score AS score FROM filter_samples s`);
    expect(scored.length).toBe(8);
    const vectors = new Map((await queryShards(loaded, `SELECT media_id, vector FROM embeddings`)).map((r) => [String(r.media_id), r.vector as number[]]));
    const text = (await TextEmbedder.open(await resolveModel('tiny', modelsDir(ws.path('.'))), { device: 'cpu', threads: 1 }))!;
    const table = clipTextTable(Object.keys((clipTokenizerJson() as { model: { vocab: object } }).model.vocab).length, 16);
    for (const r of scored) {
      const { ids, mask } = text.ids(String(r.caption));
      const t = new Array<number>(16).fill(0);
      const n = mask.filter(Boolean).length;
      ids.forEach((id, k) => {
        if (mask[k]) for (let d = 0; d < 16; d++) t[d] = (t[d] as number) + (table[id * 16 + d] as number) / n;
      });
      const len = Math.hypot(...t);
      const v = vectors.get(String(r.media))!;
      const expected = v.reduce((s, x, d) => s + x * ((t[d] as number) / len), 0);
      expect(Number(r.score)).toBeCloseTo(expected, 5);
    }
    await text.close();
    // second pass: the median as threshold drops exactly the pairs below it
    const scores = scored.map((r) => Number(r.score)).sort((a, b) => a - b);
    const threshold = ((scores[3] as number) + (scores[4] as number)) / 2;
    loaded = await ws.config({ datasets: { c: { ...base.datasets.c!, filter: { imageWorkers: 1, embed: { imageModel: 'tiny', clipScore: { minScore: { caption: threshold } } } } } } });
    await runCommand(loaded, 'filter', {});
    const dropped = await queryShards(loaded, `SELECT sample_id, details FROM ledger WHERE stage = 'filter' AND reason = 'clip_score'`);
    const artifact = join(loaded.shardsDir, 'c', 'filter', '_reduce', (JSON.parse(await readFile(join(loaded.shardsDir, 'c', 'filter', '_reduce', 'current.json'), 'utf8')) as { dir: string }).dir);
    expect((JSON.parse(await readFile(join(artifact, 'meta.json'), 'utf8')) as { summary: { notes: string[] } }).summary.notes).toEqual([]); // a text tower: nothing to say
    expect(dropped.length).toBe(4);
    const byId = new Map(scored.map((r) => [String(r.id), Number(r.score)]));
    for (const d of dropped) {
      const details = JSON.parse(String(d.details));
      expect(details.threshold).toBe(threshold);
      expect(details.value).toBeCloseTo(byId.get(String(d.sample_id))!, 6);
      expect(details.value).toBeLessThan(threshold);
    }
  }, 180_000);
});
