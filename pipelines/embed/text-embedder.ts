import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { createOnnxSession, type OnnxDevice } from '../shared/onnx/session.js';
import { normalise } from './embedder.js';
import type { RegisteredModel } from './registry.js';

const readJson = (file: string): Record<string, unknown> => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {});

/**
 * The text tower of a dual encoder: `tokenizer.json` through `@huggingface/tokenizers` (CLIP's BPE,
 * SigLIP's Unigram; special tokens from the tokenizer's own post-processor), truncated and padded to
 * the model's maximum length (CLIP pools at the first end-of-text token and masks what follows it;
 * SigLIP was trained on max-length padding), then `text_model.onnx` → normalised `text_embeds`.
 */
export class TextEmbedder {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly session: InferenceSession,
    private readonly maxLength: number,
    private readonly padId: number,
    private readonly output: string,
    private readonly wantsMask: boolean,
  ) {}

  static async open(model: RegisteredModel, opts: { device: OnnxDevice; threads: number }): Promise<TextEmbedder | null> {
    if (!model.textModel) return null;
    const tokenizerJson = readJson(join(model.dir, 'tokenizer.json'));
    const tokenizerConfig = readJson(join(model.dir, 'tokenizer_config.json'));
    const config = readJson(join(model.dir, 'config.json')) as { text_config?: { max_position_embeddings?: number }; max_position_embeddings?: number };
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const maxLength = Number(config.text_config?.max_position_embeddings ?? config.max_position_embeddings ?? tokenizerConfig.model_max_length ?? 77);
    const padding = tokenizerJson.padding as { pad_id?: number } | null | undefined;
    const padToken = typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : null;
    const padId = padding?.pad_id ?? (padToken ? tokenizer.token_to_id(padToken) : undefined) ?? 0;
    const { session } = await createOnnxSession(model.textModel, { device: opts.device, intraOpNumThreads: opts.threads });
    const output = ['text_embeds', 'pooler_output'].find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
    if (!output) throw new Error(`model ${model.name}: the text model has no output`);
    return new TextEmbedder(tokenizer, session, Math.min(maxLength, 512), padId, output, session.inputNames.includes('attention_mask'));
  }

  /** Token ids of one text, with the model's special tokens, truncated and padded to the maximum length. */
  ids(text: string): { ids: number[]; mask: number[] } {
    const encoded = this.tokenizer.encode(text);
    let ids = encoded.ids.map(Number);
    if (ids.length > this.maxLength) ids = [...ids.slice(0, this.maxLength - 1), ids[ids.length - 1] as number]; // keep the end token
    const mask = ids.map(() => 1);
    while (ids.length < this.maxLength) {
      ids.push(this.padId);
      mask.push(0);
    }
    return { ids, mask };
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (!texts.length) return [];
    const ort = await import('onnxruntime-node');
    const encoded = texts.map((t) => this.ids(t));
    const L = this.maxLength;
    const feeds: Record<string, Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(encoded.flatMap((e) => e.ids.map(BigInt))), [texts.length, L]),
    };
    if (this.wantsMask) feeds.attention_mask = new ort.Tensor('int64', BigInt64Array.from(encoded.flatMap((e) => e.mask.map(BigInt))), [texts.length, L]);
    const out = (await this.session.run(feeds))[this.output] as Tensor;
    const dim = out.dims[out.dims.length - 1] as number;
    const flat = out.data as Float32Array;
    return texts.map((_, i) => normalise(flat.slice(i * dim, (i + 1) * dim)));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
