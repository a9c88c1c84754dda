import { RecordError } from '../record-error.js';

export interface DecodedHtml {
  text: string;
  /** The encoding the text was decoded with. */
  encoding: string;
  /** How it was chosen: a BOM or `<meta charset>`, valid UTF-8, or the windows-1252 fallback browsers use. */
  encodingSource: 'bom' | 'declared' | 'utf-8' | 'fallback';
}

/**
 * HTML bytes → text. Binary data (NUL bytes, or control characters in more than 1 in 20 of the
 * first 8 KiB) is refused as `not_html`; otherwise the encoding is the BOM's, else the declared
 * `<meta charset>`, else UTF-8 when the bytes are valid UTF-8, else windows-1252 (what browsers
 * fall back to), flagged as `fallback` so such pages can be found and checked.
 */
export function decodeHtml(bytes: Buffer): DecodedHtml {
  const head = bytes.subarray(0, 8192);
  let controls = 0;
  for (const b of head) {
    if (b === 0) throw new RecordError('not_html', 'the file holds NUL bytes: binary data, not an HTML page');
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) controls++;
  }
  if (head.length && controls / head.length > 0.05) throw new RecordError('not_html', `${controls} control characters in the first ${head.length} bytes: binary data, not an HTML page`);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'utf-8', encodingSource: 'bom' };
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    const encoding = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
    return { text: new TextDecoder(encoding).decode(bytes), encoding, encodingSource: 'bom' };
  }
  const declared = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(bytes.subarray(0, 4096).toString('latin1'))?.[1]?.toLowerCase();
  if (declared && declared !== 'utf-8' && declared !== 'utf8') {
    try {
      return { text: new TextDecoder(declared).decode(bytes), encoding: declared, encodingSource: 'declared' };
    } catch {
      // an encoding TextDecoder does not know: fall through to UTF-8 / windows-1252
    }
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8', encodingSource: declared ? 'declared' : 'utf-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'windows-1252', encodingSource: 'fallback' };
  }
}
