/**
 * The request handlers: one PKCS request message in, exactly one result message out; and the poison twin,
 * which turns a message the host gave up on into its stored result or GAVE_UP. Registered by
 * functions/issuePkcsCertificate.ts and functions/pkcsRequestPoison.ts; the local host (dev/host) and the
 * tests run these very handlers.
 */
import type { InvocationContext } from '@azure/functions';
import { getBroker, type Broker } from '../../shared/broker';
import { readRequestIdLoosely } from '../../shared/contract/validate';
import { logLineFor, loggableFailure, type LogLine } from '../../shared/telemetry/logRedaction';
import { resultQueueOutput, supersedeRevocationOutput } from './bindings';
import { deferAgain, dequeueCountOf, warnRetry } from './delivery';

/** Log lines about this request message: its personal values pseudonymized as in telemetry, then escaped. */
function requestLogLine(message: unknown, broker: Broker): LogLine {
  return logLineFor(message, {
    includePersonalData: broker.settings.telemetryIncludePersonalData,
    keep: [readRequestIdLoosely(message)],
  });
}

export async function issuePkcsCertificate(message: unknown, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  const { pipeline } = broker;
  const line = requestLogLine(message, broker);
  const dequeueCount = deliveryCount(context);
  const inserted = new Date(String(context.triggerMetadata?.insertionTime ?? ''));
  const outcome = await pipeline.process(message, {
    dequeueCount,
    ...(Number.isNaN(inserted.getTime()) ? {} : { insertedAt: inserted }),
  });
  if (outcome.kind === 'retry') {
    // Throwing leaves the message on the queue: the host delivers it again after the visibility timeout.
    warnRetry(context, `request ${outcome.requestId ?? '(unreadable)'}`, outcome.error, dequeueCount, line);
    throw loggableFailure(outcome.error, line);
  }
  if (outcome.kind === 'defer') {
    await deferAgain(
      (text, delay) => broker.deferRequest(text, delay),
      message,
      context,
      `request ${outcome.requestId}`,
      outcome,
      line,
    );
    return;
  }
  const { result } = outcome;
  const replay = outcome.replayed ? ' (stored result published again)' : '';
  if (result.status === 'issued') {
    context.log(
      line(`request ${result.requestId}: issued serial ${result.certificate.serialNumber}${replay}`),
    );
  } else {
    context.warn(
      line(
        `request ${result.requestId ?? '(unreadable)'}: failed ${result.error.code}${replay}: ${result.error.message}`,
      ),
    );
  }
  context.extraOutputs.set(resultQueueOutput, outcome.json);
  setSupersedeRevocation(context, outcome.revocation);
}

export async function pkcsRequestPoison(message: unknown, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  const line = requestLogLine(message, broker);
  const outcome = await broker.pipeline.poisoned(message);
  if (outcome.kind !== 'result') throw loggableFailure(outcome.error, line);
  const { result } = outcome;
  context.warn(
    line(
      `request ${result.requestId ?? '(unreadable)'}: poison message, ${outcome.replayed ? 'stored result published again' : `failed ${result.status === 'failed' ? result.error.code : ''}`}`,
    ),
  );
  context.extraOutputs.set(resultQueueOutput, outcome.json);
  setSupersedeRevocation(context, outcome.revocation);
}

/** Hands a superseded certificate's revocation to the revocation queue (the same message on every replay). */
function setSupersedeRevocation(context: InvocationContext, revocation: string | undefined): void {
  if (revocation !== undefined) context.extraOutputs.set(supersedeRevocationOutput, revocation);
}

/** The delivery's dequeueCount; a host that does not say is taken as a first delivery. */
function deliveryCount(context: InvocationContext): number {
  const count = dequeueCountOf(context);
  if (count !== undefined) return count;
  context.warn('the trigger metadata carries no dequeueCount: treating this as the first delivery');
  return 1;
}
