import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { createOnnxSession, type OnnxDevice } from '../shared/onnx/session.js';
import { loadOnnxRuntime } from '../shared/onnx/runtime.js';
import { floats, normalise } from './embedder.js';
import type { RegisteredModel } from './registry.js';
import { ModelTokenizer } from './tokenizer.js';

/**
 * The text tower of a dual encoder: `tokenizer.json` through `@huggingface/tokenizers` (CLIP's BPE,
 * SigLIP's Unigram; special tokens from the tokenizer's own post-processor), truncated and padded to
 * the model's maximum length (CLIP pools at the first end-of-text token and masks what follows it;
 * SigLIP was trained on max-length padding), then `text_model.onnx` → normalised `text_embeds`.
 */
export class TextEmbedder {
  private constructor(
    private readonly tokenizer: ModelTokenizer,
    private readonly session: InferenceSession,
    private readonly output: string,
    private readonly wantsMask: boolean,
  ) {}

  static async open(model: RegisteredModel, opts: { device: OnnxDevice; threads: number }): Promise<TextEmbedder | null> {
    if (!model.textModel) return null;
    const tokenizer = ModelTokenizer.fromDir(model.dir);
    const { session } = await createOnnxSession(model.textModel, { device: opts.device, intraOpNumThreads: opts.threads });
    const output = ['text_embeds', 'pooler_output'].find((n) => session.outputNames.includes(n)) ?? session.outputNames[0];
    if (!output) throw new Error(`model ${model.name}: the text model has no output`);
    return new TextEmbedder(tokenizer, session, output, session.inputNames.includes('attention_mask'));
  }

  /** Token ids of one text, with the model's special tokens, truncated and padded to the maximum length. */
  ids(text: string): { ids: number[]; mask: number[] } {
    return this.tokenizer.ids(text);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (!texts.length) return [];
    const ort = await loadOnnxRuntime();
    const encoded = texts.map((t) => this.ids(t));
    const L = this.tokenizer.maxLength;
    const feeds: Record<string, Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(encoded.flatMap((e) => e.ids.map(BigInt))), [texts.length, L]),
    };
    if (this.wantsMask) feeds.attention_mask = new ort.Tensor('int64', BigInt64Array.from(encoded.flatMap((e) => e.mask.map(BigInt))), [texts.length, L]);
    const out = (await this.session.run(feeds))[this.output] as Tensor;
    const dim = out.dims[out.dims.length - 1] as number;
    const flat = floats(out);
    return texts.map((_, i) => normalise(flat.slice(i * dim, (i + 1) * dim)));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
