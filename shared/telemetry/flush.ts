/** The end of each invocation: what its telemetry buffered is sent, within a bounded wait. */
import type { Telemetry } from './telemetry';

/** How long an invocation waits for its telemetry to be sent before it lets go (the result never waits longer). */
export const INVOCATION_FLUSH_TIMEOUT_MS = 5000;

/**
 * Sends what is buffered, waiting at most `timeoutMs`; never throws (telemetry must not fail a request). Called
 * at the end of each invocation: an instance that scales in after a burst would otherwise take the metrics
 * of the last minute (the metric export interval) and the unsent traces with it.
 */
export async function flushWithin(
  telemetry: Pick<Telemetry, 'flush'>,
  timeoutMs: number = INVOCATION_FLUSH_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    // A failed flush is not retried here: the exporters keep what they could not send in their offline
    // storage (on in Azure) and send it again later, and an invocation never fails over its telemetry.
    await Promise.race([telemetry.flush().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
