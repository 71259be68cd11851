/**
 * The timer's handler: the length of the request, poison and result queues as the metric pkcs.queueLength
 * (the poison-queue alert and the workbook's backlog panel read it). Registered by
 * functions/reportQueueLength.ts.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { getBroker } from '../../shared/broker';
import { reportQueueLengths } from '../../shared/telemetry/queueLength';

export async function reportQueueLength(_timer: Timer, context: InvocationContext): Promise<void> {
  const { settings, storage, telemetry } = getBroker();
  const lengths = await reportQueueLengths(storage, settings, telemetry);
  context.log(lengths.map(({ queueName, messages }) => `${queueName}: ${messages}`).join(', '));
}
