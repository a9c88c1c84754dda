import { createReadStream } from 'node:fs';
import { MAX_JSON_DEPTH } from './json-depth.js';

/** Where a JSON file's records live: the elements of a top-level array, or the values of a top-level object keyed by id. */
export type JsonContainer = 'array' | 'object';

/** One element of the top-level container, as bytes (not yet decoded or parsed). */
export interface JsonElement {
  /** 0-based position in the container. */
  index: number;
  /** Byte offset where the element (for an object, its key) starts. */
  byte: number;
  /** 1-based line of that byte. */
  line: number;
  /** An object member's key token, quotes included. */
  key?: Buffer;
  value: Buffer;
}

/** Where to start reading: the opening of the container (index 0), or any element's start recorded by an earlier pass. */
export interface JsonStart {
  container: JsonContainer;
  index: number;
  byte: number;
  line: number;
}

/** The file is not one well-formed top-level array or object of elements; the caller reads it whole to say why. */
export class NotSplittable extends Error {}

const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;

const enum State {
  /** Before the top-level value (BOM and white space skipped). */
  Top,
  /** Inside the container, where an element (or, right after the opening, the closing) comes next. */
  BeforeElement,
  /** Inside an object member's key string. */
  Key,
  /** After a key, before its `:`. */
  BeforeColon,
  /** After the `:`, before the value. */
  BeforeValue,
  /** Inside an element's value. */
  Value,
  /** After the container closed: only white space may follow. */
  After,
}

/**
 * The elements of a JSON file's top-level array, or the members of its top-level object, read as a
 * stream: memory holds one element, never the file, and a reader can start at any element's byte
 * offset. A scanner over bytes (strings and escapes tracked, nesting counted, no recursion) finds
 * where each element ends; it checks the structure between elements (commas, colons, the closing
 * bracket, nothing after it) and throws NotSplittable where that is wrong. It does not check the
 * elements themselves: callers parse them.
 */
export async function* jsonElements(
  file: string,
  { from, onChunk, onContainer }: { from?: JsonStart; onChunk?: (chunk: Buffer) => void; onContainer?: (container: JsonContainer) => void } = {},
): AsyncGenerator<JsonElement> {
  let state = from ? State.BeforeElement : State.Top;
  let container: JsonContainer = from?.container ?? 'array';
  /** The byte that closes the container: `]` or `}`. */
  let closing = container === 'array' ? 0x5d : 0x7d;
  let index = from?.index ?? 0;
  let offset = from?.byte ?? 0;
  let line = from?.line ?? 1;
  /** Elements so far, or the element right after a comma: the closing bracket is then not allowed. */
  let afterComma = !!from && from.index > 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let elementByte = 0;
  let elementLine = 0;
  let keyParts: Buffer[] = [];
  let valueParts: Buffer[] = [];
  let key: Buffer | undefined;
  let partFrom = 0;
  let first = true;

  for await (const raw of createReadStream(file, { start: offset, highWaterMark: 1 << 20 })) {
    const buf = raw as Buffer;
    onChunk?.(buf);
    let i = 0;
    if (first && offset === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
    first = false;
    partFrom = state === State.Key || state === State.Value ? 0 : -1;
    const pending: JsonElement[] = [];
    for (; i < buf.length; i++) {
      const c = buf[i] as number;
      if (c === 0x0a) line++;
      switch (state) {
        case State.Top:
          if (WS[c]) continue;
          if (c === 0x5b) container = 'array';
          else if (c === 0x7b) container = 'object';
          else throw new NotSplittable('the top level is not an array or an object');
          closing = container === 'array' ? 0x5d : 0x7d;
          onContainer?.(container);
          state = State.BeforeElement;
          continue;
        case State.BeforeElement:
          if (WS[c]) continue;
          if (c === closing && index === 0 && !afterComma) {
            state = State.After;
            continue;
          }
          elementByte = offset + i;
          elementLine = line;
          if (container === 'object') {
            if (c !== 0x22) throw new NotSplittable(`expected a key at byte ${offset + i}`);
            state = State.Key;
            partFrom = i;
            escaped = false;
            continue;
          }
          state = State.Value;
          partFrom = i;
          depth = 0;
          inString = false;
          escaped = false;
          i--; // the value's first byte is scanned as part of the value (it is not white space, so no line is counted twice)
          continue;
        case State.Key:
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) {
            keyParts.push(buf.subarray(partFrom, i + 1));
            key = Buffer.concat(keyParts);
            keyParts = [];
            partFrom = -1;
            state = State.BeforeColon;
          }
          continue;
        case State.BeforeColon:
          if (WS[c]) continue;
          if (c !== 0x3a) throw new NotSplittable(`expected ':' at byte ${offset + i}`);
          state = State.BeforeValue;
          continue;
        case State.BeforeValue:
          if (WS[c]) continue;
          state = State.Value;
          partFrom = i;
          depth = 0;
          inString = false;
          escaped = false;
          i--;
          continue;
        case State.Value:
          if (inString) {
            if (escaped) escaped = false;
            else if (c === 0x5c) escaped = true;
            else if (c === 0x22) inString = false;
            continue;
          }
          if (c === 0x22) inString = true;
          else if (c === 0x5b || c === 0x7b) {
            // the container is one level: an element may nest one less than a whole file
            if (++depth > MAX_JSON_DEPTH - 1) throw new NotSplittable(`nested more than ${MAX_JSON_DEPTH} levels deep`);
          } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
          else if (depth === 0 && (c === 0x2c || c === closing)) {
            valueParts.push(buf.subarray(partFrom, i));
            const value = Buffer.concat(valueParts);
            valueParts = [];
            partFrom = -1;
            pending.push({ index: index++, byte: elementByte, line: elementLine, ...(key ? { key } : {}), value });
            key = undefined;
            afterComma = c === 0x2c;
            state = c === 0x2c ? State.BeforeElement : State.After;
          } else if (c === 0x5d || c === 0x7d) throw new NotSplittable(`unbalanced '${String.fromCharCode(c)}' at byte ${offset + i}`);
          continue;
        case State.After:
          if (!WS[c]) throw new NotSplittable(`more after the top-level value, at byte ${offset + i}`);
          continue;
      }
    }
    if (partFrom >= 0) (state === State.Key ? keyParts : valueParts).push(Buffer.from(buf.subarray(partFrom)));
    offset += buf.length;
    yield* pending;
  }
  if (state !== State.After) throw new NotSplittable('the file ends inside the top-level value');
}
