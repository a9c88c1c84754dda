import { createHash } from 'node:crypto';
import { dirname, relative, resolve } from 'node:path';
import { mapBounded } from '../../shared/concurrency.js';
import { sha256File } from '../../shared/hash.js';
import type { StageContext } from '../../shared/runner/stage.js';
import type { InputRef, UnitSink } from '../../shared/runner/unit-sink.js';
import type { AdapterUnit, SourceAdapter } from '../adapter.js';
import { countRecordsOrReject, readRecords, type RawRecord, type RecordSeek } from '../readers/records.js';
import { readInputFile } from '../read-input.js';
import { RecordError } from '../record-error.js';
import type { Downloader } from '../media/download.js';
import { buildSample, safeJson } from '../sample-builder.js';
import { sourceFiles } from '../source-files.js';
import { downloaderFromConfig, downloadSchema } from '../media/download-config.js';
import type { InterleavedSourceConfig } from './config.js';
import { locateImage, type DocItem, type ParsedDocument } from './document.js';
import { decodeHtml } from './html-decode.js';
import { extractHtmlWithin } from './html-pool.js';
import { materialise } from './materialise.js';
import { itemsDocument, mmc4Document, obelicsDocument } from './record-formats.js';

type InterleavedUnitPayload = { kind: 'lines'; file: string; start: number; end: number; seek?: RecordSeek } | { kind: 'pages'; files: string[] };

/** Pages above this size are quarantined (`page_too_large`) rather than parsed. */
const MAX_PAGE_BYTES = 32 * 1024 * 1024;

const RECORD_PARSERS = { mmc4: mmc4Document, obelics: obelicsDocument, items: itemsDocument } as const;

/** Interleaved image-text documents (MMC4 / OBELICS / ordered-items jsonl, or HTML pages) → `interleaved` samples. */
export const interleavedAdapter: SourceAdapter<InterleavedSourceConfig> = {
  type: 'interleaved',
  version: 2,

  async plan(source, ctx) {
    const units: AdapterUnit[] = [];
    if (source.format === 'html') {
      const files = await sourceFiles(source.name, source.path, ctx.baseDir, ['**/*.html', '**/*.htm']);
      for (let start = 0; start < files.length; start += source.pagesPerUnit) {
        const slice = files.slice(start, start + source.pagesPerUnit);
        // Each page's hash comes through the file memo: an unchanged page is not read again to plan.
        const hash = createHash('sha256');
        for (const file of slice) hash.update(`${relative(ctx.baseDir, file)}\n${await ctx.files.get(file, 'sha256', () => sha256File(file))}\n`);
        const payload: InterleavedUnitPayload = { kind: 'pages', files: slice };
        const first = relative(ctx.baseDir, slice[0] as string);
        units.push({ key: `pages:${first}+${slice.length}`, label: `${source.name} ${slice.length} page(s) from ${first}`, fingerprint: hash.digest('hex'), size: slice.length, payload });
      }
      return units;
    }
    const { unitRows } = ctx.config.ingest;
    for (const file of await sourceFiles(source.name, source.path, ctx.baseDir, '**/*.jsonl')) {
      const counted = await countRecordsOrReject(file, 'jsonl', ctx, unitRows);
      if (!counted) continue;
      const { records, fingerprint, seeks } = counted;
      const rel = relative(ctx.baseDir, file);
      for (let start = 0; start < Math.max(records, 1); start += unitRows) {
        const end = Math.min(records, start + unitRows);
        const payload: InterleavedUnitPayload = { kind: 'lines', file, start, end, seek: seeks[start / unitRows] };
        units.push({ key: `${rel}#${start}-${end}`, label: `${source.name} ${rel} records ${start}–${end}`, fingerprint, size: end - start, payload });
      }
    }
    return units;
  },

  async process(source, unit, ctx, sink) {
    const payload = unit.payload as InterleavedUnitPayload;
    if (payload.kind === 'pages') {
      sink.inputs(payload.files.length);
      const downloader = downloaderFor(source, ctx);
      await mapBounded(payload.files, ctx.config.ingest.concurrency, (file) => processPage(source, file, ctx, sink, downloader));
      return;
    }
    const records: RawRecord[] = [];
    for await (const record of readRecords(payload.file, 'jsonl', payload.start, payload.end, ctx.conn, payload.seek)) records.push(record);
    sink.inputs(records.length);
    const uri = relative(ctx.baseDir, payload.file);
    const imageRoot = source.imageRoot ? resolve(ctx.baseDir, source.imageRoot) : dirname(payload.file);
    const parse = RECORD_PARSERS[source.format as keyof typeof RECORD_PARSERS];
    const downloader = downloaderFor(source, ctx);
    await mapBounded(records, ctx.config.ingest.concurrency, async (record) => {
      const ref: InputRef = { sample_id: null, source_uri: uri, locator: record.locator };
      if (!record.ok) {
        sink.quarantine(ref, record.reason, { message: record.message, raw: record.raw });
        return;
      }
      try {
        await decide(source, ctx, sink, ref, parse(record.value, imageRoot), null, downloader);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        sink.quarantine(ref, err.reason, { message: err.message, raw: record.raw || safeJson(record.value) });
      }
    });
  },
};

async function processPage(source: InterleavedSourceConfig, file: string, ctx: StageContext, sink: UnitSink, downloader: Downloader | null): Promise<void> {
  const ref: InputRef = { sample_id: null, source_uri: relative(ctx.baseDir, file), locator: 'page' };
  try {
    const html = decodeHtml(await readInputFile(file, MAX_PAGE_BYTES, { missing: 'missing_page', tooLarge: 'page_too_large' }));
    const page = await extractHtmlWithin({ html: html.text, readability: source.readability, maxDepth: source.maxHtmlDepth }, source.htmlTimeBudgetMs);
    const items: DocItem[] = page.blocks.map((b) =>
      b.type === 'text' ? b : { type: 'image', location: locateImage(b.src, dirname(file), 'site'), alt: b.alt, meta: { src: b.src } },
    );
    const encoding = html.encodingSource === 'utf-8' ? {} : { encoding: html.encoding, encoding_source: html.encodingSource };
    const doc: ParsedDocument = { items, meta: { title: page.title, readability: page.readability, ...encoding } };
    await decide(source, ctx, sink, ref, doc, page.title, downloader);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    sink.quarantine(ref, err.reason, { message: err.message, page: file });
  }
}

async function decide(
  source: InterleavedSourceConfig,
  ctx: StageContext,
  sink: UnitSink,
  ref: InputRef,
  doc: ParsedDocument,
  title: string | null,
  downloader: Downloader | null,
): Promise<void> {
  const m = await materialise(ctx, source, doc, downloader);
  if (!m.content.length) {
    const left = m.remoteImages.length + m.omittedImages.length;
    throw new RecordError('empty_document', left ? `no text and no stored image (${left} image(s) left out: remote or unreadable)` : 'no text and no image');
  }
  const images = m.content.filter((p) => p.type === 'image').length;
  if (images < source.minImages) {
    sink.drop(ref, 'too_few_images', { message: `${images} stored image(s), minImages is ${source.minImages}`, remote_images: m.remoteImages.length, omitted_images: m.omittedImages.length });
    return;
  }
  const textChars = m.content.reduce((n, p) => n + (p.type === 'text' ? p.text.length : 0), 0);
  const sample = buildSample(ctx, {
    source,
    uri: ref.source_uri,
    locator: ref.locator,
    kind: 'interleaved',
    domain: source.domain,
    content: m.content,
    media: m.media,
    signals: { images, distinct_images: m.media.length, remote_images: m.remoteImages.length, omitted_images: m.omittedImages.length, text_chars: textChars },
    meta: { format: source.format, ...doc.meta, ...(title ? { title } : {}), images: m.imageMeta, remote_images: m.remoteImages, omitted_images: m.omittedImages },
  });
  sink.keep({ ...ref, sample_id: sample.id }, { ...sample, tier: sample.difficulty.tier });
}

/** The process-wide downloader for this source's settings (`remoteImages: 'download'`), else null. */
function downloaderFor(source: InterleavedSourceConfig, ctx: StageContext): Downloader | null {
  return source.remoteImages === 'download' ? downloaderFromConfig(source.download ?? downloadSchema.parse({}), ctx) : null;
}
