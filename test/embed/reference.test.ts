import { mkdtemp, rm, writeFile, readFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { pixelValues, processorSpec } from '../../pipelines/embed/embedder.js';
import { modelPixels } from '../../pipelines/embed/preprocess.js';
import { ModelTokenizer } from '../../pipelines/embed/tokenizer.js';
import { sha256Hex } from '../../pipelines/shared/hash.js';

/**
 * Reference values computed by the reference implementations (test/embed/reference/generate.py:
 * transformers' CLIP and SigLIP image processors on Pillow, transformers' CLIPTokenizer on the real
 * CLIP BPE vocabulary, OpenAI's tokenizer as open_clip ships it), checked in as fixtures.
 */
const DIR = join(import.meta.dirname, 'reference');

interface PixelCase {
  processor: string;
  image: string;
  height: number;
  width: number;
  sha256: string;
  pixels: string;
  pixel_values_head: number[];
}
interface TokenCase {
  text: string;
  input_ids: number[];
  attention_mask: number[];
  open_clip_ids: number[];
}

const temp: string[] = [];
afterAll(() => Promise.all(temp.map((d) => rm(d, { recursive: true, force: true }))));

describe('preprocessing equals the Hugging Face processors (Pillow) to the pixel', async () => {
  const ref = JSON.parse(await readFile(join(DIR, 'pixels.json'), 'utf8')) as { processors: Record<string, object>; cases: PixelCase[] };

  it('has cases for every processor', () => {
    expect(ref.cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(ref.cases.map((c) => c.processor)).size).toBe(Object.keys(ref.processors).length);
  });

  it.each(ref.cases.map((c) => [c.processor, c.image, c] as const))('%s on %s', async (_p, image, c) => {
    const { spec, mean, std, rescale } = processorSpec(ref.processors[c.processor] as Parameters<typeof processorSpec>[0]);
    const got = await modelPixels(sharp(await readFile(join(DIR, 'images', image))).rotate(), spec);
    const want = inflateSync(Buffer.from(c.pixels, 'base64'));
    expect([spec.crop, spec.crop]).toEqual([c.height, c.width]);
    let differing = 0;
    for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) differing++;
    expect(differing).toBe(0);
    expect(sha256Hex(got)).toBe(c.sha256);
    const values = pixelValues(got, { mean, std, rescale });
    c.pixel_values_head.forEach((v, i) => expect(values[i]).toBeCloseTo(v, 6));
  });
});

describe('tokenisation equals transformers on the real CLIP vocabulary', async () => {
  const ref = JSON.parse(await readFile(join(DIR, 'tokens.json'), 'utf8')) as { clip: TokenCase[]; siglip: TokenCase[] };
  const dir = await mkdtemp(join(tmpdir(), 'stratum-clip-tok-'));
  temp.push(dir);
  await writeFile(join(dir, 'tokenizer.json'), gunzipSync(await readFile(join(DIR, 'clip', 'tokenizer.json.gz'))));
  await copyFile(join(DIR, 'clip', 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', text_config: { max_position_embeddings: 77 } }));
  const tokenizer = ModelTokenizer.fromDir(dir);

  it.each(ref.clip.map((c) => [JSON.stringify(c.text).slice(0, 50), c] as const))('%s', (_t, c) => {
    const { ids, mask } = tokenizer.ids(c.text);
    expect(ids).toEqual(c.input_ids);
    expect(mask).toEqual(c.attention_mask);
  });

  it("differs from OpenAI's own tokenizer only where Hugging Face's CLIP tokenizer does (HTML entities, ftfy fixes, literal special tokens)", () => {
    const differ = ref.clip.filter((c) => JSON.stringify(c.input_ids.filter((_, i) => c.attention_mask[i])) !== JSON.stringify(c.open_clip_ids)).map((c) => c.text);
    expect(differ).toEqual(['html &amp; entities &lt;b&gt;', 'ÀÉÎÕÜ ß ﬁ ligature Ａ fullwidth', '<|startoftext|> literal special tokens <|endoftext|>']);
  });
});

describe("tokenisation equals transformers' SiglipTokenizer (SentencePiece + SigLIP's canonicalisation)", async () => {
  const ref = JSON.parse(await readFile(join(DIR, 'tokens.json'), 'utf8')) as { siglip: TokenCase[] };
  const dir = await mkdtemp(join(tmpdir(), 'stratum-siglip-tok-'));
  temp.push(dir);
  await copyFile(join(DIR, 'siglip', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  await copyFile(join(DIR, 'siglip', 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'siglip', text_config: { max_position_embeddings: 64 } }));
  const tokenizer = ModelTokenizer.fromDir(dir);

  it.each(ref.siglip.map((c) => [JSON.stringify(c.text).slice(0, 50), c] as const))('%s', (_t, c) => {
    const { ids, mask } = tokenizer.ids(c.text);
    expect(ids).toEqual(c.input_ids);
    expect(mask).toEqual(c.attention_mask);
  });
});
