/** What the queue handlers read of a delivery, as the Functions host hands it over. */
import type { InvocationContext } from '@azure/functions';

/** The message as it came: the Functions host hands JSON messages over parsed, other text as a string. */
export function messageText(message: unknown): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

/** The queue's dequeueCount (1 on first delivery), or undefined when the host does not say. */
export function dequeueCountOf(context: InvocationContext): number | undefined {
  const count = Number(context.triggerMetadata?.dequeueCount);
  return Number.isInteger(count) && count >= 1 ? count : undefined;
}
