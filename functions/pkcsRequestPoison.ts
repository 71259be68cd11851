/**
 * Poison-queue trigger: a request message the Functions host gave up on (maxDequeueCount deliveries without
 * success) is not a dead end. It becomes one GAVE_UP failed result on the result queue, so no request
 * disappears silently.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker';
import { resultQueueOutput } from './issuePkcsCertificate';

export async function pkcsRequestPoison(message: unknown, context: InvocationContext): Promise<void> {
  const result = getBroker().pipeline.poisoned(message);
  context.warn(`request ${result.requestId ?? '(unreadable)'}: poison message, failed ${result.error.code}`);
  context.extraOutputs.set(resultQueueOutput, JSON.stringify(result));
}

app.storageQueue('pkcsRequestPoison', {
  queueName: '%PKCS_REQUEST_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [resultQueueOutput],
  handler: pkcsRequestPoison,
});
