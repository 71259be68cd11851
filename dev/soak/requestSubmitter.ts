/**
 * Sends the soak's requests to the request queue, `concurrency` at a time, holding back while
 * `maxOutstanding` requests are without a result; each send is retried a few times.
 */
import type { QueueClient } from '@azure/storage-queue';
import { delay } from './waiting';

export interface SubmitPlan {
  ids: readonly string[];
  concurrency: number;
  /** At most this many requests without a result at a time; null: no limit (a burst). */
  maxOutstanding: number | null;
  /** The message body of the request at `index` (0-based). */
  body: (index: number, id: string) => string;
  /** How many requests have a result so far. */
  answered: () => number;
  log: (line: string) => void;
}

export class RequestSubmitter {
  /** When each request was sent; a request not here was never sent. */
  readonly submittedAt = new Map<string, number>();
  submitted = 0;
  /** When the last request was sent (the start until then). */
  doneAt: number;
  /** Settles when every request is sent, or the submitter stopped; rejects when a send kept failing. */
  readonly finished: Promise<void>;
  private stopping = false;
  /** Submitters waiting for a request to be answered (maxOutstanding). */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly requestQueue: QueueClient,
    private readonly plan: SubmitPlan,
    private readonly started: number,
  ) {
    this.doneAt = started;
    this.finished = this.submitAll();
  }

  /** A request got its first result: a submitter held back by maxOutstanding may go on. */
  wake(): void {
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  stop(): void {
    this.stopping = true;
    for (const wake of this.waiting) wake();
  }

  private async submitAll(): Promise<void> {
    const { ids, maxOutstanding } = this.plan;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && !this.stopping) {
        if (maxOutstanding !== null) {
          while (!this.stopping && this.submitted - this.plan.answered() >= maxOutstanding) {
            await new Promise<void>((resolve) => this.waiting.add(resolve));
          }
        }
        if (this.stopping) break;
        const index = next;
        next += 1;
        const id = ids[index]!;
        const body = this.plan.body(index, id);
        this.submittedAt.set(id, Date.now());
        this.submitted += 1;
        for (let attempt = 1; ; attempt += 1) {
          try {
            await this.requestQueue.sendMessage(body);
            break;
          } catch (error) {
            if (attempt >= 5) throw error;
            await delay(100 * attempt);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: this.plan.concurrency }, () => worker()));
    this.doneAt = Date.now();
    this.plan.log(`soak: ${this.submitted} requests submitted in ${this.doneAt - this.started} ms`);
  }
}
