/** Column types of the filter stage's map outputs (per-unit signatures) and reduce artifact. */

const QUALITY =
  'STRUCT(text_chars INTEGER, words INTEGER, lang VARCHAR, symbol_ratio DOUBLE, dup_ngram_ratio DOUBLE, ' +
  'image_min_side INTEGER, image_max_aspect DOUBLE, image_min_stddev DOUBLE)';

/** One row per input sample: the per-sample verdict (heuristics, decontamination) and the dedup keys. */
export const FILTER_SAMPLE_COLUMNS = {
  unit: 'VARCHAR',
  row: 'INTEGER',
  sample_id: 'VARCHAR',
  kind: 'VARCHAR',
  /** `candidate` (goes on to dedup), `dropped` or `quarantined` by a per-sample step. */
  status: 'VARCHAR',
  reason: 'VARCHAR',
  details: 'VARCHAR',
  quality: QUALITY,
  /** sha256 of the normalised text, for samples whose text is their content (QA, documents); else null. */
  text_hash: 'VARCHAR',
  /** The sample's image set (sorted media sha256s joined); text duplicates must share it. */
  image_key: 'VARCHAR',
  text_chars: 'INTEGER',
  pixels: 'BIGINT',
  minhash: 'UINTEGER[]',
  /** Largest NSFW score over the sample's images (built-in image model); null without one. */
  nsfw: 'DOUBLE',
  /** Cosine of the image and caption embeddings (caption pairs, dual-encoder model); null otherwise. */
  clip_score: 'DOUBLE',
} as const;

const HASH_WORDS = Object.fromEntries([...Array(8).keys()].flatMap((i) => [[`h${i}`, 'UINTEGER'], [`m${i}`, 'UINTEGER']]));

/** One row per image occurrence in a candidate sample, with its 256-bit hash (h0..h7) and the mirrored image's (m0..m7). */
/** Concepts matched per sample (embed/concepts.ts), for concept balancing in the reduce. */
export const FILTER_CONCEPT_COLUMNS = { unit: 'VARCHAR', sample_id: 'VARCHAR', concept: 'VARCHAR' } as const;

/** Map output of the video rule's text half: one row per video candidate (vector null when the clip has no text). */
export const FILTER_VIDEO_TEXT_COLUMNS = { unit: 'VARCHAR', sample_id: 'VARCHAR', text_chars: 'INTEGER', vector: 'FLOAT[]' } as const;

export const FILTER_IMAGE_COLUMNS = {
  unit: 'VARCHAR',
  row: 'INTEGER',
  sample_id: 'VARCHAR',
  kind: 'VARCHAR',
  media_id: 'VARCHAR',
  position: 'INTEGER',
  width: 'INTEGER',
  height: 'INTEGER',
  text_chars: 'INTEGER',
  ...HASH_WORDS,
} as Record<string, string>;

/** The reduce's verdict on one sample of this dataset (samples with no row are kept unchanged). */
export const FILTER_DECISION_COLUMNS = {
  unit: 'VARCHAR',
  sample_id: 'VARCHAR',
  /** `drop` or `drop_images` (the sample is kept without the listed images) or `keep` (cluster info only). */
  action: 'VARCHAR',
  reason: 'VARCHAR',
  /** The sample kept in this one's place. */
  dup_of: 'VARCHAR',
  details: 'VARCHAR',
  removed_media: 'VARCHAR[]',
  text_cluster: 'VARCHAR',
  image_cluster: 'VARCHAR',
} as const;
