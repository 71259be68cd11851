/**
 * Reads the result queue for the whole run: the first result of each request, and how often (and how
 * differently) it came again. A result for a request id the soak did not send is kept apart.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { Answer } from './audit';
import { readAnswer } from './messages';
import { delay, describe } from './waiting';

export class ResultCollector {
  readonly answers = new Map<string, Answer>();
  readonly unknownResults: string[] = [];
  /** When the last request got its first result (0: none yet). */
  lastFirstResultAt = 0;
  private readonly seenMessageIds = new Set<string>();
  private collecting = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly resultQueue: QueueClient,
    private readonly indexOf: ReadonlyMap<string, number>,
    private readonly log: (line: string) => void,
    /** Called on each first result (a submitter held back by maxOutstanding may go on). */
    private readonly onFirstResult: () => void,
  ) {
    this.done = this.collect();
  }

  /** Stops reading after the current round. */
  async stop(): Promise<void> {
    this.collecting = false;
    await this.done;
  }

  private async collect(): Promise<void> {
    const { resultQueue, log } = this;
    while (this.collecting) {
      let items;
      try {
        ({ receivedMessageItems: items } = await resultQueue.receiveMessages({
          numberOfMessages: 32,
          visibilityTimeout: 60,
        }));
      } catch (error) {
        log(`soak: cannot read the result queue: ${describe(error)}`);
        await delay(250);
        continue;
      }
      const receivedAt = Date.now();
      for (const item of items) this.receive(item.messageId, item.messageText, receivedAt);
      await Promise.all(
        items.map((item) =>
          resultQueue
            .deleteMessage(item.messageId, item.popReceipt)
            .catch((error: unknown) =>
              log(`soak: cannot delete result message ${item.messageId}: ${describe(error)}`),
            ),
        ),
      );
      if (items.length === 0) await delay(100);
    }
  }

  private receive(messageId: string, messageText: string, receivedAt: number): void {
    // A result message seen again (its delete got lost) is not a second result.
    if (this.seenMessageIds.has(messageId)) return;
    this.seenMessageIds.add(messageId);
    const answer = readAnswer(messageText);
    const requestId = typeof answer.requestId === 'string' ? answer.requestId : undefined;
    if (requestId === undefined || !this.indexOf.has(requestId)) {
      this.unknownResults.push(
        `${requestId === undefined ? '(no requestId)' : requestId} ${answer.status}${answer.errorCode ? ` ${answer.errorCode}` : ''}`,
      );
      return;
    }
    const known = this.answers.get(requestId);
    if (known === undefined) {
      this.answers.set(requestId, {
        text: messageText,
        status: answer.status,
        serial: answer.serial,
        errorCode: answer.errorCode,
        receivedAt,
        repeats: 0,
        differingRepeats: 0,
      });
      this.lastFirstResultAt = receivedAt;
      this.onFirstResult();
    } else {
      known.repeats += 1;
      if (messageText !== known.text) known.differingRepeats += 1;
    }
  }
}
