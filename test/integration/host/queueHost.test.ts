/**
 * The local host's queue trigger takes messages as the Functions host does: a batch of batchSize, and the next
 * batch as soon as the messages in hand are down to newBatchThreshold, so at most batchSize +
 * newBatchThreshold run at once and one slow message never holds back the rest. Azurite and the real queue
 * client; the handler only counts and waits to be released.
 */
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import { LocalQueueHost } from '../../../dev/host/queueHost';
import { resultQueueOutput } from '../../../functions/handlers/bindings';

let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

/** A handler whose invocations wait until the test releases them, one at a time, oldest first. */
function heldHandler() {
  const waiting: (() => void)[] = [];
  let running = 0;
  let peak = 0;
  let done = 0;
  return {
    handler: async (): Promise<void> => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise<void>((release) => waiting.push(release));
      running -= 1;
      done += 1;
    },
    release(count: number): void {
      for (const release of waiting.splice(0, count)) release();
    },
    get running() {
      return running;
    },
    get peak() {
      return peak;
    },
    get done() {
      return done;
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within 15 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the local queue trigger', () => {
  it('runs at most batchSize + newBatchThreshold at once and fetches the next batch before the first ends', async () => {
    const queue = new QueueClient(azurite.connectionString, 'batching-test');
    await queue.createIfNotExists();
    for (let index = 0; index < 10; index += 1) await queue.sendMessage(JSON.stringify({ index }));
    const held = heldHandler();
    const host = new LocalQueueHost({
      storage: { kind: 'connectionString', connectionString: azurite.connectionString },
      queue: 'batching-test',
      outputQueue: 'batching-test-out',
      functionName: 'batchingTest',
      handler: held.handler,
      output: resultQueueOutput,
      batchSize: 4,
      newBatchThreshold: 2,
      maxPollingIntervalMs: 100,
      log: () => undefined,
    });
    await host.start();
    try {
      await until(() => held.running === 4, 'the first batch of 4 in hand');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(held.running).toBe(4); // 4 in hand > threshold 2: no new batch yet
      held.release(2);
      // Down to 2 in hand: the next batch of 4 comes while two of the first are still running.
      await until(() => held.running === 6, 'six in hand');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(held.running).toBe(6);
      // The rest, released as they arrive: never more than six at once.
      await until(() => {
        held.release(10);
        return held.done === 10;
      }, 'all ten handled');
      expect(held.peak).toBe(6);
    } finally {
      held.release(100);
      await host.stop();
    }
  }, 60_000);
});
