/** Queue trigger: one revocation message in, exactly one result out (see handlers/revocation.ts). */
import { app } from '@azure/functions';
import { revocationQueueTrigger, revocationResultOutput } from './handlers/bindings';
import { revokePkcsCertificate } from './handlers/revocation';

app.storageQueue('revokePkcsCertificate', {
  ...revocationQueueTrigger,
  extraOutputs: [revocationResultOutput],
  handler: revokePkcsCertificate,
});
