/**
 * Map outputs (schemas/filter.ts shapes) of text samples whose MinHash signatures are generated
 * with a known similarity structure, for the reduce's cluster tests: one giant cluster, many
 * mid-size clusters, chains, near misses and distinct documents. A member of a cluster is its base
 * signature with each value replaced by a fresh random one with probability `p` (so it estimates
 * Jaccard ≈ 1 − p against the base, ≈ (1 − p)² against another member); a chain step replaces
 * `step` values of the previous member.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FILTER_IMAGE_COLUMNS, FILTER_SAMPLE_COLUMNS } from '../../schemas/filter.js';
import { estimatedJaccard } from '../../pipelines/filter/minhash.js';
import { sqlString } from '../../pipelines/shared/store/duckdb.js';

export const PERMS = 128;
export const BANDS = 16;

export interface TextRow {
  sample_id: string;
  sig: Uint32Array;
  /** The group the generator put it in (`giant`, `mid-7`, `chain-2`, `miss`, `distinct`). */
  group: string;
}

export class SignatureMaker {
  constructor(private readonly rand: () => number) {}

  random(): Uint32Array {
    const sig = new Uint32Array(PERMS);
    for (let i = 0; i < PERMS; i++) sig[i] = Math.floor(this.rand() * 2 ** 32) >>> 0;
    return sig;
  }

  /** `base` with each value replaced with probability p. */
  noisy(base: Uint32Array, p: number): Uint32Array {
    const sig = Uint32Array.from(base);
    for (let i = 0; i < PERMS; i++) if (this.rand() < p) sig[i] = Math.floor(this.rand() * 2 ** 32) >>> 0;
    return sig;
  }

  /** `base` with exactly `k` values (distinct positions) replaced. */
  replaced(base: Uint32Array, k: number): Uint32Array {
    const sig = Uint32Array.from(base);
    const positions = [...Array(PERMS).keys()];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.rand() * (PERMS - i));
      [positions[i], positions[j]] = [positions[j]!, positions[i]!];
      sig[positions[i]!] = Math.floor(this.rand() * 2 ** 32) >>> 0;
    }
    return sig;
  }
}

/** Writes one unit's `samples` Parquet file (the reduce hashes band keys from the signatures); returns it per output. */
export async function writeTextUnit(dir: string, unit: string, rows: TextRow[], rowOffset = 0): Promise<Record<string, string[]>> {
  const json = join(dir, `${unit}.jsonl`);
  await writeFile(json, rows.map((r, i) => JSON.stringify({ unit, row: rowOffset + i, sample_id: r.sample_id, minhash: [...r.sig] })).join('\n') + '\n');
  const files = { samples: [join(dir, `${unit}-samples.parquet`)] };
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const src = `read_json(${sqlString(json)}, format = 'newline_delimited', columns = {unit: 'VARCHAR', row: 'INTEGER', sample_id: 'VARCHAR', minhash: 'UINTEGER[]'})`;
    const cast = (columns: Record<string, string>, exprs: Record<string, string>): string =>
      Object.entries(columns).map(([name, type]) => `(${exprs[name] ?? 'NULL'})::${type} AS ${name}`).join(', ');
    await conn.run(`COPY (SELECT ${cast(FILTER_SAMPLE_COLUMNS, { unit: 'unit', row: 'row', sample_id: 'sample_id', kind: `'qa'`, status: `'candidate'`, text_hash: 'sample_id', image_key: `''`, text_chars: '100', pixels: '0', minhash: 'minhash' })} FROM ${src}) TO ${sqlString(files.samples[0]!)} (FORMAT PARQUET)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return files;
}

export const jaccard = (a: TextRow, b: TextRow): number => estimatedJaccard(a.sig, b.sig);

/** A 256-bit image hash (8 words) and its mirrored hash. */
export type Hash256 = number[];

export interface ImageRow {
  media: string;
  hash: Hash256;
  mirrored: Hash256;
  width: number;
}

/** Writes one unit's `samples` and `images` Parquet files: one caption sample per image. */
export async function writeImageUnit(dir: string, unit: string, images: ImageRow[]): Promise<Record<string, string[]>> {
  const rows = images.map((im, row) => ({ unit, row, sample_id: `s-${im.media}`, media: im.media, width: im.width, ...Object.fromEntries(im.hash.flatMap((h, i) => [[`h${i}`, h], [`m${i}`, im.mirrored[i]]])) }));
  const json = join(dir, `${unit}.json`);
  await writeFile(json, JSON.stringify(rows));
  const files = { samples: [join(dir, `${unit}-samples.parquet`)], images: [join(dir, `${unit}-images.parquet`)] };
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const src = `read_json(${sqlString(json)}, columns = {unit: 'VARCHAR', row: 'INTEGER', sample_id: 'VARCHAR', media: 'VARCHAR', width: 'INTEGER', ${[...Array(8).keys()].map((i) => `h${i}: 'UINTEGER', m${i}: 'UINTEGER'`).join(', ')}})`;
    const cast = (columns: Record<string, string>, exprs: Record<string, string>): string =>
      Object.entries(columns).map(([name, type]) => `(${exprs[name] ?? 'NULL'})::${type} AS ${name}`).join(', ');
    await conn.run(`COPY (SELECT ${cast(FILTER_SAMPLE_COLUMNS, { unit: 'unit', row: 'row', sample_id: 'sample_id', kind: `'caption'`, status: `'candidate'`, image_key: 'media', text_chars: '10', pixels: 'width * 100' })} FROM ${src}) TO ${sqlString(files.samples[0]!)} (FORMAT PARQUET)`);
    await conn.run(`COPY (SELECT ${cast(FILTER_IMAGE_COLUMNS, { unit: 'unit', row: 'row', sample_id: 'sample_id', kind: `'caption'`, media_id: 'media', position: '0', width: 'width', height: '100', text_chars: '10', ...Object.fromEntries([...Array(8).keys()].flatMap((i) => [[`h${i}`, `h${i}`], [`m${i}`, `m${i}`]])) })} FROM ${src}) TO ${sqlString(files.images[0]!)} (FORMAT PARQUET)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return files;
}

/** Hamming distance of two 256-bit hashes. */
export function hamming(a: Hash256, b: Hash256): number {
  let d = 0;
  for (let i = 0; i < 8; i++) {
    let x = (a[i]! ^ b[i]!) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}

/** `hash` with `d` distinct random bits flipped. */
export function flipBits(rand: () => number, hash: Hash256, d: number): Hash256 {
  const out = [...hash];
  const bits = [...Array(256).keys()];
  for (let i = 0; i < d; i++) {
    const j = i + Math.floor(rand() * (256 - i));
    [bits[i], bits[j]] = [bits[j]!, bits[i]!];
    const bit = bits[i]!;
    out[bit >> 5] = (out[bit >> 5]! ^ (1 << (bit & 31))) >>> 0;
  }
  return out;
}
