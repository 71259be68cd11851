/**
 * Poison-queue trigger for revocations: a revocation message the host gave up on still ends as one result —
 * the stored one, else GAVE_UP carrying the last error (see handlers/revocation.ts).
 */
import { app } from '@azure/functions';
import { revocationPoisonQueueTrigger, revocationResultOutput } from './handlers/bindings';
import { pkcsRevocationPoison } from './handlers/revocation';

app.storageQueue('pkcsRevocationPoison', {
  ...revocationPoisonQueueTrigger,
  extraOutputs: [revocationResultOutput],
  handler: pkcsRevocationPoison,
});
