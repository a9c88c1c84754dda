import { createReadStream } from 'node:fs';
import { RecordError } from '../record-error.js';

export interface ArrayItem {
  /** The top-level key whose array holds the item (`images`, `annotations`, ...). */
  key: string;
  index: number;
  /** The item's JSON text (an object or an array). */
  text: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MAX_KEY_BYTES = 256;

/**
 * Streams the object/array items of the named top-level arrays of one big JSON object (a COCO
 * annotation file is `{"images": [...], "annotations": [...], ...}`, 450 MB for train2017), so
 * memory holds one item at a time instead of the whole document. Items of other keys are skipped
 * without being decoded. `onChunk` sees every byte read (e.g. to hash the file in the same pass).
 * Throws `RecordError('malformed_json')` when the structure is broken (truncated file, not an object).
 */
export async function* topLevelArrayItems(
  file: string,
  wanted: ReadonlySet<string>,
  onChunk?: (chunk: Buffer) => void,
  chunkBytes = 1 << 20,
): AsyncGenerator<ArrayItem> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let sawRoot = false;
  let keyBytes: number[] | null = null;
  let lastDepth1String: string | null = null;
  let pendingKey: string | null = null;
  let arrayKey: string | null = null;
  let index = 0;
  let capture: Buffer[] | null = null;
  let captureStart = 0;
  let offset = 0;
  /** A number, true, false or null item being read (strings are items too: see QUOTE). */
  let scalar: number[] | null = null;

  for await (const raw of createReadStream(file, { highWaterMark: chunkBytes })) {
    const chunk = raw as Buffer;
    onChunk?.(chunk);
    if (capture) captureStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (keyBytes) {
            lastDepth1String = Buffer.from(keyBytes).toString('utf8');
            keyBytes = null;
          }
        } else if (keyBytes && keyBytes.length < MAX_KEY_BYTES) keyBytes.push(b);
        continue;
      }
      if (scalar) {
        if (b === COMMA || b === CLOSE_ARRAY || b === CLOSE_OBJECT || b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) {
          yield { key: arrayKey as string, index: index++, text: Buffer.from(scalar).toString('utf8') };
          scalar = null;
        } else {
          if (scalar.length < MAX_KEY_BYTES) scalar.push(b);
          continue;
        }
      }
      switch (b) {
        case QUOTE:
          inString = true;
          if (depth === 1) keyBytes = [];
          // A string where an item should be: an item (not an object), so it is counted and refused, not skipped.
          else if (depth === 2 && arrayKey !== null && !capture) yield { key: arrayKey, index: index++, text: '"(a string)"' };
          break;
        case COLON:
          if (depth === 1) pendingKey = lastDepth1String;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          if (depth === 0) {
            if (b !== OPEN_OBJECT) throw new RecordError('malformed_json', `${file}: the top level is not a JSON object`);
            sawRoot = true;
          } else if (depth === 1 && b === OPEN_ARRAY && pendingKey !== null && wanted.has(pendingKey)) {
            arrayKey = pendingKey;
            index = 0;
          } else if (depth === 2 && arrayKey !== null) {
            capture = [];
            captureStart = i;
          }
          if (depth === 1) pendingKey = null;
          depth++;
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          depth--;
          if (depth < 0) throw new RecordError('malformed_json', `${file}: unbalanced brackets at byte ${offset + i}`);
          if (depth === 2 && capture) {
            capture.push(chunk.subarray(captureStart, i + 1));
            yield { key: arrayKey as string, index: index++, text: Buffer.concat(capture).toString('utf8') };
            capture = null;
          } else if (depth === 1) arrayKey = null;
          break;
        default:
          if (depth === 2 && arrayKey !== null && !capture && b !== COMMA && b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) scalar = [b];
      }
    }
    if (capture) capture.push(Buffer.from(chunk.subarray(captureStart)));
    offset += chunk.length;
  }
  if (!sawRoot || depth !== 0 || inString) {
    throw new RecordError('malformed_json', `${file}: the JSON ends early (truncated after ${offset} bytes?)`);
  }
}
