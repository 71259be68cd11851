/** What the queue handlers read of a delivery, as the Functions host hands it over. */
import type { InvocationContext } from '@azure/functions';
import type { BrokerError } from '../../shared/contract/errors';
import type { LogLine } from '../../shared/telemetry/logRedaction';
import { logSafe } from '../../shared/telemetry/logText';

/** The message as it came: the Functions host hands JSON messages over parsed, other text as a string. */
function messageText(message: unknown): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

/** The queue's dequeueCount (1 on first delivery), or undefined when the host does not say. */
export function dequeueCountOf(context: InvocationContext): number | undefined {
  const count = Number(context.triggerMetadata?.dequeueCount);
  return Number.isInteger(count) && count >= 1 ? count : undefined;
}

/**
 * The queue's deliveries are used up, the job (`what`: "request <id>" or "revocation <id>") is not: a fresh
 * copy of the message waits its turn on its queue. If sending it fails, this throws and the message goes to
 * the poison queue, which ends it as GAVE_UP (never lost).
 */
export async function deferAgain(
  send: (messageText: string, delaySeconds: number) => Promise<void>,
  message: unknown,
  context: InvocationContext,
  what: string,
  deferral: { error: BrokerError; delaySeconds: number },
  line: LogLine = logSafe,
): Promise<void> {
  await send(messageText(message), deferral.delaySeconds);
  context.warn(
    line(
      `${what}: ${deferral.error.code} on the last delivery, back on the queue in ${deferral.delaySeconds} s: ${deferral.error.message}`,
    ),
  );
}

/**
 * The warning of a delivery that ends to be delivered again. An unforeseen failure (an unexpected exception,
 * or another delivery of the same message at the same time) is named as such: its code, GAVE_UP, is what the
 * result would say if it outlasted the deliveries, not what happened now.
 */
export function warnRetry(
  context: InvocationContext,
  what: string,
  error: BrokerError,
  dequeueCount: number,
  line: LogLine = logSafe,
): void {
  const cause = error.detail?.unforeseen ? 'an unforeseen failure' : error.code;
  context.warn(line(`${what}: ${cause} on delivery ${dequeueCount}, will retry: ${error.message}`));
}
