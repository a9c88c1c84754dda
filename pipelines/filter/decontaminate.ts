import type { DuckDBConnection } from '@duckdb/node-api';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { ConfigError } from '../shared/config/load.js';
import { readRecords, type RecordFormat } from '../ingest/readers/records.js';
import type { FilterConfig } from './config.js';
import { hamming256, type Hash256 } from './image-hash.js';
import { normaliseText, words } from './text.js';

export interface EvalMatch {
  set: string;
  /** Where in the eval file: `line:17`, `index:3`, ... */
  item: string;
  how: 'question_ngram' | 'question_exact' | 'image_hash';
  evidence: string;
}

/** Questions shorter than this many words are too generic to match whole ("what is x?"). */
const MIN_WHOLE_WORDS = 4;

/**
 * Evaluation sets declared in `filter.decontaminate`: every word n-gram of their normalised
 * questions (datatrove uses 12-grams), whole short questions, and 256-bit hashes of their images.
 */
export class EvalIndex {
  private readonly ngrams = new Map<string, { set: string; item: string }>();
  private readonly whole = new Map<string, { set: string; item: string }>();
  private readonly images: Array<{ set: string; item: string; hash: Hash256; mirrored: Hash256 }> = [];
  items = 0;

  constructor(
    readonly ngram: number,
    readonly imageRadius: number,
  ) {}

  get empty(): boolean {
    return this.items === 0;
  }

  static async load(config: FilterConfig['decontaminate'], baseDir: string, conn: DuckDBConnection): Promise<EvalIndex> {
    const index = new EvalIndex(config.ngram, config.imageRadius);
    for (const set of config.sets) {
      const files = await glob(set.path, { cwd: baseDir, absolute: true });
      if (!files.length) throw new ConfigError(`filter.decontaminate set "${set.name}": no file matches ${set.path}`);
      for (const file of files.sort()) {
        for await (const record of readRecords(file, formatOf(file), 0, Number.MAX_SAFE_INTEGER, conn)) {
          if (!record.ok || !record.value || typeof record.value !== 'object') continue;
          const value = record.value as Record<string, unknown>;
          const item = { set: set.name, item: `${file.split('/').pop()}:${record.locator}` };
          index.items++;
          const question = value[set.questionField];
          if (typeof question === 'string') index.addQuestion(question, item);
          const images = set.imageField ? value[set.imageField] : undefined;
          for (const ref of Array.isArray(images) ? images : images ? [images] : []) {
            if (typeof ref !== 'string') continue;
            const { imageFeatures } = await import('./image-features.js');
            const features = await imageFeatures({ path: isAbsolute(ref) ? ref : resolve(dirname(file), ref), maxPixels: 100_000_000 });
            if (features.ok) index.images.push({ ...item, hash: features.hash, mirrored: features.mirrored });
          }
        }
      }
    }
    return index;
  }

  addQuestion(question: string, item: { set: string; item: string }): void {
    const tokens = words(normaliseText(question));
    if (tokens.length < this.ngram) {
      if (tokens.length >= MIN_WHOLE_WORDS) this.whole.set(tokens.join(' '), item);
      return;
    }
    for (let i = 0; i + this.ngram <= tokens.length; i++) this.ngrams.set(tokens.slice(i, i + this.ngram).join(' '), item);
  }

  matchText(text: string): EvalMatch | null {
    if (this.empty) return null;
    const tokens = words(normaliseText(text));
    const whole = this.whole.get(tokens.join(' '));
    if (whole) return { ...whole, how: 'question_exact', evidence: tokens.join(' ') };
    for (let i = 0; i + this.ngram <= tokens.length; i++) {
      const gram = tokens.slice(i, i + this.ngram).join(' ');
      const hit = this.ngrams.get(gram);
      if (hit) return { ...hit, how: 'question_ngram', evidence: gram };
    }
    return null;
  }

  matchImage(hash: Hash256): EvalMatch | null {
    for (const e of this.images) {
      const d = Math.min(hamming256(hash, e.hash), hamming256(hash, e.mirrored));
      if (d <= this.imageRadius) return { set: e.set, item: e.item, how: 'image_hash', evidence: `hamming ${d} ≤ ${this.imageRadius}` };
    }
    return null;
  }
}

function formatOf(file: string): RecordFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.parquet') return 'parquet';
  if (ext === '.csv') return 'csv';
  throw new ConfigError(`filter.decontaminate: cannot read ${file} (use .jsonl, .json, .parquet or .csv)`);
}
