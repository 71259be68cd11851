/**
 * The length of the broker's queues as a metric (pkcs.queueLength by queue), reported on a timer. Azure
 * Storage's own QueueMessageCount is one number per account, so it cannot tell a growing request backlog from
 * messages stuck in the poison queue (which pkcsRequestPoison drains at once unless it is failing itself).
 */
import type { BrokerSettings } from '../config/settings';
import { storageErrorOf } from '../ledger/tableLedger';
import { createQueueServiceClient, type StorageClientOptions } from '../storage/clients';
import type { StorageConnection } from '../storage/connection';
import type { QueueRole, Telemetry } from './telemetry';

export interface QueueLength {
  queue: QueueRole;
  queueName: string;
  /** Approximate, as the service counts (includes messages that are invisible while being worked on). */
  messages: number;
}

export function watchedQueues(settings: BrokerSettings): { queue: QueueRole; queueName: string }[] {
  return [
    { queue: 'requests', queueName: settings.requestQueue },
    { queue: 'poison', queueName: `${settings.requestQueue}-poison` },
    { queue: 'poisonUnhandled', queueName: `${settings.requestQueue}-poison-poison` },
    { queue: 'results', queueName: settings.resultQueue },
    { queue: 'revocations', queueName: settings.revokeQueue },
    { queue: 'revocationPoison', queueName: `${settings.revokeQueue}-poison` },
    { queue: 'revocationPoisonUnhandled', queueName: `${settings.revokeQueue}-poison-poison` },
    { queue: 'revocationResults', queueName: settings.revokeResultQueue },
  ];
}

/** Reads the approximate length of each watched queue; a queue that does not exist (yet) has none waiting. */
export async function readQueueLengths(
  storage: StorageConnection,
  settings: BrokerSettings,
  options: StorageClientOptions = {},
): Promise<QueueLength[]> {
  const service = createQueueServiceClient(storage, options);
  return Promise.all(
    watchedQueues(settings).map(async ({ queue, queueName }) => {
      try {
        const properties = await service.getQueueClient(queueName).getProperties();
        return { queue, queueName, messages: properties.approximateMessagesCount ?? 0 };
      } catch (error) {
        if (storageErrorOf(error).statusCode === 404) return { queue, queueName, messages: 0 };
        throw error;
      }
    }),
  );
}

/** Reads the lengths and sends one pkcs.queueLength value per queue. */
export async function reportQueueLengths(
  storage: StorageConnection,
  settings: BrokerSettings,
  telemetry: Pick<Telemetry, 'trackMetric'>,
  options: StorageClientOptions = {},
): Promise<QueueLength[]> {
  const lengths = await readQueueLengths(storage, settings, options);
  for (const { queue, queueName, messages } of lengths) {
    telemetry.trackMetric?.('pkcs.queueLength', messages, { queue, queueName });
  }
  return lengths;
}
