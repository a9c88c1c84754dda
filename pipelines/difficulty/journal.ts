/**
 * The rollout journal: every paid-for response, written to disk the moment it arrives, so a rerun
 * (after a kill, an append to the source, a threshold change or a larger n) replays it instead of
 * paying for it again.
 *
 * Keyed by sample, not by work unit. Within a sample, the responses for one (endpoint, sampling
 * params, prompt) triple form a single ordered sequence of rollouts; each entry records the `offset`
 * in that sequence its choices start at. A run that needs m rollouts takes the first m of the
 * sequence and asks only for the shortfall, so a larger n tops up and a smaller n reuses a prefix.
 * n itself is not part of the key: rollouts of the same prompt and params are interchangeable.
 *
 * On disk:
 *
 *   <dir>/log/<time>-<pid>-<random>.jsonl   append-only segments, one per writer (journal instance),
 *                                            one line per request
 *   <dir>-index/<segment>.json              which sample's lines lie where in a segment's first `size`
 *                                            bytes: derived, rebuilt from the segment when missing or short
 *   <dir>/<2 chars>/<sample id>.jsonl       one file per sample, written by earlier versions: still read
 *
 * One open file per writer instead of one new file per sample: creating a file cost 0.4–0.7 ms of
 * kernel time per sample on a loaded machine, an append to an open descriptor a few microseconds.
 * An append is a synchronous write(2): when `append` returns the line is in the page cache, which
 * survives a SIGKILL of the process; fdatasync runs in batches (every `syncIntervalMs` and at close)
 * for power loss. Lookups go through an in-memory index built once per instance from the sidecars
 * (and a scan of whatever lies past them), so a sample with no rollouts costs a map miss, not a stat.
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { sha256Hex } from '../shared/hash.js';
import { faultPoint } from '../shared/runner/fault.js';
import type { CompletionResult, RolloutChoice } from './rollout-client.js';

export type JournalledChoice = Pick<RolloutChoice, 'index' | 'text' | 'finishReason'>;

/** One finished (paid-for) request. */
export interface JournalEntry {
  sample_id: string;
  endpoint: string;
  params_hash: string;
  /** Hash of the question as sent (text, image ids, choices): a sample id whose question changed starts afresh. Absent in migrated entries. */
  prompt_hash?: string;
  /** Position in the (sample, endpoint, params, prompt) sequence of this request's first choice. */
  offset: number;
  request_id: string;
  choices: JournalledChoice[];
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number;
}

/** One rollout of a sequence, with the request it came from. */
export interface JournalledRollout {
  choice: JournalledChoice;
  entry: JournalEntry;
}

export interface SequenceKey {
  sample_id: string;
  endpoint: string;
  params_hash: string;
  prompt_hash?: string;
}

/** The journal line for one paid-for response: the sequence it extends, its position there, and what came back. */
export function journalEntry(key: SequenceKey, offset: number, result: CompletionResult): JournalEntry {
  return {
    ...key,
    offset,
    request_id: randomUUID(),
    choices: result.choices.map(({ index, text, finishReason }) => ({ index, text, finishReason })),
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    latency_ms: result.latencyMs,
  };
}

export function sequenceKey(k: SequenceKey): string {
  return `${k.endpoint}\u0000${k.params_hash}\u0000${k.prompt_hash ?? ''}`;
}

/** The journalled sequence for a key; entries migrated from per-unit journals (no prompt hash) are trusted for the same params. */
export function sequenceFor(sequences: Map<string, JournalledRollout[]>, key: SequenceKey): JournalledRollout[] {
  return sequences.get(sequenceKey(key)) ?? sequences.get(sequenceKey({ ...key, prompt_hash: undefined })) ?? [];
}

/** File name for a sample id: the id itself when it is a safe name, else its hash. */
function fileStem(sampleId: string): string {
  return /^[A-Za-z0-9_-]{2,120}$/.test(sampleId) ? sampleId : `h${sha256Hex(sampleId).slice(0, 40)}`;
}

function parseEntry(line: string): JournalEntry | null {
  if (!line.trim()) return null;
  let entry: JournalEntry;
  try {
    entry = JSON.parse(line) as JournalEntry;
  } catch {
    return null; // a line cut short by a crash: its request is simply asked again
  }
  return Array.isArray(entry.choices) && Number.isInteger(entry.offset) ? entry : null;
}

/**
 * Builds the rollout sequences of one sample from its journal entries, in the order given. An entry
 * whose offset lies past the end of its sequence (should not happen) is ignored, and choices that
 * overlap what the sequence already holds (two writers raced) are not counted twice.
 */
export function sequencesOfEntries(entries: Iterable<JournalEntry>): Map<string, JournalledRollout[]> {
  const sequences = new Map<string, JournalledRollout[]>();
  for (const entry of entries) {
    const key = sequenceKey(entry);
    let seq = sequences.get(key);
    if (!seq) sequences.set(key, (seq = []));
    if (entry.offset > seq.length) continue;
    for (const choice of entry.choices.slice(seq.length - entry.offset)) seq.push({ choice, entry });
  }
  return sequences;
}

/** `sequencesOfEntries` over journal lines in file order; lines that do not parse are skipped. */
export function sequencesOf(lines: Iterable<string>): Map<string, JournalledRollout[]> {
  const entries: JournalEntry[] = [];
  for (const line of lines) {
    const entry = parseEntry(line);
    if (entry) entries.push(entry);
  }
  return sequencesOfEntries(entries);
}

export interface RolloutJournalOptions {
  /** Most time between an append and the fdatasync that covers it (a SIGKILL loses nothing either way). Default 200 ms. */
  syncIntervalMs?: number;
}

/** Sidecar format: sample ids and byte ranges of the lines in a segment's first `size` bytes. */
interface SegmentIndexFile {
  v: 1;
  size: number;
  ids: string[];
  pos: number[];
  len: number[];
}

const SEGMENT_NAME = /^\d{8}T\d{9}Z-\d+-[0-9a-f]{8}\.jsonl$/;
/** The id at the start of a line as `append` writes it; other layouts fall back to a full parse. */
const LINE_HEAD = /^\{"sample_id":("(?:[^"\\]|\\.)*")/;
/** Scanned past its sidecar by more than this, a foreign segment gets its sidecar rewritten, so the next run need not scan it again. */
const REINDEX_BYTES = 1 << 20;
const SCAN_CHUNK = 8 << 20;
const MAX_READ_FDS = 64;

/** Journal of one stage; see the file comment for the layout. */
export class RolloutJournal {
  /** Per-sample lock: two units holding the same sample id never ask for the same rollouts twice. */
  private readonly busy = new Map<string, Promise<void>>();
  private readonly logDir: string;
  private readonly indexDir: string;
  private readonly syncIntervalMs: number;

  // Writer: this instance's segment.
  private fd: number | null = null;
  private segment: string | null = null;
  private position = 0;
  private own: { ids: string[]; pos: number[]; len: number[] } = { ids: [], pos: [], len: [] };
  private syncTimer: NodeJS.Timeout | null = null;
  private dirty = false;
  private syncing: Promise<void> | null = null;
  /** This segment's number in `segments`, once the index exists. */
  private ownSeg = -1;

  // Reader: sample id → [segment, position, length] triples, built on first lookup.
  private index: Map<string, number[]> | null = null;
  private segments: string[] = [];
  private legacy = false;
  private readonly readFds = new Map<number, number>();

  constructor(
    readonly dir: string,
    options: RolloutJournalOptions = {},
  ) {
    this.logDir = join(dir, 'log');
    this.indexDir = `${dir}-index`;
    this.syncIntervalMs = options.syncIntervalMs ?? 200;
  }

  /** Where earlier versions kept a sample's lines (one file per sample); still read by `load`. */
  pathOf(sampleId: string): string {
    const stem = fileStem(sampleId);
    return join(this.dir, stem.slice(0, 2), `${stem}.jsonl`);
  }

  /** The segment this instance appends to (null before its first append). */
  get segmentPath(): string | null {
    return this.segment && join(this.logDir, this.segment);
  }

  /** All rollout sequences journalled for a sample, by `sequenceKey`. */
  async load(sampleId: string): Promise<Map<string, JournalledRollout[]>> {
    const refs = this.ensureIndex().get(sampleId);
    const entries: JournalEntry[] = [];
    if (this.legacy) {
      const path = this.pathOf(sampleId);
      if (existsSync(path)) for (const line of (await readFile(path, 'utf8')).split('\n')) pushEntry(entries, line);
    }
    if (refs) for (let i = 0; i < refs.length; i += 3) pushEntry(entries, this.readLine(refs[i]!, refs[i + 1]!, refs[i + 2]!));
    if (entries.length === 0) return new Map();
    // Segments are read oldest first; a stable sort by offset also orders lines from writers on machines whose clocks disagree.
    entries.sort((a, b) => a.offset - b.offset);
    return sequencesOfEntries(entries);
  }

  /**
   * Writes one response synchronously: when this returns the line is in the file (the page cache
   * survives a SIGKILL), and no other callback ran between the response arriving and its journalling.
   */
  append(entry: JournalEntry): void {
    // sample_id first: the index scan reads it off the start of the line.
    const sample_id = entry.sample_id;
    let line = JSON.stringify(entry);
    if (!line.startsWith('{"sample_id":')) {
      const { sample_id: _id, ...rest } = entry;
      line = JSON.stringify({ sample_id, ...rest });
    }
    const bytes = Buffer.from(`${line}\n`);
    const fd = this.writer();
    const at = this.position;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      // A partial line (disk full) stays at the end of this segment, where the scan skips it; later appends go to a new one.
      this.abandonSegment();
      throw err;
    }
    this.position += bytes.length;
    this.own.ids.push(sample_id);
    this.own.pos.push(at);
    this.own.len.push(bytes.length);
    if (this.index) addRef(this.index, sample_id, this.ownSeg, at, bytes.length);
    this.scheduleSync();
    faultPoint('journal-append');
  }

  /** Runs `fn` while holding the sample's lock. */
  async withSample<T>(sampleId: string, fn: () => Promise<T>): Promise<T> {
    for (let held = this.busy.get(sampleId); held; held = this.busy.get(sampleId)) await held;
    let release!: () => void;
    this.busy.set(sampleId, new Promise<void>((resolve) => (release = resolve)));
    try {
      return await fn();
    } finally {
      this.busy.delete(sampleId);
      release();
    }
  }

  /** fdatasync of everything appended so far, now. */
  sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (this.fd !== null && this.dirty) {
      this.dirty = false;
      fdatasyncSync(this.fd);
    }
  }

  /** `sync`, after any fdatasync running in the background has settled. */
  async flush(): Promise<void> {
    await this.syncing;
    this.sync();
  }

  /** Syncs and closes the segment, writes its sidecar index, and releases read descriptors. A later append opens a new segment. */
  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
      const { ids, pos, len } = this.own;
      this.writeSidecar(this.segment!, { v: 1, size: this.position, ids, pos, len });
    }
    for (const fd of this.readFds.values()) closeSync(fd);
    this.readFds.clear();
    this.index = null;
    this.segments = [];
  }

  private writer(): number {
    if (this.fd !== null) return this.fd;
    mkdirSync(this.logDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    this.segment = `${stamp}-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`;
    this.fd = openSync(join(this.logDir, this.segment), 'ax');
    this.position = 0;
    this.own = { ids: [], pos: [], len: [] };
    if (this.index) this.ownSeg = this.segmentNumber(this.segment);
    return this.fd;
  }

  private abandonSegment(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already unusable
    }
    this.fd = null;
  }

  private scheduleSync(): void {
    this.dirty = true;
    if (this.syncTimer || this.syncIntervalMs <= 0) return;
    this.syncTimer = setTimeout(() => this.syncInBackground(), this.syncIntervalMs);
    this.syncTimer.unref();
  }

  /** One fdatasync on the thread pool for every append since the last; appends meanwhile wait for the next. */
  private syncInBackground(): void {
    this.syncTimer = null;
    const fd = this.fd;
    if (fd === null || !this.dirty) return;
    if (this.syncing) return this.scheduleSync();
    this.dirty = false;
    this.syncing = new Promise<void>((resolve) => fdatasync(fd, () => resolve())).then(() => {
      this.syncing = null;
    });
  }

  private segmentNumber(name: string): number {
    let i = this.segments.indexOf(name);
    if (i < 0) i = this.segments.push(name) - 1;
    return i;
  }

  /** The index of every segment on disk (sidecar, then a scan of what lies past it), oldest segment first. */
  private ensureIndex(): Map<string, number[]> {
    if (this.index) return this.index;
    const index = new Map<string, number[]>();
    let names: string[] = [];
    try {
      names = readdirSync(this.logDir).filter((f) => SEGMENT_NAME.test(f)).sort();
    } catch {
      // no segment yet
    }
    for (const name of names) {
      const seg = this.segmentNumber(name);
      const path = join(this.logDir, name);
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd).size;
        const sidecar = this.readSidecar(name, size);
        let covered = 0;
        if (sidecar) {
          for (let i = 0; i < sidecar.ids.length; i++) addRef(index, sidecar.ids[i]!, seg, sidecar.pos[i]!, sidecar.len[i]!);
          covered = sidecar.size;
        }
        if (covered < size) {
          const scanned = scanSegment(fd, covered, size);
          for (let i = 0; i < scanned.ids.length; i++) addRef(index, scanned.ids[i]!, seg, scanned.pos[i]!, scanned.len[i]!);
          if (name !== this.segment && scanned.end - covered >= REINDEX_BYTES) {
            const base = sidecar ?? { ids: [], pos: [], len: [] };
            this.writeSidecar(name, { v: 1, size: scanned.end, ids: [...base.ids, ...scanned.ids], pos: [...base.pos, ...scanned.pos], len: [...base.len, ...scanned.len] });
          }
        }
      } finally {
        closeSync(fd);
      }
    }
    try {
      this.legacy = readdirSync(this.dir, { withFileTypes: true }).some((d) => d.isDirectory() && d.name.length === 2);
    } catch {
      this.legacy = false;
    }
    this.index = index;
    if (this.segment) this.ownSeg = this.segmentNumber(this.segment);
    return index;
  }

  private readSidecar(name: string, size: number): SegmentIndexFile | null {
    try {
      const s = JSON.parse(readFileSync(join(this.indexDir, `${name}.json`), 'utf8')) as SegmentIndexFile;
      const ok = s.v === 1 && Number.isInteger(s.size) && s.size <= size && s.ids.length === s.pos.length && s.ids.length === s.len.length;
      return ok ? s : null;
    } catch {
      return null; // none yet, or cut short: the segment is scanned instead
    }
  }

  private writeSidecar(name: string, sidecar: SegmentIndexFile): void {
    try {
      mkdirSync(this.indexDir, { recursive: true });
      const path = join(this.indexDir, `${name}.json`);
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(tmp, JSON.stringify(sidecar));
      renameSync(tmp, path);
    } catch {
      // only an accelerator: without it the next reader scans the segment
    }
  }

  private readLine(seg: number, pos: number, len: number): string {
    let fd = this.readFds.get(seg);
    if (fd === undefined) {
      if (this.readFds.size >= MAX_READ_FDS) {
        const [oldest, oldFd] = this.readFds.entries().next().value as [number, number];
        closeSync(oldFd);
        this.readFds.delete(oldest);
      }
      fd = openSync(join(this.logDir, this.segments[seg]!), 'r');
      this.readFds.set(seg, fd);
    }
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return buf.toString('utf8', 0, got);
  }
}

function pushEntry(entries: JournalEntry[], line: string): void {
  const entry = parseEntry(line);
  if (entry) entries.push(entry);
}

function addRef(index: Map<string, number[]>, sampleId: string, seg: number, pos: number, len: number): void {
  const refs = index.get(sampleId);
  if (refs) refs.push(seg, pos, len);
  else index.set(sampleId, [seg, pos, len]);
}

/** The complete lines in [from, to) of a segment: their sample ids and byte ranges, and where the last complete line ends. */
function scanSegment(fd: number, from: number, to: number): { ids: string[]; pos: number[]; len: number[]; end: number } {
  const ids: string[] = [];
  const pos: number[] = [];
  const len: number[] = [];
  let carry = Buffer.alloc(0);
  let carryAt = from;
  let at = from;
  while (at < to) {
    const chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, to - at));
    const n = readSync(fd, chunk, 0, chunk.length, at);
    if (n === 0) break;
    at += n;
    const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const id = lineSampleId(buf, start, nl);
      if (id !== null) {
        ids.push(id);
        pos.push(carryAt + start);
        len.push(nl + 1 - start);
      }
      start = nl + 1;
    }
    carry = Buffer.from(buf.subarray(start));
    carryAt += start;
  }
  return { ids, pos, len, end: carryAt };
}

function lineSampleId(buf: Buffer, start: number, end: number): string | null {
  const head = LINE_HEAD.exec(buf.toString('utf8', start, Math.min(end, start + 1024)));
  try {
    if (head) return JSON.parse(head[1]!) as string;
    const entry = JSON.parse(buf.toString('utf8', start, end)) as Partial<JournalEntry>;
    return typeof entry.sample_id === 'string' ? entry.sample_id : null;
  } catch {
    return null; // cut short: skipped here as `load` would skip it
  }
}

/** Entry of the per-unit journals written before the journal was keyed by sample (`round` instead of `offset`). */
interface LegacyEntry extends Omit<JournalEntry, 'offset'> {
  round: number;
}

/**
 * Moves per-unit journal files (`<dir>/u<hash>.jsonl`, keyed by round) into the journal, rounds in
 * order, so their rollouts are reused rather than paid for again. Each file is renamed to
 * `.migrated` once copied; a crash in between copies it again, which `sequencesOf` tolerates.
 */
export function migrateUnitJournals(journal: RolloutJournal): number {
  let files: string[];
  try {
    files = readdirSync(journal.dir).filter((f) => /^u[0-9a-f]+\.jsonl$/.test(f));
  } catch {
    return 0;
  }
  for (const file of files) {
    const path = join(journal.dir, file);
    const entries: LegacyEntry[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      try {
        if (line.trim()) entries.push(JSON.parse(line) as LegacyEntry);
      } catch {
        // cut short by a crash
      }
    }
    entries.sort((a, b) => a.sample_id.localeCompare(b.sample_id) || sequenceKey(a).localeCompare(sequenceKey(b)) || a.round - b.round);
    const next = new Map<string, number>();
    for (const { round: _round, ...rest } of entries) {
      const key = `${rest.sample_id}\u0000${sequenceKey(rest)}`;
      const offset = next.get(key) ?? 0;
      next.set(key, offset + rest.choices.length);
      journal.append({ ...rest, offset });
    }
    journal.sync(); // the copies are on disk before the originals are set aside
    renameSync(path, `${path}.migrated`);
  }
  return files.length;
}
