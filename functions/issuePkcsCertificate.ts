/**
 * Queue trigger: one PKCS request message in, exactly one result message out. The handler is exported so
 * the local host (dev/host) and the tests run the very code the Functions host runs.
 */
import { app, output, type InvocationContext } from '@azure/functions';
import { getBroker, type Broker } from '../shared/broker';
import { logSafe } from '../shared/telemetry/logText';
import { flushWithin } from '../shared/telemetry/flush';

export const resultQueueOutput = output.storageQueue({
  queueName: '%PKCS_RESULT_QUEUE%',
  connection: 'AzureWebJobsStorage',
});

/** The revocation of a certificate a request supersedes, sent to the broker's own revocation queue. */
export const supersedeRevocationOutput = output.storageQueue({
  queueName: '%PKCS_REVOKE_QUEUE%',
  connection: 'AzureWebJobsStorage',
});

export async function issuePkcsCertificate(message: unknown, context: InvocationContext): Promise<void> {
  const broker = getBroker();
  try {
    await handle(broker, message, context);
  } finally {
    await flushWithin(broker.telemetry);
  }
}

async function handle(broker: Broker, message: unknown, context: InvocationContext): Promise<void> {
  const { pipeline } = broker;
  const dequeueCount = deliveryCount(context);
  const inserted = new Date(String(context.triggerMetadata?.insertionTime ?? ''));
  const outcome = await pipeline.process(message, {
    dequeueCount,
    ...(Number.isNaN(inserted.getTime()) ? {} : { insertedAt: inserted }),
  });
  if (outcome.kind === 'retry') {
    // Throwing leaves the message on the queue: the host delivers it again after the visibility timeout.
    context.warn(
      logSafe(
        `request ${outcome.requestId ?? '(unreadable)'}: ${outcome.error.code} on delivery ${dequeueCount}, will retry: ${outcome.error.message}`,
      ),
    );
    throw outcome.error;
  }
  if (outcome.kind === 'defer') {
    // The queue's deliveries are used up, the request is not: a fresh copy waits its turn. If sending it fails,
    // this throws and the message goes to the poison queue, which ends it as GAVE_UP (never lost).
    await broker.deferRequest(messageText(message), outcome.delaySeconds);
    context.warn(
      logSafe(
        `request ${outcome.requestId}: ${outcome.error.code} on the last delivery, back on the queue in ${outcome.delaySeconds} s: ${outcome.error.message}`,
      ),
    );
    return;
  }
  const { result } = outcome;
  const replay = outcome.replayed ? ' (stored result published again)' : '';
  if (result.status === 'issued') {
    context.log(
      logSafe(`request ${result.requestId}: issued serial ${result.certificate.serialNumber}${replay}`),
    );
  } else {
    context.warn(
      logSafe(
        `request ${result.requestId ?? '(unreadable)'}: failed ${result.error.code}${replay}: ${result.error.message}`,
      ),
    );
  }
  context.extraOutputs.set(resultQueueOutput, outcome.json);
  setSupersedeRevocation(context, outcome.revocation);
}

/** Hands a superseded certificate's revocation to the revocation queue (the same message on every replay). */
export function setSupersedeRevocation(context: InvocationContext, revocation: string | undefined): void {
  if (revocation !== undefined) context.extraOutputs.set(supersedeRevocationOutput, revocation);
}

/** The message as it came: the Functions host hands JSON messages over parsed, other text as a string. */
function messageText(message: unknown): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

/** The queue's dequeueCount (1 on first delivery); a host that does not say is taken as a first delivery. */
function deliveryCount(context: InvocationContext): number {
  const count = Number(context.triggerMetadata?.dequeueCount);
  if (Number.isInteger(count) && count >= 1) return count;
  context.warn('the trigger metadata carries no dequeueCount: treating this as the first delivery');
  return 1;
}

app.storageQueue('issuePkcsCertificate', {
  queueName: '%PKCS_REQUEST_QUEUE%',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [resultQueueOutput, supersedeRevocationOutput],
  handler: issuePkcsCertificate,
});
