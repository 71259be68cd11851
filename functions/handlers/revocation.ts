/**
 * The revocation handlers: one revocation message in, exactly one result out on PKCS_REVOKE_RESULT_QUEUE (the
 * same bytes again for a repeated revocationId). A transient failure throws, so the message comes back after
 * the visibility timeout; the poison twin turns a message the host gave up on into its stored result or
 * GAVE_UP. Registered by functions/revokePkcsCertificate.ts and functions/pkcsRevocationPoison.ts.
 */
import type { InvocationContext } from '@azure/functions';
import { getBroker, type Broker } from '../../shared/broker';
import { readRevocationIdLoosely } from '../../shared/contract/validateRevocation';
import type { RevocationOutcome } from '../../shared/revocation/revocationPipeline';
import { logLineFor, loggableFailure, type LogLine } from '../../shared/telemetry/logRedaction';
import { revocationResultOutput } from './bindings';
import { deferAgain, dequeueCountOf, warnRetry } from './delivery';

/** Log lines about this revocation message: addresses and SIDs (a comment's) pseudonymized, then escaped. */
function revocationLogLine(message: unknown, broker: Broker): LogLine {
  return logLineFor(message, {
    includePersonalData: broker.settings.telemetryIncludePersonalData,
    keep: [readRevocationIdLoosely(message)],
  });
}

export async function revokePkcsCertificate(message: unknown, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  const line = revocationLogLine(message, broker);
  const dequeueCount = dequeueCountOf(context) ?? 1;
  const outcome = await broker.revocations.process(message, { dequeueCount });
  if (outcome.kind === 'retry') {
    warnRetry(
      context,
      `revocation ${outcome.revocationId ?? '(unreadable)'}`,
      outcome.error,
      dequeueCount,
      line,
    );
    throw loggableFailure(outcome.error, line);
  }
  if (outcome.kind === 'defer') {
    await deferAgain(
      (text, delay) => broker.deferRevocation(text, delay),
      message,
      context,
      `revocation ${outcome.revocationId}`,
      outcome,
      line,
    );
    return;
  }
  publishRevocationResult(outcome, context, line);
}

export async function pkcsRevocationPoison(message: unknown, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  const line = revocationLogLine(message, broker);
  const outcome = await broker.revocations.poisoned(message);
  if (outcome.kind !== 'result') throw loggableFailure(outcome.error, line);
  publishRevocationResult(outcome, context, line);
}

/** Logs a revocation's result and hands it to the result queue binding. */
function publishRevocationResult(
  outcome: Extract<RevocationOutcome, { kind: 'result' }>,
  context: InvocationContext,
  line: LogLine,
): void {
  const { result } = outcome;
  const replay = outcome.replayed ? ' (stored result published again)' : '';
  if (result.status === 'revoked') {
    context.log(
      line(
        `revocation ${result.revocationId}: serial ${result.serialNumber} ${result.alreadyRevoked ? 'was revoked already' : `revoked (${result.reason})`}${replay}`,
      ),
    );
  } else {
    context.warn(
      line(
        `revocation ${result.revocationId ?? '(unreadable)'}: failed ${result.error.code}${replay}: ${result.error.message}`,
      ),
    );
  }
  context.extraOutputs.set(revocationResultOutput, outcome.json);
}
