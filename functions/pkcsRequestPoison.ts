/**
 * Poison-queue trigger: a request message the Functions host gave up on (maxDequeueCount deliveries without
 * success) is not a dead end: it ends as the request's stored result if it has one, else one GAVE_UP failed
 * result carrying the last error, so no request disappears silently.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker';
import { flushWithin } from '../shared/telemetry/flush';
import { resultQueueOutput, setSupersedeRevocation, supersedeRevocationOutput } from './issuePkcsCertificate';

export async function pkcsRequestPoison(message: unknown, context: InvocationContext): Promise<void> {
  const { pipeline, telemetry } = getBroker();
  try {
    const outcome = await pipeline.poisoned(message);
    if (outcome.kind !== 'result') throw outcome.error;
    const { result } = outcome;
    context.warn(
      `request ${result.requestId ?? '(unreadable)'}: poison message, ${outcome.replayed ? 'stored result published again' : `failed ${result.status === 'failed' ? result.error.code : ''}`}`,
    );
    context.extraOutputs.set(resultQueueOutput, outcome.json);
    setSupersedeRevocation(context, outcome.revocation);
  } finally {
    await flushWithin(telemetry);
  }
}

app.storageQueue('pkcsRequestPoison', {
  queueName: '%PKCS_REQUEST_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [resultQueueOutput, supersedeRevocationOutput],
  handler: pkcsRequestPoison,
});
