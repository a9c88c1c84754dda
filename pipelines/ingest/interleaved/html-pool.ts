import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessPool, WorkerCrashedError } from '../../shared/pool/process-pool.js';
import { RecordError } from '../record-error.js';
import { currentIngestResources } from '../resources.js';
import { extractHtml, HtmlBudgetError, type ExtractedPage } from './html-extract.js';

export interface HtmlTask {
  html: string;
  readability: boolean;
  maxDepth: number;
}

export type HtmlTaskResult = { ok: true; page: ExtractedPage } | { ok: false; reason: string; message: string };

/** The extraction itself, as a pool worker (or the in-process fallback) runs it. */
export function runHtmlTask(task: HtmlTask): HtmlTaskResult {
  try {
    return { ok: true, page: extractHtml(task.html, task.readability, task.maxDepth) };
  } catch (err) {
    if (err instanceof HtmlBudgetError) return { ok: false, reason: err.reason, message: err.message };
    return { ok: false, reason: 'html_parse_failed', message: `${(err as Error).message}; try readability: false` };
  }
}

const pools = new Map<number, ProcessPool<HtmlTask, HtmlTaskResult>>();

/**
 * Extracts a page within `timeBudgetMs`: Readability is synchronous and its time depends on the
 * markup, so it runs in a pool process that is killed when the budget is spent (`html_time_budget`).
 * `STRATUM_HTML_WORKERS=0` runs it in-process (no time budget, the depth budget still holds).
 */
export async function extractHtmlWithin(task: HtmlTask, timeBudgetMs: number): Promise<ExtractedPage> {
  const pool = htmlPool(timeBudgetMs);
  let result: HtmlTaskResult;
  if (!pool) result = runHtmlTask(task);
  else {
    try {
      result = await pool.run(task);
    } catch (err) {
      if (!(err instanceof WorkerCrashedError)) throw err;
      throw new RecordError('html_time_budget', `extracting the page took longer than ${timeBudgetMs} ms (htmlTimeBudgetMs) or crashed the parser, and was stopped: ${err.message.split('\n')[0]}`);
    }
  }
  if (!result.ok) throw new RecordError(result.reason, result.message);
  return result.page;
}

function htmlPool(timeBudgetMs: number): ProcessPool<HtmlTask, HtmlTaskResult> | null {
  const raw = process.env.STRATUM_HTML_WORKERS;
  const size = raw === undefined || raw === '' ? Math.min(4, availableParallelism()) : Number(raw);
  if (!Number.isInteger(size) || size < 0) throw new Error(`STRATUM_HTML_WORKERS must be a whole number ≥ 0, got ${raw}`);
  if (size === 0 || process.env.STRATUM_POOL_WORKER) return null;
  const create = (): ProcessPool<HtmlTask, HtmlTaskResult> =>
    new ProcessPool<HtmlTask, HtmlTaskResult>({
      name: 'html',
      workerModule: fileURLToPath(new URL(`./html-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)),
      size,
      taskTimeoutMs: timeBudgetMs,
    });
  // Inside an ingest unit: the worker's pool, closed at its teardown (pipelines/ingest/resources.ts).
  const worker = currentIngestResources();
  if (worker) return worker.get(`html:${size}:${timeBudgetMs}`, create, (p) => p.close());
  let pool = pools.get(timeBudgetMs);
  if (!pool) {
    pool = create();
    const created = pool;
    process.once('exit', () => created.destroy());
    pools.set(timeBudgetMs, pool);
  }
  return pool;
}

/** Lets the workers exit (tests and the end of a stage). */
export async function closeHtmlPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}
