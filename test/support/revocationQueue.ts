/** A revocation sent through the host's revocation queue, and its result taken off the result queue. */
import { isRefusalNaming, sendAndWait } from '../../dev/host/submit';
import type { RevocationResult } from '../../shared/contract/types';

export interface RevocationQueues {
  /** Azurite's connection string. */
  storage: string;
  revokeQueue: string;
  revokeResultQueue: string;
}

/** Sends `message` (schemaVersion added) and waits up to a minute for the result with its revocationId. */
export function revokeThroughQueue(
  queues: RevocationQueues,
  message: Record<string, unknown>,
): Promise<RevocationResult> {
  return sendAndWait<RevocationResult>(
    { schemaVersion: 1, ...message },
    {
      storage: queues.storage,
      requestQueue: queues.revokeQueue,
      resultQueue: queues.revokeResultQueue,
      timeoutMs: 60_000,
    },
    (candidate) =>
      candidate.revocationId === message.revocationId ||
      isRefusalNaming(candidate, `revocation "${String(message.revocationId)}": `),
    `revocation ${String(message.revocationId)}`,
  );
}
