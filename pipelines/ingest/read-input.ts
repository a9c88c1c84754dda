import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { RecordError } from './record-error.js';

/** What a non-regular file is, for messages: `a directory`, `a FIFO`, `a character device`, ... */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Reads an input file named by a record or a source, refusing what cannot be one: a missing or
 * unreadable path (`missingReason`), a directory, FIFO, device or socket (`not_a_file`: opened
 * without blocking and never read, so `/dev/zero` or a pipe with no writer cannot hang or flood the
 * run), or more than `maxBytes` (`tooLargeReason`; counted while reading, so a file that grows
 * after its size was checked is still cut off).
 */
export async function readInputFile(path: string, maxBytes: number, reasons: { missing: string; tooLarge: string }): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new RecordError(reasons.missing, `file not found: ${path}`);
    if (code === 'EISDIR') throw new RecordError('not_a_file', `${path} is a directory, not a file`);
    throw new RecordError('unreadable_file', `${path} cannot be opened: ${(err as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new RecordError('not_a_file', `${path} is ${fileKind(stats)}, not a regular file; it was not read`);
    if (stats.size > maxBytes) throw new RecordError(reasons.tooLarge, `${path} is ${stats.size} bytes (limit ${maxBytes})`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stats.size - total, 64 * 1024), maxBytes + 1 - total, 16 * 1024 * 1024));
      if (chunk.length === 0) throw new RecordError(reasons.tooLarge, `${path} grew past ${maxBytes} bytes while it was read`);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new RecordError(reasons.tooLarge, `${path} grew past ${maxBytes} bytes while it was read`);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof RecordError) throw err;
    throw new RecordError('unreadable_file', `${path} cannot be read: ${(err as Error).message}`);
  } finally {
    await handle.close();
  }
}
