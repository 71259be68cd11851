/**
 * What runs after every invocation of every function, however it ended: the programming model's
 * postInvocation hook (functions/hooks.ts registers these with the Functions host), and the local host
 * (dev/host) runs the same list. The broker's telemetry is flushed here once, not in each function: an
 * instance that scales in after a burst would otherwise take the last minute of metrics and the unsent traces
 * with it.
 */
import type { PostInvocationHandler } from '@azure/functions';
import { builtBroker } from '../../shared/broker';
import { flushWithin } from '../../shared/telemetry/flush';

/** Sends what the broker's telemetry buffered, within a bounded wait; never throws. */
export async function flushTelemetry(): Promise<void> {
  // No broker built means nothing tracked (the health probe runs the doctor, not the broker); building one
  // here would only fail over the settings the probe is there to report.
  const broker = builtBroker();
  if (broker !== undefined) await flushWithin(broker.telemetry);
}

export const postInvocationHooks: readonly PostInvocationHandler[] = [flushTelemetry];
