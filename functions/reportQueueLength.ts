/**
 * Timer: every five minutes, the length of the request, poison and result queues as the metric
 * pkcs.queueLength (the poison-queue alert and the workbook's backlog panel read it).
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getBroker } from '../shared/broker';
import { reportQueueLengths } from '../shared/telemetry/queueLength';
import { flushWithin } from '../shared/telemetry/flush';

export async function reportQueueLength(_timer: Timer, context: InvocationContext): Promise<void> {
  const { settings, storage, telemetry } = getBroker();
  try {
    const lengths = await reportQueueLengths(storage, settings, telemetry);
    context.log(lengths.map(({ queueName, messages }) => `${queueName}: ${messages}`).join(', '));
  } finally {
    await flushWithin(telemetry);
  }
}

app.timer('reportQueueLength', {
  schedule: '0 */5 * * * *',
  handler: reportQueueLength,
});
