/**
 * Queue trigger: one PKCS request message in, exactly one result message out. The handler is exported so
 * the local host (dev/host) and the tests run the very code the Functions host runs.
 */
import { app, output, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker';
import type { CertificatePipeline } from '../shared/pipeline';
import { flushWithin } from '../shared/telemetry/telemetry';

export const resultQueueOutput = output.storageQueue({
  queueName: '%PKCS_RESULT_QUEUE%',
  connection: 'AzureWebJobsStorage',
});

export async function issuePkcsCertificate(message: unknown, context: InvocationContext): Promise<void> {
  const { pipeline, telemetry } = getBroker();
  try {
    await handle(pipeline, message, context);
  } finally {
    await flushWithin(telemetry);
  }
}

async function handle(
  pipeline: CertificatePipeline,
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const dequeueCount = deliveryCount(context);
  const inserted = new Date(String(context.triggerMetadata?.insertionTime ?? ''));
  const outcome = await pipeline.process(message, {
    dequeueCount,
    ...(Number.isNaN(inserted.getTime()) ? {} : { insertedAt: inserted }),
  });
  if (outcome.kind === 'retry') {
    // Throwing leaves the message on the queue: the host delivers it again after the visibility timeout.
    context.warn(
      `request ${outcome.requestId ?? '(unreadable)'}: ${outcome.error.code} on delivery ${dequeueCount}, will retry: ${outcome.error.message}`,
    );
    throw outcome.error;
  }
  const { result } = outcome;
  const replay = outcome.replayed ? ' (stored result published again)' : '';
  if (result.status === 'issued') {
    context.log(`request ${result.requestId}: issued serial ${result.certificate.serialNumber}${replay}`);
  } else {
    context.warn(
      `request ${result.requestId ?? '(unreadable)'}: failed ${result.error.code}${replay}: ${result.error.message}`,
    );
  }
  context.extraOutputs.set(resultQueueOutput, outcome.json);
}

/** The queue's dequeueCount (1 on first delivery); a host that does not say is taken as a first delivery. */
function deliveryCount(context: InvocationContext): number {
  const count = Number(context.triggerMetadata?.dequeueCount);
  if (Number.isInteger(count) && count >= 1) return count;
  context.warn('the trigger metadata carries no dequeueCount: treating this as the first delivery');
  return 1;
}

app.storageQueue('issuePkcsCertificate', {
  queueName: '%PKCS_REQUEST_QUEUE%',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [resultQueueOutput],
  handler: issuePkcsCertificate,
});
