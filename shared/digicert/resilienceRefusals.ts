/**
 * The errors of resilience.ts: the final error after several attempts, and the policies' own refusals (an
 * open circuit, a half-open circuit whose health check says DOWN, a full bulkhead), marked in their detail.
 */
import { BrokerError, DEFAULT_REMEDIES } from '../contract/errors';
import { CallContext, callError, describeCall } from './faults/callContext';

/** The final error after `attempts` tries of a retryable failure: the same error, the count in the message. */
export function afterAttempts(last: BrokerError, attempts: number): BrokerError {
  if (attempts <= 1) return last;
  return new BrokerError(last.code, `${last.message} (${attempts} attempts)`, {
    remedy: last.remedy,
    retryable: last.retryable,
    caMessage: last.caMessage,
    cause: last.cause,
    ambiguous: last.ambiguous,
    detail: last.detail,
  });
}

/** Refusals of the circuit breaker and the bulkhead: they end the call at once, without retries. */
export function isPolicyRefusal(failed: BrokerError): boolean {
  const refusedBy = failed.detail?.refusedBy;
  return refusedBy === 'circuit' || refusedBy === 'bulkhead';
}

export function circuitOpenError(
  context: CallContext,
  consecutiveFailures: number,
  lastFailure?: BrokerError,
): BrokerError {
  const last = lastFailure === undefined ? '' : ` (last: ${lastFailure.message})`;
  return new BrokerError(
    'CA_UNAVAILABLE',
    `${describeCall(context)} not attempted: the CA at ${context.caHost} failed ${consecutiveFailures} times in a row${last}; requests wait in the queue until it recovers`,
    {
      retryable: true,
      remedy: `${DEFAULT_REMEDIES.CA_UNAVAILABLE} The broker tries again after CA_CIRCUIT_HALF_OPEN_MS, once the CA's health check says UP.`,
      ...(lastFailure?.caMessage === undefined ? {} : { caMessage: lastFailure.caMessage }),
      detail: { refusedBy: 'circuit' },
    },
  );
}

/**
 * A failure the retry policy leaves alone: the breaker or the bulkhead refused, or the CA is still DOWN (a
 * half-open circuit's health check, which counts against the CA but ends the call).
 */
export function endsCallAtOnce(failed: BrokerError): boolean {
  return failed.detail?.refusedBy !== undefined;
}

export function halfOpenCheckError(context: CallContext, statusMessage: string): BrokerError {
  return callError(
    'CA_UNAVAILABLE',
    context,
    `the CA at ${context.caHost} failed repeatedly and its health check still reports it DOWN: "${statusMessage}"; requests wait in the queue until it recovers`,
    { caMessage: statusMessage, retryable: true, detail: { refusedBy: 'healthCheck' } },
  );
}

export function tooManyInFlightError(
  context: CallContext,
  maxConcurrency: number,
  maxQueued: number,
): BrokerError {
  return new BrokerError(
    'CA_UNAVAILABLE',
    `${describeCall(context)} not attempted: too many requests in flight (${maxConcurrency} CA calls running and ${maxQueued} waiting, CA_MAX_CONCURRENCY)`,
    {
      retryable: true,
      remedy:
        'Nothing to do for this request: it is retried from the queue. If this keeps happening, let the Function App scale out further (or lower host.json batchSize) rather than raising CA_MAX_CONCURRENCY beyond what DigiCert accepts.',
      detail: { refusedBy: 'bulkhead' },
    },
  );
}
