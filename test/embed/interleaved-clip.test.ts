import { afterAll, describe, expect, it } from 'vitest';
import type { Sample } from '../../schemas/sample.js';
import { runCommand } from '../../pipelines/cli/run.js';
import { addModel, modelsDir, resolveModel } from '../../pipelines/embed/registry.js';
import { imageContexts } from '../../pipelines/embed/relevance.js';
import { TextEmbedder } from '../../pipelines/embed/text-embedder.js';
import type { PipelineConfigInput } from '../../pipelines/shared/config/schema.js';
import { addClipText, clipTextTable, clipTokenizerJson, writeClipExport } from '../support/clip-models.js';
import { makeScene, rng } from '../support/scenes.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

const DIM = 16;

/** A document as the ingest stores it (only the fields imageContexts reads). */
function doc(parts: Array<string | { image: string }>): Sample {
  return {
    content: parts.map((p) => (typeof p === 'string' ? { type: 'text', text: p, media_id: null } : { type: 'image', text: null, media_id: p.image })),
    media: parts.flatMap((p) => (typeof p === 'string' ? [] : [{ id: p.image, mime: 'image/jpeg' }])),
  } as unknown as Sample;
}

describe('image contexts inside documents', () => {
  it('gives each image the end of the nearest text before it and the start of the nearest text after it, for many generated documents', () => {
    const r = rng(7);
    const word = () => 'abcdefghij'.slice(0, 1 + Math.floor(r() * 9));
    for (let n = 0; n < 300; n++) {
      const parts: Array<string | { image: string }> = [];
      const count = 1 + Math.floor(r() * 8);
      for (let i = 0; i < count; i++) {
        const x = r();
        if (x < 0.4) parts.push({ image: `m${Math.floor(r() * 4)}` });
        else if (x < 0.5) parts.push(r() < 0.5 ? '' : '   ');
        else parts.push(Array.from({ length: Math.floor(r() * 120) + 1 }, word).join(' '));
      }
      const sample = doc(parts);
      const chars = 20 + Math.floor(r() * 300);
      const contexts = imageContexts(sample, chars);
      // brute force: every occurrence of an image contributes its neighbours
      const expected = new Map<string, Array<{ before: string | null; after: string | null }>>();
      parts.forEach((p, i) => {
        if (typeof p === 'string') return;
        const before = parts.slice(0, i).reverse().find((q): q is string => typeof q === 'string' && q.trim() !== '') ?? null;
        const after = parts.slice(i + 1).find((q): q is string => typeof q === 'string' && q.trim() !== '') ?? null;
        expected.set(p.image, [...(expected.get(p.image) ?? []), { before: before?.trim() ?? null, after: after?.trim() ?? null }]);
      });
      expect([...contexts.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [id, occurrences] of expected) {
        const texts = contexts.get(id)!;
        for (const t of texts) expect(t.length).toBeLessThanOrEqual(chars);
        for (const o of occurrences) {
          if (o.before !== null) expect(texts.some((t) => o.before!.endsWith(t) && (o.before!.length <= chars ? t === o.before : t.length >= chars / 2 - 1))).toBe(true);
          if (o.after !== null) expect(texts.some((t) => o.after!.startsWith(t) && (o.after!.length <= chars ? t === o.after : t.length >= chars / 2 - 1))).toBe(true);
        }
        if (occurrences.every((o) => o.before === null && o.after === null)) expect(texts).toEqual([]);
      }
    }
  });
});

describe('CLIP score for images inside interleaved documents', () => {
  it('scores each image against its neighbouring text, removes the images under the threshold from their documents and keeps the text', async () => {
    const ws = await createWorkspace();
    workspaces.push(ws);
    const dir = await writeClipExport(ws.path('tiny'), { size: 32, dim: DIM });
    await addClipText(dir);
    const root = modelsDir(ws.path('.'));
    await addModel(dir, 'tiny', root);
    for (let i = 0; i < 9; i++) await ws.write(`img/${i}.jpg`, await makeScene(70 + i));
    const img = (i: number) => ({ type: 'image', path: `../img/${i}.jpg` });
    const txt = (text: string) => ({ type: 'text', text });
    // neighbours per image, as the test reads the documents (texts are short: the whole text is the context)
    const docs = [
      { doc_id: 'a', items: [txt('the red sky'), img(0), txt('shapes on a field'), img(1), txt('a map of the sea')] },
      { doc_id: 'b', items: [img(2), img(3), txt('blue circles, the sun')] },
      { doc_id: 'c', items: [txt('green ground'), img(4)] },
      { doc_id: 'd', items: [txt('the end of a day'), img(5), img(6), txt('sky and shapes 7')] },
      { doc_id: 'e', items: [img(7)] },
      { doc_id: 'f', items: [txt('a cat on a map'), img(8), txt('shapes')] },
    ];
    const neighbours: Record<number, string[]> = {
      0: ['the red sky', 'shapes on a field'],
      1: ['shapes on a field', 'a map of the sea'],
      2: ['blue circles, the sun'],
      3: ['blue circles, the sun'],
      4: ['green ground'],
      5: ['the end of a day', 'sky and shapes 7'],
      6: ['the end of a day', 'sky and shapes 7'],
      8: ['a cat on a map', 'shapes'],
    };
    const docImages: Record<string, number[]> = { a: [0, 1], b: [2, 3], c: [4], d: [5, 6], e: [7], f: [8] };
    await ws.write('docs/d.jsonl', docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const base = (minScore: Record<string, number>): PipelineConfigInput => ({
      datasets: {
        i: {
          sources: [{ name: 'items', type: 'interleaved', format: 'items', path: 'docs/d.jsonl' }],
          filter: { imageWorkers: 1, heuristics: { textMinChars: 0, textMinWords: 0 }, embed: { imageModel: 'tiny', clipScore: { minScore } } },
        },
      },
    });
    let loaded = await ws.config(base({}));
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});

    // independent scores: the image vectors from the embeddings view, the text tower recomputed from its table
    const mediaOf = new Map(
      (await queryShards(loaded, `SELECT s.source.locator AS locator, list_transform(list_filter(s.content, p -> p.type = 'image'), p -> p.media_id) AS ids FROM ingest_samples s`)).map((r) => [
        String(r.locator),
        r.ids as string[],
      ]),
    );
    const vectors = new Map((await queryShards(loaded, `SELECT media_id, vector FROM embeddings`)).map((r) => [String(r.media_id), r.vector as number[]]));
    const text = (await TextEmbedder.open(await resolveModel('tiny', root), { device: 'cpu', threads: 1 }))!;
    const table = clipTextTable(Object.keys((clipTokenizerJson() as { model: { vocab: object } }).model.vocab).length, DIM);
    const textVector = (s: string): number[] => {
      const { ids, mask } = text.ids(s);
      const n = mask.filter(Boolean).length;
      const t = new Array<number>(DIM).fill(0);
      ids.forEach((id, k) => {
        if (mask[k]) for (let d = 0; d < DIM; d++) t[d] = (t[d] as number) + (table[id * DIM + d] as number) / n;
      });
      const len = Math.hypot(...t);
      return t.map((x) => x / len);
    };
    const locators = [...mediaOf.keys()].sort();
    expect(locators.length).toBe(6);
    const mediaId = new Map<number, string>();
    for (const [k, d] of docs.entries()) docImages[d.doc_id]!.forEach((i, j) => mediaId.set(i, mediaOf.get(locators[k]!)![j]!));
    const expected = new Map<number, number>();
    for (const [i, texts] of Object.entries(neighbours)) {
      const v = vectors.get(mediaId.get(Number(i))!)!;
      expected.set(Number(i), Math.max(...texts.map((t) => textVector(t).reduce((s, x, d) => s + x * (v[d] as number), 0))));
    }
    await text.close();

    const scored = await queryShards(loaded, `SELECT s.source.locator AS locator, f.signals.embedding.clip_score AS score FROM filter_samples f JOIN ingest_samples s USING (id) ORDER BY locator`);
    expect(scored.length).toBe(6);
    for (const [k, d] of docs.entries()) {
      const scores = docImages[d.doc_id]!.filter((i) => expected.has(i)).map((i) => expected.get(i)!);
      const row = scored.find((r) => r.locator === locators[k])!;
      if (scores.length) expect(Number(row.score)).toBeCloseTo(Math.min(...scores), 5);
      else expect(row.score).toBeNull(); // an image with no text around it is not scored
    }

    // a threshold between the scores removes exactly the images under it
    const sorted = [...expected.values()].sort((a, b) => a - b);
    const threshold = ((sorted[3] as number) + (sorted[4] as number)) / 2;
    const low = new Set([...expected].filter(([, s]) => s < threshold).map(([i]) => i));
    expect(low.size).toBe(4);
    loaded = await ws.config(base({ interleaved: threshold }));
    await runCommand(loaded, 'filter', {});
    const rows = await queryShards(
      loaded,
      `SELECT s.source.locator AS locator, l.decision, l.reason, l.details, f.content AS content, f.signals.embedding.clip_score AS score
       FROM ledger l JOIN ingest_samples s ON s.id = l.sample_id LEFT JOIN filter_samples f ON f.id = s.id WHERE l.stage = 'filter' ORDER BY locator`,
    );
    expect(rows.length).toBe(6);
    for (const [k, d] of docs.entries()) {
      const row = rows[k] as { decision: string; reason: string; details: string; content: Array<{ type: string; text: string | null; media_id: string | null }>; score: number | null };
      expect(row.decision).toBe('kept');
      const gone = docImages[d.doc_id]!.filter((i) => low.has(i));
      const stays = docImages[d.doc_id]!.filter((i) => !low.has(i));
      // order and text are untouched; only the low images are gone
      const want = d.items.filter((p) => p.type === 'text' || !gone.some((i) => (p as { path?: string }).path === `../img/${i}.jpg`));
      expect(row.content.map((p) => p.type)).toEqual(want.map((p) => p.type));
      expect(row.content.filter((p) => p.type === 'text').map((p) => p.text)).toEqual(d.items.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text));
      expect(row.content.filter((p) => p.type === 'image').map((p) => p.media_id)).toEqual(stays.map((i) => mediaId.get(i)));
      if (gone.length) {
        expect(row.reason).toBe('kept_without_irrelevant_images');
        const details = JSON.parse(row.details) as { clip_removed: Array<{ media_id: string; value: number }>; threshold: number; model: string };
        expect(details.threshold).toBe(threshold);
        expect(details.model).toMatch(/^tiny@/);
        expect(details.clip_removed.map((r) => r.media_id).sort()).toEqual(gone.map((i) => mediaId.get(i)!).sort());
        for (const r of details.clip_removed) {
          const i = gone.find((g) => mediaId.get(g) === r.media_id)!;
          expect(r.value).toBeCloseTo(expected.get(i)!, 5);
          expect(r.value).toBeLessThan(threshold);
        }
      } else expect(row.reason).toBe('ok');
      const keptScores = stays.filter((i) => expected.has(i)).map((i) => expected.get(i)!);
      if (keptScores.length) expect(Number(row.score)).toBeCloseTo(Math.min(...keptScores), 5);
      else expect(row.score).toBeNull();
    }
    // the removed images take no part in dedup: the image signatures hold only what the documents keep
    const signed = await queryShards(loaded, `SELECT count(*) AS n FROM read_parquet('${loaded.shardsDir}/i/filter/_map/images/**/*.parquet')`);
    expect(Number(signed[0]!.n)).toBe(9 - low.size);
  }, 240_000);
});
