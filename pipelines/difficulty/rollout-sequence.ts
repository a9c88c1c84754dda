import type { JournalEntry, JournalledRollout } from './journal.js';

/** Asks the policy for `n` more rollouts starting at position `offset`, journals them, and returns the entry. */
export type RequestRollouts = (offset: number, n: number) => Promise<JournalEntry>;

/**
 * The ordered rollouts of one (sample, endpoint, params): what the journal holds, extended on demand.
 * `take(from, count)` returns exactly positions [from, from + count): journalled ones for free, the
 * rest by requests for the shortfall only. A short response (fewer choices than asked) is topped up
 * at once, so what a round gets never depends on server faults, and a rescoring run replays the same
 * rollouts in the same positions.
 */
export class RolloutSequence {
  /** Requests this sequence made (not replayed). */
  requests = 0;

  constructor(
    private readonly rollouts: JournalledRollout[],
    private readonly request: RequestRollouts,
  ) {}

  get length(): number {
    return this.rollouts.length;
  }

  /** Fewer than `count` only when the server returned no choice at all to a request. */
  async take(from: number, count: number): Promise<JournalledRollout[]> {
    const end = from + count;
    while (this.rollouts.length < end) {
      const offset = this.rollouts.length;
      const entry = await this.request(offset, end - offset);
      this.requests++;
      if (entry.offset !== offset) throw new Error(`journal entry at offset ${entry.offset}, expected ${offset}`);
      if (entry.choices.length === 0) break;
      // All of them, as a replay from the journal would see them.
      for (const choice of entry.choices) this.rollouts.push({ choice, entry });
    }
    return this.rollouts.slice(from, end);
  }
}
