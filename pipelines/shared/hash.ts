import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of a JSON value with object keys sorted, so equal values hash equally whatever the key order. */
export function stableHash(value: unknown): string {
  return sha256Hex(stableStringify(value));
}

export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** sha256 of a file, or of its first `maxBytes` bytes (a file still being written then hashes in bounded time). */
export async function sha256File(path: string, maxBytes = Number.POSITIVE_INFINITY): Promise<string> {
  const hash = createHash('sha256');
  const range = maxBytes === Number.POSITIVE_INFINITY ? {} : { end: maxBytes - 1 };
  for await (const chunk of createReadStream(path, range)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
