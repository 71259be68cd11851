/**
 * Poison-queue trigger: a request message the Functions host gave up on (maxDequeueCount deliveries without
 * success) ends as the request's stored result, else one GAVE_UP failed result carrying the last error, so no
 * request disappears silently (see handlers/issuance.ts).
 */
import { app } from '@azure/functions';
import { requestPoisonQueueTrigger, resultQueueOutput, supersedeRevocationOutput } from './handlers/bindings';
import { pkcsRequestPoison } from './handlers/issuance';

app.storageQueue('pkcsRequestPoison', {
  ...requestPoisonQueueTrigger,
  extraOutputs: [resultQueueOutput, supersedeRevocationOutput],
  handler: pkcsRequestPoison,
});
