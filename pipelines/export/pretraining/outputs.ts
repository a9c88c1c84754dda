import type { OutputSpec } from '../../shared/runner/stage.js';

const IMAGE = 'STRUCT(bytes BLOB, path VARCHAR)';
const IMAGE_STAGED = 'STRUCT(bytes VARCHAR, path VARCHAR)';
const DECODE_IMAGES = `list_transform(images, x -> CASE WHEN x IS NULL THEN NULL ELSE {'bytes': from_base64(x.bytes), 'path': x.path} END)`;

/**
 * OBELICS / MMC4 shape: `texts[i]` and `images[i]` aligned, exactly one of them non-null per
 * position; images as Hugging Face datasets stores its Image feature (`{bytes, path}`).
 */
export const INTERLEAVED_OUTPUT: OutputSpec = {
  columns: {
    id: 'VARCHAR',
    texts: 'VARCHAR[]',
    images: `${IMAGE}[]`,
    frame_times: 'DOUBLE[]',
    source: 'STRUCT(name VARCHAR, uri VARCHAR, locator VARCHAR)',
    license: 'VARCHAR',
    lang: 'VARCHAR',
    quality_score: 'DOUBLE',
    metadata: 'VARCHAR',
    kind: 'VARCHAR',
    quality: 'VARCHAR',
  },
  subdir: 'interleaved',
  partitionBy: ['kind', 'quality'],
  stagingTypes: { images: `${IMAGE_STAGED}[]` },
  selectOverrides: { images: DECODE_IMAGES },
};

/** Every file a unit wrote outside the runner's Parquet outputs (tar shards, indexes, SFT JSON, images). */
export const FILES_OUTPUT: OutputSpec = {
  columns: { format: 'VARCHAR', path: 'VARCHAR', role: 'VARCHAR', kind: 'VARCHAR', quality: 'VARCHAR', samples: 'INTEGER', bytes: 'BIGINT' },
  subdir: '_files',
};

/** Where each exported sample went, per format: the input of the mixture file. */
export const MEMBERS_OUTPUT: OutputSpec = {
  columns: {
    format: 'VARCHAR',
    sample_id: 'VARCHAR',
    kind: 'VARCHAR',
    quality: 'VARCHAR',
    quality_score: 'DOUBLE',
    file: 'VARCHAR',
    key: 'VARCHAR',
    offset: 'BIGINT',
  },
  subdir: '_members',
};

export interface FileRow {
  format: string;
  path: string;
  role: 'shard' | 'index' | 'records' | 'image';
  kind: string | null;
  quality: string | null;
  samples: number | null;
  bytes: number | null;
}

export interface MemberRow {
  format: string;
  sample_id: string;
  kind: string;
  quality: string;
  quality_score: number | null;
  file: string | null;
  key: string | null;
  offset: number | null;
}

/** Folders of the file-based pre-training formats under export/ (their files are listed in the `files` output). */
export const FILE_FORMAT_DIRS = { webdataset: 'webdataset', sft: 'sft' } as const;
