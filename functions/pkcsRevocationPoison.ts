/**
 * Poison-queue trigger for revocations: a revocation message the host gave up on still ends as one result —
 * the stored one, else GAVE_UP carrying the last error.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getBroker } from '../shared/broker';
import { flushWithin } from '../shared/telemetry/flush';
import { publishRevocationResult, revocationResultOutput } from './revokePkcsCertificate';

export async function pkcsRevocationPoison(message: unknown, context: InvocationContext): Promise<void> {
  const { revocations, telemetry } = getBroker();
  try {
    const outcome = await revocations.poisoned(message);
    if (outcome.kind !== 'result') throw outcome.error;
    publishRevocationResult(outcome, context);
  } finally {
    await flushWithin(telemetry);
  }
}

app.storageQueue('pkcsRevocationPoison', {
  queueName: '%PKCS_REVOKE_QUEUE%-poison',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [revocationResultOutput],
  handler: pkcsRevocationPoison,
});
