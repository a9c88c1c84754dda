import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const FLUSH_BYTES = 4 * 1024 * 1024;

/**
 * Rows on their way to a Parquet file, staged as newline-delimited JSON on disk in 4 MiB appends,
 * so a unit's output never has to fit in memory (export rows carry whole images).
 */
export class StagedRows {
  private buffer: string[] = [];
  private bytes = 0;
  count = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  add(row: object): void {
    const line = JSON.stringify(row) + '\n';
    this.buffer.push(line);
    this.bytes += line.length;
    this.count++;
    if (this.bytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (!this.buffer.length) return;
    appendFileSync(this.path, this.buffer.join(''));
    this.buffer = [];
    this.bytes = 0;
  }
}
