import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Tesseract from 'tesseract.js';
import { currentIngestResources } from '../resources.js';
import type { OcrLine } from './ocr-sample.js';

export interface TesseractOptions {
  languages: string[];
  /** Folder holding `<lang>.traineddata.gz`. */
  langPath: string;
  workers: number;
}

export interface TesseractReading {
  text: string;
  lines: OcrLine[];
  /** Mean word confidence, 0–100. */
  confidence: number;
}

/** The English LSTM model shipped in @tesseract.js-data/eng (gzip), so nothing is downloaded. */
export const DEFAULT_LANG_PATH = join(dirname(createRequire(import.meta.url).resolve('@tesseract.js-data/eng/package.json')), '4.0.0');

/** Workers are ended after this long without work, so a finished run exits without waiting on them. */
const IDLE_MS = 2000;

/**
 * A few tesseract.js workers behind a scheduler, created on first use, shared by every unit in the
 * process and ended when idle. Workers read traineddata from a local folder (`cacheMethod: 'none'`):
 * no network, no cache files.
 */
export class TesseractPool {
  private scheduler: Promise<Tesseract.Scheduler> | null = null;
  private inFlight = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(readonly options: TesseractOptions) {}

  async recognize(image: Buffer): Promise<TesseractReading> {
    this.inFlight++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    try {
      const scheduler = await (this.scheduler ??= this.start());
      const { data } = await scheduler.addJob('recognize', image, {}, { text: true, blocks: true });
      return toReading(data);
    } finally {
      if (--this.inFlight === 0) {
        this.idleTimer = setTimeout(() => void this.close(), IDLE_MS);
        this.idleTimer.unref();
      }
    }
  }

  async close(): Promise<void> {
    const scheduler = this.scheduler;
    this.scheduler = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (scheduler) await (await scheduler.catch(() => null))?.terminate();
  }

  private async start(): Promise<Tesseract.Scheduler> {
    const { default: tesseract } = await import('tesseract.js');
    const scheduler = tesseract.createScheduler();
    try {
      for (let i = 0; i < this.options.workers; i++) {
        const worker = await tesseract.createWorker(this.options.languages, tesseract.OEM.LSTM_ONLY, {
          langPath: this.options.langPath,
          cacheMethod: 'none',
          gzip: true,
        });
        // The library API defaults to one uniform block of text (PSM 6), which runs the columns of a
        // page together; the CLI's automatic page segmentation (PSM 3) reads layouts.
        await worker.setParameters({ tessedit_pageseg_mode: tesseract.PSM.AUTO });
        scheduler.addWorker(worker);
      }
    } catch (err) {
      await scheduler.terminate();
      throw new Error(`tesseract.js could not start with languages ${this.options.languages.join('+')} from ${this.options.langPath}: ${(err as Error).message ?? String(err)}`);
    }
    return scheduler;
  }
}

function toReading(data: Tesseract.Page): TesseractReading {
  const lines: OcrLine[] = [];
  const confidences: number[] = [];
  for (const block of data.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const text = line.text.trim();
        if (!text) continue;
        lines.push({ text, box: { x1: line.bbox.x0, y1: line.bbox.y0, x2: line.bbox.x1, y2: line.bbox.y1 } });
        for (const word of line.words) if (word.text.trim()) confidences.push(word.confidence);
      }
    }
  }
  const confidence = confidences.length ? confidences.reduce((a, b) => a + b, 0) / confidences.length : 0;
  return { text: data.text.replace(/\n{3,}/g, '\n\n').trim(), lines, confidence };
}

const pools = new Map<string, TesseractPool>();

/** The pool for these options: the ingest worker's (released at its teardown), or a process-wide one outside a run. */
export function tesseractPool(options: TesseractOptions): TesseractPool {
  const key = JSON.stringify(options);
  const worker = currentIngestResources();
  if (worker) return worker.get(`tesseract:${key}`, () => new TesseractPool(options), (p) => p.close());
  let pool = pools.get(key);
  if (!pool) pools.set(key, (pool = new TesseractPool(options)));
  return pool;
}

export async function closeTesseractPools(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close()));
  pools.clear();
}
