/**
 * Splits ffmpeg's `image2pipe` output (JPEG or PNG images back to back) into one buffer per image,
 * by the formats' own framing: PNG chunk lengths up to IEND; JPEG marker segments up to EOI, with
 * the entropy-coded data after SOS scanned for the next real marker. No temp files.
 */
export class ImageStreamSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  /** Where scanning resumes inside `buffer` (everything before it belongs to the current image). */
  private cursor = 0;
  private inScan = false;

  constructor(private readonly format: 'jpeg' | 'png') {}

  /** Feeds bytes; returns the images completed by them. */
  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const images: Buffer[] = [];
    for (;;) {
      const end = this.format === 'png' ? this.pngEnd() : this.jpegEnd();
      if (end === null) break;
      images.push(Buffer.from(this.buffer.subarray(0, end)));
      this.buffer = this.buffer.subarray(end);
      this.cursor = 0;
      this.inScan = false;
    }
    return images;
  }

  /** Bytes of an incomplete image left at the end of the stream (a killed or broken encoder). */
  get leftover(): number {
    return this.buffer.length;
  }

  private pngEnd(): number | null {
    const b = this.buffer;
    if (this.cursor === 0) {
      if (b.length < 8) return null;
      if (b.readUInt32BE(0) !== 0x89504e47) throw new Error('image stream: not a PNG signature');
      this.cursor = 8;
    }
    while (this.cursor + 8 <= b.length) {
      const length = b.readUInt32BE(this.cursor);
      const type = b.toString('latin1', this.cursor + 4, this.cursor + 8);
      const next = this.cursor + 12 + length;
      if (next > b.length) return null;
      this.cursor = next;
      if (type === 'IEND') return next;
    }
    return null;
  }

  private jpegEnd(): number | null {
    const b = this.buffer;
    if (this.cursor === 0) {
      if (b.length < 2) return null;
      if (b[0] !== 0xff || b[1] !== 0xd8) throw new Error('image stream: not a JPEG start-of-image marker');
      this.cursor = 2;
    }
    for (;;) {
      if (this.inScan) {
        // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or RST0–7 unless a marker starts.
        let i = this.cursor;
        while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0x00 && !((b[i + 1] as number) >= 0xd0 && (b[i + 1] as number) <= 0xd7))) i++;
        if (i + 1 >= b.length) {
          this.cursor = i;
          return null;
        }
        this.cursor = i;
        this.inScan = false;
      }
      if (this.cursor + 2 > b.length) return null;
      if (b[this.cursor] !== 0xff) throw new Error(`image stream: JPEG marker expected at byte ${this.cursor}`);
      const marker = b[this.cursor + 1] as number;
      if (marker === 0xff) {
        this.cursor++; // fill byte
        continue;
      }
      if (marker === 0xd9) return this.cursor + 2;
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        this.cursor += 2;
        continue;
      }
      if (this.cursor + 4 > b.length) return null;
      const next = this.cursor + 2 + b.readUInt16BE(this.cursor + 2);
      if (next > b.length) return null;
      this.cursor = next;
      if (marker === 0xda) this.inScan = true;
    }
  }
}
