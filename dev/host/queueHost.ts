/**
 * A local stand-in for the Azure Functions host's queue trigger: it polls the request queue with the real
 * @azure/storage-queue client, hands each message to the very handler the Functions host calls, and sends
 * what the handler set on its output binding to the result queue. Like the real host it deletes a message
 * only after success, lets it reappear after the visibility timeout when the handler throws, and moves it to
 * `<queue>-poison` once it has been delivered more than maxDequeueCount times.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext, type StorageQueueOutput } from '@azure/functions';
import { QueueClient, type DequeuedMessageItem } from '@azure/storage-queue';

export type QueueHandler = (message: unknown, context: InvocationContext) => Promise<void>;

export interface QueueHostOptions {
  connectionString: string;
  requestQueue: string;
  resultQueue: string;
  functionName: string;
  handler: QueueHandler;
  resultOutput: StorageQueueOutput;
  /** Mirrors host.json extensions.queues. */
  batchSize?: number;
  maxDequeueCount?: number;
  visibilityTimeoutSeconds?: number;
  maxPollingIntervalMs?: number;
  log?: (line: string) => void;
}

export class LocalQueueHost {
  private readonly requests: QueueClient;
  private readonly results: QueueClient;
  private readonly poison: QueueClient;
  private running = false;
  private loop?: Promise<void>;
  private readonly log: (line: string) => void;

  constructor(private readonly options: QueueHostOptions) {
    this.requests = new QueueClient(options.connectionString, options.requestQueue);
    this.results = new QueueClient(options.connectionString, options.resultQueue);
    this.poison = new QueueClient(options.connectionString, `${options.requestQueue}-poison`);
    this.log = options.log ?? ((line) => console.log(line));
  }

  async start(): Promise<void> {
    await Promise.all([
      this.requests.createIfNotExists(),
      this.results.createIfNotExists(),
      this.poison.createIfNotExists(),
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
    let idleDelay = 100;
    while (this.running) {
      let batch: DequeuedMessageItem[] = [];
      try {
        const response = await this.requests.receiveMessages({
          numberOfMessages: this.options.batchSize ?? 8,
          visibilityTimeout: this.options.visibilityTimeoutSeconds ?? 30,
        });
        batch = response.receivedMessageItems;
      } catch (error) {
        this.log(`host: cannot read queue ${this.options.requestQueue}: ${(error as Error).message}`);
      }
      if (batch.length === 0) {
        await delay(idleDelay);
        idleDelay = Math.min(idleDelay * 2, maxInterval);
        continue;
      }
      idleDelay = 100;
      await Promise.all(batch.map((message) => this.dispatch(message)));
    }
  }

  private async dispatch(message: DequeuedMessageItem): Promise<void> {
    const maxDequeueCount = this.options.maxDequeueCount ?? 5;
    if (message.dequeueCount > maxDequeueCount) {
      await this.poison.sendMessage(message.messageText);
      await this.requests.deleteMessage(message.messageId, message.popReceipt);
      this.log(
        `host: message ${message.messageId} moved to ${this.options.requestQueue}-poison after ${message.dequeueCount - 1} deliveries`,
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
    try {
      await this.options.handler(triggerPayload(message.messageText), context);
      const output = context.extraOutputs.get(this.options.resultOutput);
      if (output !== undefined)
        await this.results.sendMessage(typeof output === 'string' ? output : JSON.stringify(output));
      await this.requests.deleteMessage(message.messageId, message.popReceipt);
    } catch (error) {
      // Left on the queue: it becomes visible again after the visibility timeout, like in Azure.
      this.log(
        `host: delivery ${message.dequeueCount} of message ${message.messageId} failed: ${(error as Error).message}`,
      );
    }
  }
}

/** The Functions Node.js worker hands JSON queue messages to the handler already parsed. */
function triggerPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
