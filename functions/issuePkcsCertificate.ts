/** Queue trigger: one PKCS request message in, exactly one result message out (see handlers/issuance.ts). */
import { app } from '@azure/functions';
import { requestQueueTrigger, resultQueueOutput, supersedeRevocationOutput } from './handlers/bindings';
import { issuePkcsCertificate } from './handlers/issuance';

app.storageQueue('issuePkcsCertificate', {
  ...requestQueueTrigger,
  extraOutputs: [resultQueueOutput, supersedeRevocationOutput],
  handler: issuePkcsCertificate,
});
