/**
 * A local stand-in for the Azure Functions host's queue trigger: it polls a queue with the real
 * @azure/storage-queue client, hands each message to the very handler the Functions host calls, and sends
 * what the handler set on its output binding to the output queue. Like the real host it keeps a message
 * invisible while it is worked on, deletes it only after success, lets it reappear after the visibility
 * timeout when the handler throws, and moves it to `<queue>-poison` once it has been delivered
 * maxDequeueCount times without success. Like the real host it takes the next batch as soon as the messages
 * in hand are down to newBatchThreshold, so up to batchSize + newBatchThreshold run at once. After each invocation it runs the app's postInvocation hooks, as the
 * Functions worker runs those registered with app.hook.postInvocation.
 */
import { randomUUID } from 'node:crypto';
import {
  InvocationContext,
  PostInvocationContext,
  type PostInvocationHandler,
  type StorageQueueOutput,
} from '@azure/functions';
import type { QueueClient, DequeuedMessageItem } from '@azure/storage-queue';
import type { StorageConnection } from '../../shared/storage/connection';
import { createQueueServiceClient } from '../../shared/storage/clients';

export type QueueHandler = (message: unknown, context: InvocationContext) => Promise<void>;

export interface QueueHostOptions {
  /** AzureWebJobsStorage as the Functions host reads it: a connection string or identity-based. */
  storage: StorageConnection;
  /** The queue the trigger listens on. */
  queue: string;
  /** Where the handler's output binding writes. */
  outputQueue: string;
  functionName: string;
  handler: QueueHandler;
  output: StorageQueueOutput;
  /** Further output bindings the handler may set, each with the queue it writes to. */
  extraOutputs?: { binding: StorageQueueOutput; queue: string }[];
  /** Mirrors host.json extensions.queues. */
  batchSize?: number;
  /** Messages in hand at or below which the next batch is fetched (Azure's default: half of batchSize). */
  newBatchThreshold?: number;
  maxDequeueCount?: number;
  visibilityTimeoutSeconds?: number;
  maxPollingIntervalMs?: number;
  /** Where failed messages go after maxDequeueCount deliveries; none for a trigger on a poison queue. */
  poisonQueue?: string;
  /** What runs after every invocation (functions/handlers/postInvocation.ts), as in Azure. */
  hooks?: readonly PostInvocationHandler[];
  log?: (line: string) => void;
}

export class LocalQueueHost {
  private readonly input: QueueClient;
  private readonly output: QueueClient;
  private readonly extraOutputs: { binding: StorageQueueOutput; queue: QueueClient }[];
  private readonly poison?: QueueClient;
  private running = false;
  private loop?: Promise<void>;
  private readonly log: (line: string) => void;

  constructor(private readonly options: QueueHostOptions) {
    const service = createQueueServiceClient(options.storage);
    this.input = service.getQueueClient(options.queue);
    this.output = service.getQueueClient(options.outputQueue);
    this.extraOutputs = (options.extraOutputs ?? []).map(({ binding, queue }) => ({
      binding,
      queue: service.getQueueClient(queue),
    }));
    if (options.poisonQueue) this.poison = service.getQueueClient(options.poisonQueue);
    this.log = options.log ?? ((line) => console.log(line));
  }

  async start(): Promise<void> {
    await Promise.all([
      this.input.createIfNotExists(),
      this.output.createIfNotExists(),
      ...this.extraOutputs.map(({ queue }) => queue.createIfNotExists()),
      this.poison?.createIfNotExists(),
    ]);
    this.running = true;
    this.loop = this.poll();
  }

  /** Stops polling and waits for the messages in hand to finish. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async poll(): Promise<void> {
    const maxInterval = this.options.maxPollingIntervalMs ?? 2000;
    const batchSize = this.options.batchSize ?? 8;
    const threshold = this.options.newBatchThreshold ?? Math.floor(batchSize / 2);
    const inHand = new Set<Promise<void>>();
    let idleDelay = 100;
    while (this.running) {
      if (inHand.size > threshold) {
        await Promise.race(inHand);
        continue;
      }
      let batch: DequeuedMessageItem[] = [];
      try {
        const response = await this.input.receiveMessages({
          numberOfMessages: batchSize,
          visibilityTimeout: this.visibilityTimeoutSeconds(),
        });
        batch = response.receivedMessageItems;
      } catch (error) {
        this.log(`host: cannot read queue ${this.options.queue}: ${describe(error)}`);
      }
      if (batch.length === 0) {
        await delay(idleDelay);
        idleDelay = Math.min(idleDelay * 2, maxInterval);
        continue;
      }
      idleDelay = 100;
      for (const message of batch) {
        const work = this.dispatch(message).catch((error: unknown) =>
          // Never let one message stop the host: it stays on the queue and is delivered again.
          this.log(`host: message ${message.messageId} could not be handled: ${describe(error)}`),
        );
        inHand.add(work);
        void work.then(() => inHand.delete(work));
      }
    }
    // Stopping waits for the messages in hand, as before.
    await Promise.all(inHand);
  }

  private visibilityTimeoutSeconds(): number {
    return this.options.visibilityTimeoutSeconds ?? 30;
  }

  private async dispatch(message: DequeuedMessageItem): Promise<void> {
    const maxDequeueCount = this.options.maxDequeueCount ?? 5;
    if (this.poison && message.dequeueCount > maxDequeueCount) {
      await this.poison.sendMessage(message.messageText);
      await this.input.deleteMessage(message.messageId, message.popReceipt);
      this.log(
        `host: message ${message.messageId} moved to ${this.options.poisonQueue} after ${message.dequeueCount - 1} deliveries`,
      );
      return;
    }
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: this.options.functionName,
      triggerMetadata: {
        id: message.messageId,
        dequeueCount: message.dequeueCount,
        insertionTime: message.insertedOn.toISOString(),
        expirationTime: message.expiresOn.toISOString(),
        popReceipt: message.popReceipt,
      },
      logHandler: (level, ...args) =>
        this.log(`[${level}] ${this.options.functionName}: ${args.map(String).join(' ')}`),
    });
    const lease = new VisibilityLease(this.input, message, this.visibilityTimeoutSeconds());
    try {
      await invokeWithHooks(
        this.options.handler,
        triggerPayload(message.messageText),
        context,
        this.options.hooks ?? [],
      );
      const outputs = [{ binding: this.options.output, queue: this.output }, ...this.extraOutputs];
      for (const { binding, queue } of outputs) {
        const output = context.extraOutputs.get(binding);
        if (output !== undefined)
          await queue.sendMessage(typeof output === 'string' ? output : JSON.stringify(output));
      }
      await lease.end();
      await this.input.deleteMessage(message.messageId, lease.popReceipt);
    } catch (error) {
      await lease.end();
      // Left on the queue: it becomes visible again after the visibility timeout, like in Azure.
      this.log(
        `host: delivery ${message.dequeueCount} of message ${message.messageId} failed: ${describe(error)}`,
      );
    }
  }
}

/** Renews a message's invisibility every half timeout until its handler is done, as the Functions host does. */
class VisibilityLease {
  popReceipt: string;
  private readonly timer: NodeJS.Timeout;
  private renewal: Promise<void> = Promise.resolve();

  constructor(
    private readonly queue: QueueClient,
    private readonly message: DequeuedMessageItem,
    timeoutSeconds: number,
  ) {
    this.popReceipt = message.popReceipt;
    this.timer = setInterval(
      () => {
        this.renewal = this.queue
          .updateMessage(this.message.messageId, this.popReceipt, undefined, timeoutSeconds)
          .then((response) => {
            if (response.popReceipt) this.popReceipt = response.popReceipt;
          })
          // A missed renewal is not lost work: the message becomes visible again and is delivered once more, as
          // in Azure when an instance stalls; the next tick tries again with the receipt it has.
          .catch(() => undefined);
      },
      Math.max(500, (timeoutSeconds * 1000) / 2),
    );
  }

  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.renewal;
  }
}

/**
 * Runs a handler as the Functions worker does: the handler, then each postInvocation hook in order with the
 * handler's result or error (a hook may replace either), then throws the error if one is left.
 */
export async function invokeWithHooks(
  handler: QueueHandler,
  input: unknown,
  context: InvocationContext,
  hooks: readonly PostInvocationHandler[],
): Promise<unknown> {
  const invocation = new PostInvocationContext({
    invocationContext: context,
    inputs: [input],
    result: null,
    error: null,
  });
  try {
    invocation.result = await handler(input, context);
  } catch (error) {
    invocation.error = error;
  }
  for (const hook of hooks) await hook(invocation);
  if (invocation.error !== null && invocation.error !== undefined) throw invocation.error;
  return invocation.result;
}

/** The Functions Node.js worker hands JSON queue messages to the handler already parsed. */
function triggerPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
