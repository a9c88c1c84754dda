/**
 * Reads ffmpeg's stderr as run with `-loglevel repeat+level+verbose -nostats`: every line carries
 * its level, so decoder and demuxer errors can be counted apart from the chatter, and `showinfo`
 * reports each output frame's presentation timestamp.
 */
export class FfmpegLog {
  errors = 0;
  /** `N frames decoded` from ffmpeg's closing summary (verbose level). */
  framesDecoded: number | null = null;
  readonly frameInfos: ShowinfoFrame[] = [];
  private readonly tail: string[] = [];

  constructor(private readonly tailLines = 20) {}

  line(line: string): void {
    const info = SHOWINFO.exec(line);
    if (info) {
      this.frameInfos.push({ n: Number(info[1]), ptsTime: Number(info[2]), key: / iskey:1/.test(line) });
      return;
    }
    const level = LEVEL.exec(line)?.[1];
    if (level === 'error' || level === 'fatal' || level === 'panic') this.errors++;
    const decoded = FRAMES_DECODED.exec(line);
    if (decoded) this.framesDecoded = (this.framesDecoded ?? 0) + Number(decoded[1]);
    if ((level === 'error' || level === 'fatal' || level === 'panic' || level === 'warning' || level === undefined) && !NOISE.test(line)) {
      this.tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
      if (this.tail.length > this.tailLines) this.tail.shift();
    }
  }

  /** The last warning/error lines, as ffmpeg wrote them. */
  stderrTail(): string {
    return this.tail.join('\n');
  }
}

export interface ShowinfoFrame {
  n: number;
  /** Seconds from the start of the clip; NaN when the frame had no timestamp. */
  ptsTime: number;
  key: boolean;
}

const SHOWINFO = /Parsed_showinfo_\d+ @ [^\]]*\] (?:\[info\] )?n:\s*(\d+)\s+pts:\s*\S+\s+pts_time:(\S+)/;
const LEVEL = /\[(panic|fatal|error|warning|info|verbose|debug|trace)\] /;
/** swscale's note about the full-range JPEG pixel format we ask for on purpose. */
const NOISE = /deprecated pixel format used/;
const FRAMES_DECODED = /Input stream #\d+:\d+ \(video\): \d+ packets read \(\d+ bytes\); (\d+) frames decoded/;
