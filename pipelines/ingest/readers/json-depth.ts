import { createReadStream } from 'node:fs';

/**
 * Deeper JSON nesting than any real record has. Parsers and the code that walks parsed values
 * recurse per level, so `[[[[…]]]]` 100,000 deep overflows the stack or stalls DuckDB's reader.
 */
export const MAX_JSON_DEPTH = 512;

/** Tracks `[`/`{` nesting outside strings across chunks; `exceeded` once the depth passes `limit`. */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  maxDepth = 0;

  constructor(private readonly limit = MAX_JSON_DEPTH) {}

  get exceeded(): boolean {
    return this.maxDepth > this.limit;
  }

  /** Feeds bytes (or a string's UTF-16 units: the structural characters are ASCII either way). */
  feed(chunk: Uint8Array | string): this {
    const text = typeof chunk === 'string';
    for (let i = 0; i < chunk.length && !this.exceeded; i++) {
      const c = text ? (chunk as string).charCodeAt(i) : ((chunk as Uint8Array)[i] as number);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++this.depth > this.maxDepth) this.maxDepth = this.depth;
      } else if (c === 0x5d || c === 0x7d) this.depth = Math.max(0, this.depth - 1);
    }
    return this;
  }
}

/** Whether a JSON file nests deeper than `limit`, read as a stream (stops at the first level past it). */
export async function jsonFileTooDeep(file: string, limit = MAX_JSON_DEPTH): Promise<boolean> {
  const scanner = new JsonDepthScanner(limit);
  const stream = createReadStream(file);
  try {
    for await (const chunk of stream) if (scanner.feed(chunk as Buffer).exceeded) return true;
  } finally {
    stream.destroy();
  }
  return false;
}
