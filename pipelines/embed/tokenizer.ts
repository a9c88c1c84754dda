import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const readJson = (file: string): Record<string, unknown> => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {});

/**
 * A text tower's tokenisation, as the model's Hugging Face tokenizer does it with
 * `padding='max_length', truncation=True`: `tokenizer.json` through `@huggingface/tokenizers`
 * (CLIP's byte-level BPE with `</w>`, SigLIP's Unigram; special tokens from the tokenizer's own
 * post-processor), truncated to the model's maximum length keeping the end token, padded with the
 * pad token; SigLIP's tokenizers also get SigLIP's text canonicalisation first. Equal to
 * transformers' ids on the reference texts (test/embed/reference.test.ts).
 */
export class ModelTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    readonly padId: number,
    private readonly canonicalise: ((text: string) => string) | null,
  ) {}

  /** From an export folder: `tokenizer.json`, `tokenizer_config.json`, and the text config's `max_position_embeddings`. */
  static fromDir(dir: string): ModelTokenizer {
    const tokenizerJson = readJson(join(dir, 'tokenizer.json'));
    const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json'));
    const config = readJson(join(dir, 'config.json')) as { text_config?: { max_position_embeddings?: number }; max_position_embeddings?: number };
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const maxLength = Number(config.text_config?.max_position_embeddings ?? config.max_position_embeddings ?? tokenizerConfig.model_max_length ?? 77);
    const padding = tokenizerJson.padding as { pad_id?: number } | null | undefined;
    const padToken = typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : null;
    const padId = padding?.pad_id ?? (padToken ? tokenizer.token_to_id(padToken) : undefined) ?? 0;
    return new ModelTokenizer(tokenizer, Math.min(maxLength, 512), padId, tokenizerConfig.tokenizer_class === 'SiglipTokenizer' ? siglipCanonical(tokenizerConfig.do_lower_case !== false) : null);
  }

  /** Token ids of one text, with the model's special tokens, truncated and padded to the maximum length. */
  ids(text: string): { ids: number[]; mask: number[] } {
    const encoded = this.tokenizer.encode(this.canonicalise ? this.canonicalise(text) : text);
    let ids = encoded.ids.map(Number);
    if (ids.length > this.maxLength) ids = [...ids.slice(0, this.maxLength - 1), ids[ids.length - 1] as number]; // keep the end token
    const mask = ids.map(() => 1);
    while (ids.length < this.maxLength) {
      ids.push(this.padId);
      mask.push(0);
    }
    return { ids, mask };
  }
}

/** Python's `string.punctuation`. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * SigLIP's `canonicalize_text`, which transformers' SiglipTokenizer applies before SentencePiece and
 * which a `tokenizer.json` cannot express: lower case (`do_lower_case`), ASCII punctuation removed,
 * runs of whitespace collapsed to one space, trimmed. Without it 12 of the 20 reference texts
 * tokenise differently (test/embed/reference.test.ts).
 */
function siglipCanonical(lower: boolean): (text: string) => string {
  return (text) => (lower ? text.toLowerCase() : text).replace(ASCII_PUNCTUATION, '').replace(/\s+/gu, ' ').trim();
}
