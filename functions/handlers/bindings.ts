/**
 * The broker's bindings in one place: the queues its functions listen on and write to, each named by the app
 * setting the Functions host resolves (%SETTING%; infra/ sets them, shared/config/settings.ts reads the same
 * names), all in the AzureWebJobsStorage account. The local host (dev/host) writes the outputs named here.
 */
import { output, type StorageQueueTriggerOptions } from '@azure/functions';

const connection = 'AzureWebJobsStorage';

/** The requests (issuePkcsCertificate). */
export const requestQueueTrigger: StorageQueueTriggerOptions = {
  queueName: '%PKCS_REQUEST_QUEUE%',
  connection,
};

/** The requests the host gave up on after maxDequeueCount deliveries (pkcsRequestPoison). */
export const requestPoisonQueueTrigger: StorageQueueTriggerOptions = {
  queueName: '%PKCS_REQUEST_QUEUE%-poison',
  connection,
};

/** The revocations (revokePkcsCertificate). */
export const revocationQueueTrigger: StorageQueueTriggerOptions = {
  queueName: '%PKCS_REVOKE_QUEUE%',
  connection,
};

/** The revocations the host gave up on (pkcsRevocationPoison). */
export const revocationPoisonQueueTrigger: StorageQueueTriggerOptions = {
  queueName: '%PKCS_REVOKE_QUEUE%-poison',
  connection,
};

/** One result per request, issued or failed. */
export const resultQueueOutput = output.storageQueue({ queueName: '%PKCS_RESULT_QUEUE%', connection });

/** The revocation of a certificate a request supersedes, sent to the broker's own revocation queue. */
export const supersedeRevocationOutput = output.storageQueue({
  queueName: '%PKCS_REVOKE_QUEUE%',
  connection,
});

/** One result per revocation. */
export const revocationResultOutput = output.storageQueue({
  queueName: '%PKCS_REVOKE_RESULT_QUEUE%',
  connection,
});

/** Every five minutes (reportQueueLength). */
export const queueLengthSchedule = '0 */5 * * * *';

/** Daily at 03:17 UTC, out of the hour marks other jobs pick (purgeLedger). */
export const ledgerRetentionSchedule = '0 17 3 * * *';
