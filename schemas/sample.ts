/**
 * The canonical sample: one schema for every kind of data, defined once here as TypeScript types and
 * as the DuckDB/Parquet column types the shard writer uses. Bump SAMPLE_SCHEMA_VERSION on any change.
 */
import type { Tier } from './tier.js';

/** 3: `derived_from` (synthesize stage). Older shards read back with `derived_from: null` (read-samples.ts). */
export const SAMPLE_SCHEMA_VERSION = 3;

export const SAMPLE_KINDS = ['caption', 'interleaved', 'ocr', 'grounding', 'gui', 'video', 'qa'] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

export const ANSWER_TYPES = ['numeric', 'expression', 'choice', 'text', 'boxes', 'action'] as const;
export type AnswerType = (typeof ANSWER_TYPES)[number];

/** Where a sample came from: the source name from the config, the file URI and the place inside it. */
export interface SourceRef {
  name: string;
  uri: string;
  /** e.g. `line:17`, `member:a/b.jpg`, `page:3`, `key:42` */
  locator: string;
}

export type ContentPart =
  | { type: 'text'; text: string; media_id: null }
  | { type: 'image' | 'video'; text: null; media_id: string };

export interface MediaDescriptor {
  /** sha256 of the bytes, hex; also the blob-store key */
  id: string;
  mime: string;
  width: number | null;
  height: number | null;
  bytes: number;
  duration: number | null;
  frames: number | null;
  /** 64-bit DCT perceptual hash (pHash, imagehash style) as 16 hex digits, when computed */
  phash: string | null;
  /** 64-bit difference hash (dHash) as 16 hex digits, when computed */
  dhash: string | null;
}

/** A box on GLM's 0–999 normalised scale. */
export interface Box {
  label: string | null;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Task {
  question: string;
  /** Ground truth in GLM's answer format: `<|begin_of_box|>…<|end_of_box|>`. */
  answer: string;
  /** The answer as the source wrote it (before normalisation). */
  answer_raw: string;
  answer_type: AnswerType;
  /** Option texts for multiple choice, in letter order (A, B, ...); empty otherwise. */
  choices: string[];
  boxes: Box[];
  /** Verifier domain used to score responses (see pipelines/verify). */
  verifier: string;
  /** Reference solution when the source has one. */
  solution: string | null;
}

export interface ModelDifficulty {
  model: string;
  k: number;
  n: number;
  pass_rate: number;
}

export interface DifficultyHistoryEntry {
  at: string;
  source: DifficultySource;
  k: number;
  n: number;
}

export type DifficultySource = 'offline' | 'online' | 'human';

export interface Difficulty {
  pass_rate: number | null;
  k: number;
  n: number;
  tier: Tier;
  per_model: ModelDifficulty[];
  source: DifficultySource | null;
  rated_at: string | null;
  history: DifficultyHistoryEntry[];
}

/** What the filter stage measured on a sample (null before the filter ran, or where it does not apply). */
export interface QualitySignals {
  text_chars: number;
  words: number;
  /** ISO 639-3 code from language identification, `und` when the text is too short to tell. */
  lang: string;
  /** Share of characters that are neither letters, digits nor whitespace. */
  symbol_ratio: number;
  /** Share of word 5-grams that occur more than once (Gopher-style repetition). */
  dup_ngram_ratio: number;
  /** Smallest side over the sample's images, px; null without images. */
  image_min_side: number | null;
  /** Largest long/short side ratio over the sample's images. */
  image_max_aspect: number | null;
  /** Lowest greyscale standard deviation over the sample's images (near 0: blank or solid). */
  image_min_stddev: number | null;
}

/**
 * Where the filter's duplicate clusters put a sample (the kept member's id names the cluster). A
 * kept sample is the kept member of its own clusters, duplicates dropped in its favour or not yet,
 * so a later duplicate never changes it; the members are the drops whose `kept_sample_id` names it.
 */
export interface DedupSignals {
  /** The sample's own id when it took part in text dedup, else null. */
  text_cluster: string | null;
  /** The sample's own id when its kind's image policy is not `keep` and it still has an image, else null. */
  image_cluster: string | null;
  /** Images removed from this sample as near-duplicates of images kept elsewhere. */
  images_removed: number;
}

/** What the filter's image embedding model said about a sample (null without an embedded image). */
export interface EmbeddingSignals {
  /** `<registered name>@<vision weights sha256 prefix>`. */
  model: string;
  /** Largest NSFW score over the sample's images (built-in model), else null. */
  nsfw: number | null;
  /** k-means cluster of the sample's first image (SemDeDup), null when semantic dedup is off. */
  semantic_cluster: number | null;
  /** Cosine of the image and caption embeddings (caption pairs, with a dual-encoder model), else null. */
  clip_score: number | null;
}

export interface Signals {
  /** sha256 of the normalised content + answer: the exact-dedup key. */
  content_hash: string;
  /** Further scores as a JSON object string (clip score, ...), for signals without a column yet. */
  extra: string;
  quality: QualitySignals | null;
  dedup: DedupSignals | null;
  embedding: EmbeddingSignals | null;
}

/** Provenance of a synthesized sample: the source sample and the generator (with its code version) that made it. */
export interface DerivedFrom {
  sample_id: string;
  generator: string;
  generator_version: number;
}

export interface Sample {
  id: string;
  schema_version: number;
  dataset: string;
  source: SourceRef;
  kind: SampleKind;
  domain: string;
  license: string | null;
  lang: string | null;
  content: ContentPart[];
  media: MediaDescriptor[];
  task: Task | null;
  signals: Signals;
  difficulty: Difficulty;
  /** Source fields not mapped elsewhere (level, subject, ...) as a JSON object string. */
  meta: string;
  /** Set on samples the synthesize stage made from another sample; null on samples read from a source. */
  derived_from: DerivedFrom | null;
}

/** DuckDB column types, in column order. `tier` is hoisted to the top level so it can be a partition. */
export const SAMPLE_COLUMNS = {
  id: 'VARCHAR',
  schema_version: 'INTEGER',
  dataset: 'VARCHAR',
  source: 'STRUCT(name VARCHAR, uri VARCHAR, locator VARCHAR)',
  kind: 'VARCHAR',
  domain: 'VARCHAR',
  license: 'VARCHAR',
  lang: 'VARCHAR',
  content: 'STRUCT(type VARCHAR, text VARCHAR, media_id VARCHAR)[]',
  media:
    'STRUCT(id VARCHAR, mime VARCHAR, width INTEGER, height INTEGER, bytes BIGINT, duration DOUBLE, frames INTEGER, phash VARCHAR, dhash VARCHAR)[]',
  task:
    'STRUCT(question VARCHAR, answer VARCHAR, answer_raw VARCHAR, answer_type VARCHAR, choices VARCHAR[], ' +
    'boxes STRUCT(label VARCHAR, x1 SMALLINT, y1 SMALLINT, x2 SMALLINT, y2 SMALLINT)[], verifier VARCHAR, solution VARCHAR)',
  signals:
    'STRUCT(content_hash VARCHAR, extra VARCHAR, ' +
    'quality STRUCT(text_chars INTEGER, words INTEGER, lang VARCHAR, symbol_ratio DOUBLE, dup_ngram_ratio DOUBLE, ' +
    'image_min_side INTEGER, image_max_aspect DOUBLE, image_min_stddev DOUBLE), ' +
    'dedup STRUCT(text_cluster VARCHAR, image_cluster VARCHAR, images_removed INTEGER), ' +
    'embedding STRUCT(model VARCHAR, nsfw DOUBLE, semantic_cluster INTEGER, clip_score DOUBLE))',
  difficulty:
    'STRUCT(pass_rate DOUBLE, k INTEGER, n INTEGER, tier VARCHAR, ' +
    'per_model STRUCT(model VARCHAR, k INTEGER, n INTEGER, pass_rate DOUBLE)[], source VARCHAR, rated_at TIMESTAMP, ' +
    'history STRUCT("at" TIMESTAMP, source VARCHAR, k INTEGER, n INTEGER)[])',
  meta: 'VARCHAR',
  derived_from: 'STRUCT(sample_id VARCHAR, generator VARCHAR, generator_version INTEGER)',
  tier: 'VARCHAR',
} as const satisfies Record<keyof Sample | 'tier', string>;

export type SampleRow = Sample & { tier: Tier };

export function toSampleRow(sample: Sample): SampleRow {
  return { ...sample, tier: sample.difficulty.tier };
}

export function unratedDifficulty(): Difficulty {
  return { pass_rate: null, k: 0, n: 0, tier: 'unrated', per_model: [], source: null, rated_at: null, history: [] };
}
