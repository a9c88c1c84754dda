import type { VerifyRequest, VerifyResult } from '../verify/types.js';

interface Pending {
  reqs: VerifyRequest[];
  resolve: (results: VerifyResult[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Sends groups of verifications to a worker pool in shared messages. A message to a worker thread
 * costs the main thread about 0.4 ms whatever it carries, more than a typical verification, so
 * groups (a sample's round each) that arrive while every slot is busy travel together in the next
 * one. At most `slots` messages are out at once: under light load each group goes alone at once,
 * under heavy load messages grow (up to `maxItems`) instead of queueing in the pool.
 */
export class VerifyBatcher {
  private readonly queue: Pending[] = [];
  private busy = 0;

  constructor(
    private readonly send: (reqs: VerifyRequest[]) => Promise<VerifyResult[]>,
    readonly slots: number,
    readonly maxItems = 256,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
  }

  /** The results of `reqs`, in order, verified in some message together with other groups. */
  verify(reqs: VerifyRequest[]): Promise<VerifyResult[]> {
    if (reqs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ reqs, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.busy < this.slots && this.queue.length > 0) {
      const groups: Pending[] = [];
      let items = 0;
      while (this.queue.length > 0 && (groups.length === 0 || items + this.queue[0]!.reqs.length <= this.maxItems)) {
        const group = this.queue.shift()!;
        groups.push(group);
        items += group.reqs.length;
      }
      this.busy++;
      const reqs = groups.length === 1 ? groups[0]!.reqs : groups.flatMap((g) => g.reqs);
      this.send(reqs)
        .then(
          (results) => {
            if (results.length !== reqs.length) throw new Error(`verifier returned ${results.length} results for ${reqs.length} requests`);
            let at = 0;
            for (const g of groups) {
              g.resolve(results.slice(at, at + g.reqs.length));
              at += g.reqs.length;
            }
          },
          (error: unknown) => {
            for (const g of groups) g.reject(error);
          },
        )
        .catch((error: unknown) => {
          for (const g of groups) g.reject(error);
        })
        .finally(() => {
          this.busy--;
          this.pump();
        });
    }
  }
}
