/**
 * PDFs that hide JavaScript actions the ways real files do: in link annotations and outline items,
 * in compressed object streams (PDF 1.5), with `#xx`-escaped names, the code as a string, a hex
 * string or a stream. Generated from a seed so a test can try many members of the class.
 */
import { deflateSync } from 'node:zlib';

export type ScriptPlace = 'link' | 'outline';
export type Storage = 'plain' | 'object-stream';

export interface ScriptedPdfSpec {
  place: ScriptPlace;
  storage: Storage;
  /** Escape characters of the names /JavaScript and /JS as `#xx`. */
  escapeNames: boolean;
  code: 'string' | 'hex' | 'stream';
}

/** Every combination of place, storage, name spelling and code form. */
export function allScriptedSpecs(): ScriptedPdfSpec[] {
  const specs: ScriptedPdfSpec[] = [];
  for (const place of ['link', 'outline'] as const)
    for (const storage of ['plain', 'object-stream'] as const)
      for (const escapeNames of [false, true])
        for (const code of ['string', 'hex', 'stream'] as const) specs.push({ place, storage, escapeNames, code });
  return specs;
}

/** `JavaScript` → `J#61vaScript`-like spellings: a seeded choice of characters written as `#xx`. */
function escapeName(name: string, seed: number): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const hit = ((seed >> i % 16) & 1) === 1 || i === seed % name.length;
    out += hit ? `#${name.charCodeAt(i).toString(16).padStart(2, '0').toUpperCase()}` : name[i];
  }
  return out;
}

/**
 * One page with visible text; the JavaScript action is attached as `spec.place` says. The action
 * dictionary (and, for `object-stream`, every non-stream object but the catalog) is stored as `spec.storage` says.
 */
export function scriptedPdf(spec: ScriptedPdfSpec, seed = 1): Buffer {
  const js = spec.escapeNames ? escapeName('JavaScript', seed) : 'JavaScript';
  const jsKey = spec.escapeNames ? escapeName('JS', seed + 1) : 'JS';
  const source = "app.alert('hi');";
  const codeValue = spec.code === 'string' ? `(${source.replace(/([()\\])/g, '\\$1')})` : spec.code === 'hex' ? `<${Buffer.from(source).toString('hex')}>` : '8 0 R';
  const action = `<< /Type /Action /S /${js} /${jsKey} ${codeValue} >>`;
  const content = 'BT /F1 14 Tf 20 50 Td (A page with a scripted action) Tj ET';
  const objects: Record<number, string> = {
    1: `<< /Type /Catalog /Pages 2 0 R${spec.place === 'outline' ? ' /Outlines 6 0 R' : ''} >>`,
    2: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    3: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >>${spec.place === 'link' ? ' /Annots [7 0 R]' : ''} >>`,
    5: '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    6: spec.place === 'outline' ? '<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>' : '<< >>',
    7:
      spec.place === 'link'
        ? `<< /Type /Annot /Subtype /Link /Rect [20 40 300 70] /Border [0 0 0] /A ${action} >>`
        : `<< /Title (Chapter 1) /Parent 6 0 R /A ${action} >>`,
  };
  const streams: Record<number, Buffer> = { 4: Buffer.from(content, 'latin1') };
  if (spec.code === 'stream') streams[8] = Buffer.from(source, 'latin1');
  return spec.storage === 'plain' ? classicPdf(objects, streams) : objectStreamPdf(objects, streams);
}

/** A benign PDF that uses the same words innocently: a font resource named /JS, a URI link. */
export function innocentPdf(): Buffer {
  const content = 'BT /JS 14 Tf 20 50 Td (JavaScript is a language) Tj ET';
  return classicPdf(
    {
      1: '<< /Type /Catalog /Pages 2 0 R >>',
      2: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      3: '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 100] /Contents 4 0 R /Resources << /Font << /JS 5 0 R >> >> /Annots [6 0 R] >>',
      5: '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
      6: '<< /Type /Annot /Subtype /Link /Rect [20 40 300 70] /A << /S /URI /URI (https://example.org/JavaScript) >> >>',
    },
    { 4: Buffer.from(content, 'latin1') },
  );
}

function streamObject(data: Buffer, compress: boolean): Buffer {
  const body = compress ? deflateSync(data) : data;
  return Buffer.concat([Buffer.from(`<< /Length ${body.length}${compress ? ' /Filter /FlateDecode' : ''} >>\nstream\n`, 'latin1'), body, Buffer.from('\nendstream', 'latin1')]);
}

function classicPdf(objects: Record<number, string>, streams: Record<number, Buffer>): Buffer {
  const numbers = [...Object.keys(objects), ...Object.keys(streams)].map(Number).sort((a, b) => a - b);
  const size = Math.max(...numbers) + 1;
  const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n', 'latin1')];
  let offset = chunks[0]!.length;
  const offsets = new Map<number, number>();
  for (const n of numbers) {
    const body = streams[n] ? streamObject(streams[n], true) : Buffer.from(objects[n] as string, 'latin1');
    const chunk = Buffer.concat([Buffer.from(`${n} 0 obj\n`, 'latin1'), body, Buffer.from('\nendobj\n', 'latin1')]);
    offsets.set(n, offset);
    chunks.push(chunk);
    offset += chunk.length;
  }
  let xref = `xref\n0 ${size}\n0000000000 65535 f \n`;
  for (let n = 1; n < size; n++) xref += offsets.has(n) ? `${String(offsets.get(n)).padStart(10, '0')} 00000 n \n` : '0000000000 65535 f \n';
  xref += `trailer\n<< /Size ${size} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`;
  return Buffer.concat([...chunks, Buffer.from(xref, 'latin1')]);
}

/** PDF 1.5: the non-stream objects but the catalog packed into one compressed object stream, with an xref stream. */
function objectStreamPdf(objects: Record<number, string>, streams: Record<number, Buffer>): Buffer {
  const packed = Object.keys(objects).map(Number).filter((n) => n !== 1);
  const all = [...Object.keys(objects), ...Object.keys(streams)].map(Number);
  const objStm = Math.max(...all) + 1;
  const xrefNo = objStm + 1;
  const size = xrefNo + 1;
  let header = '';
  let body = '';
  for (const n of packed) {
    header += `${n} ${body.length} `;
    body += `${objects[n]}\n`;
  }
  const packedData = deflateSync(Buffer.from(header + body, 'latin1'));
  const objStmBody = Buffer.concat([
    Buffer.from(`<< /Type /ObjStm /N ${packed.length} /First ${header.length} /Length ${packedData.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'),
    packedData,
    Buffer.from('\nendstream', 'latin1'),
  ]);
  const chunks: Buffer[] = [Buffer.from('%PDF-1.5\n', 'latin1')];
  let offset = chunks[0]!.length;
  const entries = new Map<number, [number, number, number]>();
  const direct: Array<[number, Buffer]> = [[1, Buffer.from(objects[1] as string, 'latin1')], ...Object.entries(streams).map(([n, d]) => [Number(n), streamObject(d, true)] as [number, Buffer]), [objStm, objStmBody]];
  for (const [n, b] of direct) {
    const chunk = Buffer.concat([Buffer.from(`${n} 0 obj\n`, 'latin1'), b, Buffer.from('\nendobj\n', 'latin1')]);
    entries.set(n, [1, offset, 0]);
    chunks.push(chunk);
    offset += chunk.length;
  }
  packed.forEach((n, i) => entries.set(n, [2, objStm, i]));
  entries.set(xrefNo, [1, offset, 0]);
  const rows = Buffer.alloc(size * 7);
  for (let n = 0; n < size; n++) {
    const [type, field2, field3] = entries.get(n) ?? [0, 0, n === 0 ? 65535 : 0];
    rows.writeUInt8(type, n * 7);
    rows.writeUInt32BE(field2, n * 7 + 1);
    rows.writeUInt16BE(field3, n * 7 + 5);
  }
  const xref = Buffer.concat([
    Buffer.from(`${xrefNo} 0 obj\n<< /Type /XRef /Size ${size} /W [1 4 2] /Root 1 0 R /Length ${rows.length} >>\nstream\n`, 'latin1'),
    rows,
    Buffer.from(`\nendstream\nendobj\nstartxref\n${offset}\n%%EOF\n`, 'latin1'),
  ]);
  return Buffer.concat([...chunks, xref]);
}

export type TextPaint = 'black' | 'colour' | 'invisible' | 'white-on-white' | 'covered' | 'clipped-out';
export const HIDDEN_PAINTS: TextPaint[] = ['invisible', 'white-on-white', 'covered', 'clipped-out'];
export const SHOWN_PAINTS: TextPaint[] = ['black', 'colour'];

/**
 * A born-digital page whose text layer holds `lines`, painted as `paint` says: shown (black or a
 * seeded colour), or hidden from the picture in the ways PDFs hide text (render mode 3, white on
 * white, painted over, clipped away), so the text layer no longer describes the rendered image.
 */
export function paintedTextPdf(lines: string[], paint: TextPaint, seed = 1): Buffer {
  const height = 60 + lines.length * 24;
  const colour = paint === 'colour' ? `${((seed * 37) % 60) / 100} ${((seed * 53) % 50) / 100} ${((seed * 71) % 70) / 100} rg` : paint === 'white-on-white' ? '1 1 1 rg' : '0 0 0 rg';
  const text = lines.map((l, i) => `BT /F1 14 Tf 20 ${height - 30 - i * 24} Td (${l.replace(/([()\\])/g, '\\$1')}) Tj ET`).join('\n');
  const content = [
    '1 1 1 rg 0 0 500 ' + height + ' re f',
    paint === 'clipped-out' ? 'q 0 0 1 1 re W n' : 'q',
    paint === 'invisible' ? '3 Tr' : '',
    colour,
    text,
    'Q',
    paint === 'covered' ? `1 1 1 rg 0 0 500 ${height} re f` : '',
  ].join('\n');
  return classicPdf(
    {
      1: '<< /Type /Catalog /Pages 2 0 R >>',
      2: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      3: `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 500 ${height}] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>`,
      5: '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    },
    { 4: Buffer.from(content, 'latin1') },
  );
}
