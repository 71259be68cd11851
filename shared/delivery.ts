/**
 * Rules every queue-driven job of the broker (issuing, revoking) follows at the end of a delivery: what an
 * unforeseen failure becomes, when an outage is waited out beyond the queue's deliveries and for how long,
 * and how a transient failure that outlasted them is reported.
 */
import type { BrokerSettings } from './config/settings';
import { BrokerError, isBrokerError } from './contract/errors';
import { LedgerConflictError } from './ledger/types';

/** The longest a deferred message waits before its next round of deliveries. */
export const MAX_DEFER_SECONDS = 900;

/** What a job is called in its messages: `request` with its requestId, `revocation` with its revocationId. */
export interface JobNames {
  noun: 'request' | 'revocation';
  idName: 'requestId' | 'revocationId';
}

export const REQUEST_JOB: JobNames = { noun: 'request', idName: 'requestId' };
export const REVOCATION_JOB: JobNames = { noun: 'revocation', idName: 'revocationId' };

/**
 * Anything that is not a BrokerError is an unforeseen condition: it may pass, so the message is delivered
 * again like any transient failure, and never lost. A ledger conflict means another delivery of the same
 * message got there first: coming back later replays its result. Both are marked `detail.unforeseen`: worth
 * another delivery, not an outage to wait out.
 */
export function toBrokerError(caught: unknown, job: JobNames): BrokerError {
  if (isBrokerError(caught)) return caught;
  if (caught instanceof LedgerConflictError) {
    return new BrokerError(
      'GAVE_UP',
      `Another delivery of ${job.noun} ${caught.requestId} is handling it at the same time.`,
      {
        remedy: `Nothing to do: the other delivery completes the ${job.noun} and its result is published once.`,
        retryable: true,
        // The record is the other delivery's now: this one must not write it, settle it or give its seat back.
        detail: { unforeseen: true, anotherDeliveryAtWork: true },
      },
    );
  }
  const problem = caught instanceof Error ? caught.message : String(caught);
  return new BrokerError('GAVE_UP', `The broker failed unexpectedly: ${problem}`, {
    remedy: `This is an unexpected internal failure; report it with the ${job.idName} to the broker operators.`,
    retryable: true,
    cause: caught,
    detail: { unforeseen: true },
  });
}

/** A dependency that is down (the CA, Key Vault, Graph): worth waiting for, beyond the queue's deliveries. */
export function isOutage(error: BrokerError): boolean {
  return error.retryable && error.detail?.unforeseen !== true;
}

/**
 * Seconds a message created at `createdAt` should wait before its next round of deliveries, or undefined when
 * it has waited REQUEST_MAX_WAIT_MINUTES already. The delay grows with its age (half of it, within
 * REQUEST_DEFER_MIN_SECONDS..15 minutes), so a short outage is retried soon and a long one is not hammered.
 */
export function deferralSeconds(
  createdAt: string,
  now: Date,
  settings: Pick<BrokerSettings, 'requestMaxWaitMinutes' | 'requestDeferMinSeconds'>,
): number | undefined {
  const { requestMaxWaitMinutes, requestDeferMinSeconds } = settings;
  const ageSeconds = Math.max(0, (now.getTime() - Date.parse(createdAt)) / 1000);
  const leftSeconds = requestMaxWaitMinutes * 60 - ageSeconds;
  if (!(leftSeconds > 0)) return undefined;
  const delay = Math.min(Math.max(ageSeconds / 2, requestDeferMinSeconds), MAX_DEFER_SECONDS, leftSeconds);
  return Math.max(1, Math.ceil(delay));
}

/** A transient failure that outlasted every delivery is reported as GAVE_UP with its cause (never twice wrapped). */
export function gaveUp(last: BrokerError, deliveries: number, job: JobNames): BrokerError {
  if (last.code === 'GAVE_UP')
    return new BrokerError('GAVE_UP', last.message, {
      remedy: last.remedy,
      retryable: false,
      detail: last.detail,
    });
  const what = job.noun === 'request' ? 'the message' : 'the revocation';
  return new BrokerError(
    'GAVE_UP',
    `Gave up after ${deliveries} deliveries of ${what}; the last error was ${last.code}: ${last.message}`,
    { remedy: last.remedy, retryable: false, caMessage: last.caMessage, cause: last, detail: last.detail },
  );
}

/** What ends a delivery that failed: the queue's next say, a wait beyond its deliveries, or a failed result. */
export type DeliveryDecision =
  /** Leave the message on the queue: it is delivered again after the visibility timeout. */
  | { kind: 'retry'; error: BrokerError }
  /** The deliveries are used up, the outage is not: the message goes back on the queue in `seconds`. */
  | { kind: 'defer'; error: BrokerError; seconds: number }
  /** End with a failed result that reports `reported` (GAVE_UP with the cause for a transient `error`). */
  | { kind: 'fail'; error: BrokerError; reported: BrokerError };

/**
 * The decision after a delivery failed with `caught`: retry while a transient failure has deliveries left;
 * past them, defer an outage of a job that has a record (its age bounds the wait); otherwise fail. Pure: the
 * caller writes the ledger and publishes.
 */
export function decide(
  caught: unknown,
  delivery: { dequeueCount: number },
  record: { createdAt: string } | undefined,
  settings: Pick<BrokerSettings, 'maxDequeueCount' | 'requestMaxWaitMinutes' | 'requestDeferMinSeconds'>,
  now: Date,
  job: JobNames,
): DeliveryDecision {
  const error = toBrokerError(caught, job);
  if (error.retryable && delivery.dequeueCount < settings.maxDequeueCount) return { kind: 'retry', error };
  const seconds =
    record !== undefined && isOutage(error) ? deferralSeconds(record.createdAt, now, settings) : undefined;
  if (seconds !== undefined) return { kind: 'defer', error, seconds };
  const reported = error.retryable ? gaveUp(error, delivery.dequeueCount, job) : error;
  return { kind: 'fail', error, reported };
}

/**
 * The GAVE_UP of a message the queue moved to its poison queue because no delivery completed, with the last
 * error its record saw, if any.
 */
export function poisonedGaveUp(
  deliveries: number,
  last: { code: string; message: string } | undefined,
  job: JobNames,
): BrokerError {
  const what = job.noun === 'request' ? 'The request' : 'The revocation';
  return new BrokerError(
    'GAVE_UP',
    `${what} was delivered ${deliveries} times and no delivery completed, so it was moved to the poison queue` +
      (last
        ? `; the last error was ${last.code}: ${last.message}`
        : ' (the broker failed or was stopped while handling it).'),
    { retryable: false },
  );
}
