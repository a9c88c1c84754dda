/**
 * Seeded hostile inputs for every source type: truncated, empty, garbage, wrong-extension,
 * non-regular (FIFO, device link, broken link, directory), nested, ragged and badly encoded files,
 * planted next to a few good ones. Each planted file records how many input items it names, so a
 * run can be checked for `in` = planted, source by source; some also name the reason they must get.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { PipelineConfigInput } from '../../../pipelines/shared/config/schema.js';
import { paintedTextPdf } from './hostile-pdfs.js';

export interface Planted {
  source: string;
  /** Path relative to the workspace. */
  path: string;
  /** Input items the file names (records, lines, images, documents, ...). */
  items: number;
  /** `exact`: `items` is what the source must count; `atLeast`: garbage whose item count the reader decides. */
  count: 'exact' | 'atLeast';
  /** Reasons its ledger rows must carry (any of), when known. */
  reasons?: string[];
  kind: string;
}

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 2 ** 32;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/** Lines as the records reader counts them: ended by LF, CRLF or CR; blank = ASCII white space only. */
export function countLines(bytes: Buffer): number {
  return bytes
    .toString('latin1')
    .split(/\r\n|\r|\n/)
    .filter((l) => /[^ \t\v\f]/.test(l)).length;
}

const SOURCES = {
  qaJsonl: { name: 'qa-jsonl', type: 'qa', format: 'jsonl', path: 'qa-jsonl', fields: { question: 'q', answer: 'a', images: 'img' } },
  qaCsv: { name: 'qa-csv', type: 'qa', format: 'csv', path: 'qa-csv', fields: { question: 'q', answer: 'a' } },
  qaParquet: { name: 'qa-parquet', type: 'qa', format: 'parquet', path: 'qa-parquet', fields: { question: 'q', answer: 'a' } },
  qaJson: { name: 'qa-json', type: 'qa', format: 'json', path: 'qa-json', fields: { question: 'q', answer: 'a' } },
  capFolder: { name: 'cap-folder', type: 'caption', layout: 'folder', path: 'cap-folder' },
  capRecords: { name: 'cap-records', type: 'caption', layout: 'records', format: 'jsonl', path: 'cap-records', fields: { image: 'image', captions: 'caption' } },
  capTar: { name: 'cap-tar', type: 'caption', layout: 'webdataset', path: 'cap-tar' },
  capCoco: { name: 'cap-coco', type: 'caption', layout: 'coco-captions', path: 'cap-coco' },
  gndCoco: { name: 'gnd-coco', type: 'grounding', format: 'coco', path: 'gnd-coco', captions: false },
  pdf: { name: 'pdf', type: 'pdf', path: 'pdf' },
  html: { name: 'html', type: 'interleaved', format: 'html', path: 'html', maxHtmlDepth: 200 },
} as const;

export interface HostileSet {
  planted: Planted[];
  config: PipelineConfigInput;
}

/**
 * Writes `perKind` seeded members of every hostile class for every source type under `root` and
 * returns what was planted and the config that ingests it (dataset `fuzz`).
 */
export async function plantHostileInputs(root: string, seed: number, perKind = 1): Promise<HostileSet> {
  const rng = new Rng(seed);
  const planted: Planted[] = [];
  const good = await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: rng.int(0, 255), g: rng.int(0, 255), b: rng.int(0, 255) } } }).png().toBuffer();
  const jpeg = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const write = async (rel: string, bytes: Buffer | string): Promise<string> => {
    const file = join(root, rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
    return file;
  };
  const plant = async (source: string, rel: string, bytes: Buffer | string, kind: string, items: number, reasons?: string[], count: 'exact' | 'atLeast' = 'exact') => {
    await write(rel, bytes);
    planted.push({ source, path: rel, items, count, kind, ...(reasons ? { reasons } : {}) });
  };
  /** Non-regular entries: a FIFO, a link to /dev/zero, a broken link (each one input), a directory (none). */
  const plantNonRegular = async (source: string, folder: string, ext: string, i: number, prefix = '') => {
    await mkdir(join(root, folder), { recursive: true });
    const fifo = `${folder}/${prefix}fifo-${i}.${ext}`;
    execFileSync('mkfifo', [join(root, fifo)]);
    planted.push({ source, path: fifo, items: 1, count: 'exact', kind: 'fifo', reasons: ['not_a_file'] });
    const dev = `${folder}/${prefix}zero-${i}.${ext}`;
    await symlink('/dev/zero', join(root, dev));
    planted.push({ source, path: dev, items: 1, count: 'exact', kind: 'device-link', reasons: ['not_a_file'] });
    const broken = `${folder}/${prefix}broken-${i}.${ext}`;
    await symlink(join(root, 'does-not-exist'), join(root, broken));
    planted.push({ source, path: broken, items: 1, count: 'exact', kind: 'broken-link', reasons: ['broken_link'] });
    await mkdir(join(root, `${folder}/${prefix}dir-${i}.${ext}`), { recursive: true });
  };
  const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const eol = () => rng.pick(['\n', '\r\n', '\r']);

  for (let i = 0; i < perKind; i++) {
    // QA jsonl: good lines with mixed line ends, truncation, garbage, bad UTF-8, deep nesting, image paths that are not images.
    const goodLines = Array.from({ length: rng.int(1, 4) }, (_, k) => JSON.stringify({ q: `What is ${k}+${i}?`, a: String(k + i) }));
    const mixed = goodLines.map((l) => l + eol()).join('');
    await plant('qa-jsonl', `qa-jsonl/good-${i}.jsonl`, mixed, 'good', goodLines.length);
    const cr = goodLines.join('\r') + '\r';
    await plant('qa-jsonl', `qa-jsonl/cr-only-${i}.jsonl`, cr, 'cr-line-ends', goodLines.length);
    const truncated = Buffer.from(mixed).subarray(0, rng.int(1, Math.max(1, mixed.length - 1)));
    await plant('qa-jsonl', `qa-jsonl/truncated-${i}.jsonl`, truncated, 'truncated', Math.max(1, countLines(truncated)));
    const garbage = rng.bytes(rng.int(16, 400));
    await plant('qa-jsonl', `qa-jsonl/garbage-${i}.jsonl`, garbage, 'garbage', Math.max(1, countLines(garbage)));
    const latin1 = Buffer.concat([Buffer.from('{"q": "caf'), Buffer.from([0xe9, 0xff]), Buffer.from('?", "a": "1"}\n'), Buffer.from(`${goodLines[0]}\n`)]);
    await plant('qa-jsonl', `qa-jsonl/bad-utf8-${i}.jsonl`, latin1, 'bad-encoding', 2);
    await plant('qa-jsonl', `qa-jsonl/nested-${i}.jsonl`, `${deepJson(rng.int(20_000, 120_000))}\n{"q": ${deepJson(5000)}, "a": "1"}\n`, 'nested', 2);
    await plant('qa-jsonl', `qa-jsonl/empty-${i}.jsonl`, '', 'empty', 1, ['empty_file']);
    await plant('qa-jsonl', `qa-jsonl/blank-${i}.jsonl`, ' \r\n\t\n\r', 'blank', 1, ['empty_file']);
    await plant('qa-jsonl', `qa-jsonl/png-${i}.jsonl`, good, 'wrong-extension', Math.max(1, countLines(good)));
    const badImages = ['/tmp', '/dev/zero', '/dev/null', join(root, 'no-such.png'), join(root, 'qa-jsonl')].map((img) => JSON.stringify({ q: 'Look', a: '1', img }));
    await plant('qa-jsonl', `qa-jsonl/bad-image-paths-${i}.jsonl`, badImages.join('\n'), 'non-regular-image-path', badImages.length, ['not_a_file', 'missing_image', 'corrupt_image']);
    await plantNonRegular('qa-jsonl', 'qa-jsonl', 'jsonl', i);

    // QA csv: ragged rows among good ones; garbage.
    const rows = Array.from({ length: rng.int(3, 8) }, (_, k) => (rng.next() < 0.35 ? rng.pick([`"short ${k}"`, `"long ${k}",${k},x,y`]) : `"What is ${k}?",${k}`));
    const csvEol = eol();
    await plant('qa-csv', `qa-csv/ragged-${i}.csv`, `q,a${csvEol}${rows.join(csvEol)}${csvEol}`, 'ragged', rows.length);
    await plant('qa-csv', `qa-csv/mixed-line-ends-${i}.csv`, `q,a\r${rows.join('\n')}\n`, 'mixed-line-ends', 1, undefined, 'atLeast');
    await plant('qa-csv', `qa-csv/garbage-${i}.csv`, rng.bytes(rng.int(50, 300)), 'garbage', 1, undefined, 'atLeast');
    await plant('qa-csv', `qa-csv/empty-${i}.csv`, '', 'empty', 1);
    await plantNonRegular('qa-csv', 'qa-csv', 'csv', i);

    // QA parquet: garbage, empty, a truncated real file.
    await plant('qa-parquet', `qa-parquet/garbage-${i}.parquet`, Buffer.concat([Buffer.from('PAR1'), rng.bytes(rng.int(10, 500)), Buffer.from('PAR1')]), 'garbage', 1, ['unreadable_records']);
    await plant('qa-parquet', `qa-parquet/empty-${i}.parquet`, '', 'empty', 1, ['unreadable_records', 'empty_file']);
    await plant('qa-parquet', `qa-parquet/png-${i}.parquet`, good, 'wrong-extension', 1, ['unreadable_records']);
    await plantNonRegular('qa-parquet', 'qa-parquet', 'parquet', i);

    // QA json: garbage, nested, wrong top-level types.
    await plant('qa-json', `qa-json/garbage-${i}.json`, rng.bytes(rng.int(10, 200)), 'garbage', 1, ['malformed_json', 'invalid_utf8']);
    await plant('qa-json', `qa-json/nested-${i}.json`, deepJson(rng.int(20_000, 120_000)), 'nested', 1);
    await plant('qa-json', `qa-json/scalar-${i}.json`, rng.pick(['42', '"text"', 'null', 'true']), 'wrong-type', 1);
    await plantNonRegular('qa-json', 'qa-json', 'json', i);

    // Caption folder: images that are not.
    await plant('cap-folder', `cap-folder/good-${i}.png`, good, 'good', 1);
    await plant('cap-folder', `cap-folder/truncated-${i}.jpg`, jpeg.subarray(0, rng.int(10, jpeg.length - 10)), 'truncated', 1);
    await plant('cap-folder', `cap-folder/garbage-${i}.jpg`, rng.bytes(rng.int(1, 500)), 'garbage', 1);
    await plant('cap-folder', `cap-folder/empty-${i}.png`, '', 'empty', 1);
    await plant('cap-folder', `cap-folder/text-${i}.webp`, 'not an image at all', 'wrong-extension', 1);
    await symlink(join(root, `cap-folder/good-${i}.png`), join(root, `cap-folder/linked-${i}.png`));
    planted.push({ source: 'cap-folder', path: `cap-folder/linked-${i}.png`, items: 1, count: 'exact', kind: 'symlink' });
    await plantNonRegular('cap-folder', 'cap-folder', rng.pick(['jpg', 'png']), i);

    // Caption records: image fields naming a directory, a device, a FIFO, nothing.
    await mkdir(join(root, 'cap-records/pipes'), { recursive: true });
    const pipe = join(root, `cap-records/pipes/pipe-${i}.png`);
    execFileSync('mkfifo', [pipe]);
    const capRows = ['/tmp', '/dev/zero', '/dev/urandom', pipe, join(root, 'cap-records'), join(root, 'nothing.png'), '', 17].map((image) => JSON.stringify({ image, caption: 'a picture' }));
    await plant('cap-records', `cap-records/rows-${i}.jsonl`, capRows.join('\n'), 'non-regular-image-path', capRows.length);

    // WebDataset: empty, garbage, a lone zero block.
    await plant('cap-tar', `cap-tar/empty-${i}.tar`, '', 'empty', 1, ['empty_file']);
    await plant('cap-tar', `cap-tar/garbage-${i}.tar`, rng.bytes(rng.int(1, 3000)), 'garbage', 1);
    await plant('cap-tar', `cap-tar/zeros-${i}.tar`, Buffer.alloc(1024), 'empty-archive', 1, ['empty_archive']);
    await plantNonRegular('cap-tar', 'cap-tar', 'tar', i);

    // COCO captions and instances: {}, wrong types, deep nesting, garbage.
    for (const [source, prefix] of [['cap-coco', 'captions'], ['gnd-coco', 'instances']] as const) {
      await plant(source, `${source}/${prefix}_empty-object-${i}.json`, '{}', 'empty-object', 1);
      await plant(source, `${source}/${prefix}_wrong-type-${i}.json`, JSON.stringify({ images: rng.pick(['x', 42, { a: 1 }, null]) }), 'wrong-type', 1);
      const entries = Array.from({ length: rng.int(1, 4) }, () => rng.pick([1, 'x', null, [], { id: 'a' }, { file_name: 3 }]));
      await plant(source, `${source}/${prefix}_bad-entries-${i}.json`, JSON.stringify({ images: entries, annotations: [] }), 'wrong-type-entries', entries.length, ['malformed_image_entry']);
      await plant(source, `${source}/${prefix}_nested-${i}.json`, `{"images": ${deepJson(rng.int(20_000, 100_000))}}`, 'nested', 1, undefined, 'atLeast');
      await plant(source, `${source}/${prefix}_garbage-${i}.json`, rng.bytes(rng.int(10, 300)), 'garbage', 1);
      await plantNonRegular(source, source, 'json', i, `${prefix}_`);
    }

    // PDF: garbage, empty, truncated, a page whose text is hidden.
    await plant('pdf', `pdf/garbage-${i}.pdf`, rng.bytes(rng.int(1, 2000)), 'garbage', 1, ['not_a_pdf']);
    await plant('pdf', `pdf/empty-${i}.pdf`, '', 'empty', 1, ['not_a_pdf']);
    const real = paintedTextPdf(['Hostile input page', `seed ${seed} member ${i}`], 'black', i + 1);
    await plant('pdf', `pdf/truncated-${i}.pdf`, real.subarray(0, rng.int(20, real.length - 40)), 'truncated', 1);
    await plant('pdf', `pdf/header-only-${i}.pdf`, '%PDF-1.7\n', 'truncated', 1);
    await plantNonRegular('pdf', 'pdf', 'pdf', i);

    // HTML: binary, too deep, bad encoding, empty.
    await plant('html', `html/binary-${i}.html`, Buffer.concat([rng.bytes(rng.int(10, 400)), Buffer.from([0])]), 'garbage', 1, ['not_html']);
    await plant('html', `html/deep-${i}.html`, `<html><body>${'<div>'.repeat(rng.int(300, 5000))}deep</body></html>`, 'nested', 1, ['html_too_deep']);
    await plant('html', `html/latin1-${i}.html`, Buffer.concat([Buffer.from('<html><body><p>Caf'), Buffer.from([0xe9]), Buffer.from(' au lait</p></body></html>')]), 'bad-encoding', 1);
    await plant('html', `html/empty-${i}.html`, '', 'empty', 1);
    await plantNonRegular('html', 'html', 'html', i);
  }

  const config: PipelineConfigInput = { datasets: { fuzz: { sources: Object.values(SOURCES) as never } } };
  return { planted, config };
}

export interface LedgerRowLite {
  uri: string;
  decision: string;
  reason: string;
}

/** What does not add up: per planted file, its ledger rows against what it names; rows for nothing planted. */
export function ledgerMismatches(planted: readonly Planted[], rows: readonly LedgerRowLite[]): string[] {
  const byUri = new Map<string, LedgerRowLite[]>();
  for (const row of rows) byUri.set(row.uri, [...(byUri.get(row.uri) ?? []), row]);
  const problems: string[] = [];
  for (const p of planted) {
    const got = byUri.get(p.path) ?? [];
    byUri.delete(p.path);
    const ok = p.count === 'exact' ? got.length === p.items : got.length >= p.items;
    if (!ok) problems.push(`${p.path} (${p.kind}): ${got.length} ledger row(s), planted ${p.count === 'exact' ? '' : '≥ '}${p.items} [${got.map((r) => r.reason).join(', ')}]`);
    for (const r of got) {
      if (!r.reason) problems.push(`${p.path}: a ${r.decision} row without a reason`);
      if (p.reasons && !p.reasons.includes(r.reason)) problems.push(`${p.path} (${p.kind}): reason ${r.reason}, expected one of ${p.reasons.join(', ')}`);
    }
  }
  for (const [uri, got] of byUri) problems.push(`${uri}: ${got.length} ledger row(s) for nothing planted [${got.map((r) => r.reason).join(', ')}]`);
  return problems;
}

/** Ledger rows per reason, most frequent first. */
export function countByReason(rows: readonly LedgerRowLite[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(`${r.decision} ${r.reason}`, (counts.get(`${r.decision} ${r.reason}`) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}
