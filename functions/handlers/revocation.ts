/**
 * The revocation handlers: one revocation message in, exactly one result out on PKCS_REVOKE_RESULT_QUEUE (the
 * same bytes again for a repeated revocationId). A transient failure throws, so the message comes back after
 * the visibility timeout; the poison twin turns a message the host gave up on into its stored result or
 * GAVE_UP. Registered by functions/revokePkcsCertificate.ts and functions/pkcsRevocationPoison.ts.
 */
import type { InvocationContext } from '@azure/functions';
import { getBroker } from '../../shared/broker';
import type { RevocationOutcome } from '../../shared/revocation/revocationPipeline';
import { logSafe } from '../../shared/telemetry/logText';
import { revocationResultOutput } from './bindings';
import { deferAgain, dequeueCountOf, warnRetry } from './delivery';

export async function revokePkcsCertificate(message: unknown, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  const dequeueCount = dequeueCountOf(context) ?? 1;
  const outcome = await broker.revocations.process(message, { dequeueCount });
  if (outcome.kind === 'retry') {
    warnRetry(context, `revocation ${outcome.revocationId ?? '(unreadable)'}`, outcome.error, dequeueCount);
    throw outcome.error;
  }
  if (outcome.kind === 'defer') {
    await deferAgain(
      (text, delay) => broker.deferRevocation(text, delay),
      message,
      context,
      `revocation ${outcome.revocationId}`,
      outcome,
    );
    return;
  }
  publishRevocationResult(outcome, context);
}

export async function pkcsRevocationPoison(message: unknown, context: InvocationContext): Promise<void> {
  const outcome = await getBroker().revocations.poisoned(message);
  if (outcome.kind !== 'result') throw outcome.error;
  publishRevocationResult(outcome, context);
}

/** Logs a revocation's result and hands it to the result queue binding. */
function publishRevocationResult(
  outcome: Extract<RevocationOutcome, { kind: 'result' }>,
  context: InvocationContext,
): void {
  const { result } = outcome;
  const replay = outcome.replayed ? ' (stored result published again)' : '';
  if (result.status === 'revoked') {
    context.log(
      `revocation ${result.revocationId}: serial ${result.serialNumber} ${result.alreadyRevoked ? 'was revoked already' : `revoked (${result.reason})`}${replay}`,
    );
  } else {
    context.warn(
      logSafe(
        `revocation ${result.revocationId ?? '(unreadable)'}: failed ${result.error.code}${replay}: ${result.error.message}`,
      ),
    );
  }
  context.extraOutputs.set(revocationResultOutput, outcome.json);
}
