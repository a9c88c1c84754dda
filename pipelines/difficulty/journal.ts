/**
 * The rollout journal: every paid-for response, written to disk the moment it arrives, so a rerun
 * (after a kill, an append to the source, a threshold change or a larger n) replays it instead of
 * paying for it again.
 *
 * Keyed by sample, not by work unit: one JSONL file per sample id (fanned out by its first two
 * characters), whatever unit the sample lands in. Within the file, the responses for one
 * (endpoint, sampling params) pair form a single ordered sequence of rollouts; each entry records
 * the `offset` in that sequence its choices start at. A run that needs m rollouts takes the first m
 * of the sequence and asks only for the shortfall, so a larger n tops up and a smaller n reuses a
 * prefix. n itself is not part of the key: rollouts of the same prompt and params are interchangeable.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../shared/hash.js';
import { faultPoint } from '../shared/runner/fault.js';
import type { RolloutChoice } from './rollout-client.js';

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

/**
 * Builds the rollout sequences of one sample from its journal lines. Entries are taken in file
 * order; an entry whose offset lies past the end of its sequence (should not happen) is ignored,
 * and choices that overlap what the sequence already holds (two writers raced) are not counted twice.
 */
export function sequencesOf(lines: Iterable<string>): Map<string, JournalledRollout[]> {
  const sequences = new Map<string, JournalledRollout[]>();
  for (const line of lines) {
    if (!line.trim()) continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      continue; // a line cut short by a crash: its request is simply asked again
    }
    if (!Array.isArray(entry.choices) || !Number.isInteger(entry.offset)) continue;
    const key = sequenceKey(entry);
    let seq = sequences.get(key);
    if (!seq) sequences.set(key, (seq = []));
    if (entry.offset > seq.length) continue;
    for (const choice of entry.choices.slice(seq.length - entry.offset)) seq.push({ choice, entry });
  }
  return sequences;
}

/** Journal of one stage: `<dir>/<2 chars>/<sample>.jsonl`. */
export class RolloutJournal {
  private readonly madeDirs = new Set<string>();
  /** Per-sample lock: two units holding the same sample id never ask for the same rollouts twice. */
  private readonly busy = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  pathOf(sampleId: string): string {
    const stem = fileStem(sampleId);
    return join(this.dir, stem.slice(0, 2), `${stem}.jsonl`);
  }

  /** All rollout sequences journalled for a sample, by `sequenceKey`. */
  async load(sampleId: string): Promise<Map<string, JournalledRollout[]>> {
    const path = this.pathOf(sampleId);
    // Most samples of a first run have no file: a stat is far cheaper than a failed open turned into an exception.
    if (!existsSync(path)) return new Map();
    return sequencesOf((await readFile(path, 'utf8')).split('\n'));
  }

  /**
   * Writes one response synchronously: when this returns the line is in the file (the page cache
   * survives a SIGKILL), and no other callback ran between the response arriving and its journalling.
   */
  append(entry: JournalEntry): void {
    const path = this.pathOf(entry.sample_id);
    const dir = join(path, '..');
    if (!this.madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    appendFileSync(path, JSON.stringify(entry) + '\n');
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
}

/** Entry of the per-unit journals written before the journal was keyed by sample (`round` instead of `offset`). */
interface LegacyEntry extends Omit<JournalEntry, 'offset'> {
  round: number;
}

/**
 * Moves per-unit journal files (`<dir>/u<hash>.jsonl`, keyed by round) into the per-sample layout,
 * rounds in order, so their rollouts are reused rather than paid for again. Each file is renamed to
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
    renameSync(path, `${path}.migrated`);
  }
  return files.length;
}
