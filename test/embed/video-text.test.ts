import { mkdir } from 'node:fs/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { statusCommand } from '../../pipelines/cli/status.js';
import { addModel, modelsDir, resolveModel } from '../../pipelines/embed/registry.js';
import { TextEmbedder } from '../../pipelines/embed/text-embedder.js';
import { videoClipText } from '../../pipelines/embed/video-text.js';
import type { LoadedConfig } from '../../pipelines/shared/config/load.js';
import type { Sample } from '../../schemas/sample.js';
import { ffmpeg, testPattern } from '../fixtures/video/generate.js';
import { addClipText, writeClipExport } from '../support/clip-models.js';
import { rng } from '../support/scenes.js';
import { createWorkspace, queryShards, type Workspace } from '../support/workspace.js';

const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

async function statusText(loaded: LoadedConfig): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  try {
    await statusCommand(loaded, undefined);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

type Row = { name: string; decision: string; reason: string; details: Record<string, unknown> };

async function ledgerOf(loaded: LoadedConfig): Promise<Row[]> {
  return (await queryShards(loaded, `SELECT source_uri, decision, reason, details FROM ledger WHERE stage = 'filter' ORDER BY source_uri`)).map((r) => ({
    name: String(r.source_uri).replace(/^.*clips\//, ''),
    decision: String(r.decision),
    reason: String(r.reason),
    details: JSON.parse(String(r.details ?? '{}')) as Record<string, unknown>,
  }));
}

describe('the clip text the video rule embeds', () => {
  it('is every text part but the frame time labels, plus the question when no part holds it (generated clips)', () => {
    const r = rng(7);
    const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
    for (let n = 0; n < 300; n++) {
      const frames = 1 + Math.floor(r() * 6);
      const content: Sample['content'] = [];
      for (let i = 0; i < frames; i++) {
        content.push({ type: 'image', text: null, media_id: `m${i}` });
        content.push({ type: 'text', text: `[t=${(i * pick([0.5, 1, 1.25])).toFixed(pick([1, 2]))}s]`, media_id: null });
      }
      const caption = pick(['', 'a dog runs [t=3s] on grass', 'timestamps like [t=1.0s] inside', 'two cars']);
      const transcript = pick(['', 'hello and welcome']);
      const question = pick([null, 'What colour is the car?']);
      if (caption) content.push({ type: 'text', text: caption, media_id: null });
      if (transcript) content.push({ type: 'text', text: transcript, media_id: null });
      const inContent = question !== null && r() < 0.5;
      if (question && inContent) content.push({ type: 'text', text: question, media_id: null });
      const sample = { kind: 'video', content, task: question ? { question } : null } as unknown as Sample;
      const expected = [caption, transcript, question ?? ''].filter(Boolean).join('\n');
      expect(videoClipText(sample)).toBe(expected);
    }
  });
});

describe('near-duplicate video clips: frames and text (the paper rule) with a test-built dual encoder', () => {
  it('merges clips whose frames and texts are both close, keeps same frames with other text (with all their frames), and says when the text half is off', async () => {
    const ws = await createWorkspace('stratum-video-text-');
    workspaces.push(ws);
    const dir = await writeClipExport(ws.path('tiny'), { size: 32, dim: 16 });
    await addClipText(dir);
    await addModel(dir, 'tiny', modelsDir(ws.path('.')));
    await mkdir(ws.path('clips'), { recursive: true });
    const clip = (name: string) => ws.path(`clips/${name}`);
    await testPattern(clip('a.mp4'), { size: '320x240', seconds: 4, pattern: 'testsrc2' });
    const reencode = (name: string, scale: string, crf: number) =>
      ffmpeg('-i', clip('a.mp4'), '-vf', `scale=${scale}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', String(crf), '-pix_fmt', 'yuv420p', clip(name));
    await reencode('a-copy.mp4', '160:120', 38); // same footage, same caption: a duplicate
    await reencode('a-other.mp4', '240:180', 30); // same footage, another caption: two samples
    await reencode('a-silent.mp4', '200:150', 34); // same footage, no text: not the captioned clip's duplicate
    await testPattern(clip('b.mp4'), { size: '320x240', seconds: 4, pattern: 'mandelbrot' }); // other footage, a's caption
    const caption = 'a red car on the road';
    await ws.write('clips/a.txt', caption);
    await ws.write('clips/a-copy.json', JSON.stringify({ caption }));
    await ws.write('clips/a-other.txt', 'quarterly sales chart with blue bars');
    await ws.write('clips/b.txt', caption);
    const config = (video: object) => ({
      datasets: { v: { sources: [{ name: 'clips', type: 'video' as const, path: 'clips', frames: { maxFrames: 4 } }], filter: { imageWorkers: 1, embed: { imageModel: 'tiny', semantic: { video } } } } },
    });
    let loaded = await ws.config(config({}));
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});

    // independent: text vectors from the text tower, clip vectors as the normalised mean of stored frame embeddings
    const text = (await TextEmbedder.open(await resolveModel('tiny', modelsDir(ws.path('.'))), { device: 'cpu', threads: 1 }))!;
    const [tCar, tSales] = await text.embed([caption, 'quarterly sales chart with blue bars']);
    await text.close();
    const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).reduce((s, v, i) => s + v * (y[i] as number), 0);
    const textCos = dot(tCar!, tSales!);
    console.log(`text cosine, car caption vs sales caption: ${textCos.toFixed(4)}`);
    expect(textCos).toBeLessThan(0.95); // the default textEps 0.05 tells them apart

    const ledger = await ledgerOf(loaded);
    console.log(ledger.map((r) => `${r.name} ${r.decision} ${r.reason} ${JSON.stringify(r.details)}`).join('\n'));
    expect(ledger.map((r) => r.name)).toEqual(['a-copy.mp4', 'a-other.mp4', 'a-silent.mp4', 'a.mp4', 'b.mp4']);
    const byName = new Map(ledger.map((r) => [r.name, r]));
    expect(byName.get('a-copy.mp4')).toMatchObject({ decision: 'dropped', reason: 'semantic_dup:video' });
    const copy = byName.get('a-copy.mp4')!.details;
    expect(copy).toMatchObject({ rule: 'frames+text', text_eps: 0.05 });
    expect(copy.text_cosine as number).toBeGreaterThan(0.9999);
    const [kept] = await queryShards(loaded, `SELECT id FROM ingest_samples WHERE source.uri LIKE '%clips/a.mp4'`);
    expect(copy.kept_sample_id).toBe(kept!.id);
    for (const name of ['a.mp4', 'a-other.mp4', 'a-silent.mp4', 'b.mp4']) expect(byName.get(name)).toMatchObject({ decision: 'kept' });
    // the clips that are not duplicates keep every frame, although the image step matched them to a's
    const frames = await queryShards(
      loaded,
      `SELECT i.source.uri AS uri, len(list_filter(i.media, m -> m.mime LIKE 'image/%')) AS before, len(list_filter(f.media, m -> m.mime LIKE 'image/%')) AS after
       FROM ingest_samples i JOIN filter_samples f USING (id)`,
    );
    expect(frames).toHaveLength(4);
    for (const f of frames) expect(Number(f.after)).toBe(Number(f.before));
    expect(await statusText(loaded)).not.toMatch(/frames only/);

    // switched off: the frame half decides alone (a-other and a-silent share a's frames), and the ledger says why
    loaded = await ws.config(config({ text: false }));
    await runCommand(loaded, 'filter', {});
    const off = await ledgerOf(loaded);
    const dropped = off.filter((r) => r.reason === 'semantic_dup:video');
    expect(dropped.map((r) => r.name).sort()).toEqual(['a-copy.mp4', 'a-other.mp4', 'a-silent.mp4']);
    for (const d of dropped) expect(d.details).toMatchObject({ rule: 'frames_only', text_rule: expect.stringMatching(/switched off/) });
    expect(off.find((r) => r.name === 'b.mp4')).toMatchObject({ decision: 'kept' });
    expect(await statusText(loaded)).toMatch(/filter: video near-duplicates: frames only, text half not applied: switched off/);
  }, 300_000);
});
