import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import { log } from '../log.js';

export interface Progress {
  add(items: number): void;
  growTotal(items: number): void;
  stop(): void;
}

/** A progress bar with items/s and ETA on a terminal; a structured log line every 10 s otherwise. */
export function createProgress(label: string, total: number): Progress {
  if (process.stderr.isTTY && !process.env.CI && !process.env.VITEST) {
    // Required here, on a terminal only: a cron run never loads it.
    const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} items | {rate} items/s | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    const start = Date.now();
    let done = 0;
    bar.start(total, 0, { rate: '0' });
    return {
      add(items) {
        done += items;
        bar.update(done, { rate: (done / Math.max(0.001, (Date.now() - start) / 1000)).toFixed(0) });
      },
      growTotal(items) {
        bar.setTotal(bar.getTotal() + items);
      },
      stop: () => bar.stop(),
    };
  }
  const start = Date.now();
  let done = 0;
  let lastLog = start;
  let grandTotal = total;
  return {
    add(items) {
      done += items;
      const now = Date.now();
      if (now - lastLog >= 10_000) {
        lastLog = now;
        log.info({ stage: label, done, total: grandTotal, itemsPerSec: Math.round(done / ((now - start) / 1000)) }, 'progress');
      }
    },
    growTotal(items) {
      grandTotal += items;
    },
    stop() {},
  };
}
