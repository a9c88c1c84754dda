import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { faultPoint } from '../shared/runner/fault.js';
import type { RolloutChoice } from './rollout-client.js';

/** One finished (paid-for) request: appended the moment it returns, so a crash loses none. */
export interface JournalEntry {
  sample_id: string;
  endpoint: string;
  params_hash: string;
  round: number;
  request_id: string;
  choices: Pick<RolloutChoice, 'index' | 'text' | 'finishReason'>[];
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number;
}

export function journalKey(e: Pick<JournalEntry, 'sample_id' | 'endpoint' | 'params_hash' | 'round'>): string {
  return `${e.sample_id}|${e.endpoint}|${e.params_hash}|${e.round}`;
}

/** Append-only JSONL of finished requests for one work unit; reruns replay it instead of asking again. */
export class RolloutJournal {
  private constructor(
    private readonly path: string,
    private readonly entries: Map<string, JournalEntry>,
  ) {}

  static async open(path: string): Promise<RolloutJournal> {
    const entries = new Map<string, JournalEntry>();
    if (existsSync(path)) {
      for (const line of (await readFile(path, 'utf8')).split('\n')) {
        if (!line.trim()) continue;
        try {
          const entry = JSON.parse(line) as JournalEntry;
          entries.set(journalKey(entry), entry);
        } catch {
          // A line cut short by a crash: its request is simply asked again.
        }
      }
    } else await mkdir(dirname(path), { recursive: true });
    return new RolloutJournal(path, entries);
  }

  get(key: string): JournalEntry | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  async append(entry: JournalEntry): Promise<void> {
    await appendFile(this.path, JSON.stringify(entry) + '\n');
    this.entries.set(journalKey(entry), entry);
    faultPoint('journal-append');
  }
}
