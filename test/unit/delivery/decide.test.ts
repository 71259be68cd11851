/** The end of a failed delivery as a table: every outcome kind, for both jobs, without a queue or a ledger. */
import { BrokerError } from '../../../shared/contract/errors';
import {
  decide,
  poisonedGaveUp,
  REQUEST_JOB,
  REVOCATION_JOB,
  type DeliveryDecision,
  type JobNames,
} from '../../../shared/delivery';
import { LedgerConflictError } from '../../../shared/ledger/types';

const settings = { maxDequeueCount: 5, requestMaxWaitMinutes: 240, requestDeferMinSeconds: 60 };
const createdAt = '2026-01-01T00:00:00.000Z';
const minutesLater = (minutes: number): Date => new Date(Date.parse(createdAt) + minutes * 60_000);

const outage = (): BrokerError => new BrokerError('CA_UNAVAILABLE', 'the CA is down');
const refusal = (): BrokerError =>
  new BrokerError('CA_REJECTED', 'the CA said no', { caMessage: 'profile disabled' });

const unforeseen = (): unknown => new TypeError('boom');
const conflict = (): unknown => new LedgerConflictError('r-1');

/** A decision in one line: `retry CODE`, `defer N s CODE`, or `fail CODE → REPORTED CODE`. */
function summary(decision: DeliveryDecision): string {
  switch (decision.kind) {
    case 'retry':
      return `retry ${decision.error.code}`;
    case 'defer':
      return `defer ${decision.seconds} s ${decision.error.code}`;
    case 'fail':
      return `fail ${decision.error.code} → ${decision.reported.code}`;
  }
}

/** name, decision, what was caught, dequeueCount, minutes since the record was created (null: no record). */
type Row = [string, string, () => unknown, number, number | null];

const requestRows: Row[] = [
  // An outage: retried while deliveries remain, then waited out up to REQUEST_MAX_WAIT_MINUTES.
  ['outage, first delivery', 'retry CA_UNAVAILABLE', outage, 1, 0],
  ['outage, next-to-last delivery', 'retry CA_UNAVAILABLE', outage, 4, 3],
  ['outage, last delivery, young: the minimum delay', 'defer 60 s CA_UNAVAILABLE', outage, 5, 1],
  ['outage, last delivery: half the age', 'defer 300 s CA_UNAVAILABLE', outage, 5, 10],
  ['outage, last delivery: at most 15 minutes', 'defer 900 s CA_UNAVAILABLE', outage, 5, 100],
  ['outage, last delivery: at most the time left', 'defer 300 s CA_UNAVAILABLE', outage, 5, 235],
  ['outage, a delivery past the count', 'defer 600 s CA_UNAVAILABLE', outage, 9, 20],
  ['outage, max wait reached', 'fail CA_UNAVAILABLE → GAVE_UP', outage, 5, 240],
  ['outage without a record', 'fail CA_UNAVAILABLE → GAVE_UP', outage, 5, null],
  // Unforeseen failures and conflicts are retried, but never waited for beyond the deliveries.
  ['unforeseen, first delivery', 'retry GAVE_UP', unforeseen, 1, 0],
  ['unforeseen, last delivery', 'fail GAVE_UP → GAVE_UP', unforeseen, 5, 0],
  ['a thrown non-error, last delivery', 'fail GAVE_UP → GAVE_UP', () => 'text', 5, null],
  ['ledger conflict, first delivery', 'retry GAVE_UP', conflict, 1, 0],
  ['ledger conflict, last delivery', 'fail GAVE_UP → GAVE_UP', conflict, 5, 0],
  // A permanent failure ends at once, reported as it is.
  ['permanent, first delivery', 'fail CA_REJECTED → CA_REJECTED', refusal, 1, 0],
  ['permanent, last delivery', 'fail CA_REJECTED → CA_REJECTED', refusal, 5, 0],
  ['permanent, without a record', 'fail CA_REJECTED → CA_REJECTED', refusal, 1, null],
];

const revocationRows: Row[] = [
  ['outage, first delivery', 'retry CA_UNAVAILABLE', outage, 1, 0],
  ['outage, last delivery', 'defer 300 s CA_UNAVAILABLE', outage, 5, 10],
  ['outage, max wait reached', 'fail CA_UNAVAILABLE → GAVE_UP', outage, 5, 241],
  ['permanent', 'fail CA_REJECTED → CA_REJECTED', refusal, 1, 0],
];

function decided(row: Row, job: JobNames, maxWait = settings.requestMaxWaitMinutes): DeliveryDecision {
  const [, , caught, dequeueCount, age] = row;
  return decide(
    caught(),
    { dequeueCount },
    age === null ? undefined : { createdAt },
    { ...settings, requestMaxWaitMinutes: maxWait },
    minutesLater(age ?? 0),
    job,
  );
}

describe('decide', () => {
  it.each(requestRows)('request: %s → %s', (...row) => {
    expect(summary(decided(row, REQUEST_JOB))).toBe(row[1]);
  });

  it.each(revocationRows)('revocation: %s → %s', (...row) => {
    expect(summary(decided(row, REVOCATION_JOB))).toBe(row[1]);
  });

  it('never defers when waiting is off (REQUEST_MAX_WAIT_MINUTES=0)', () => {
    expect(summary(decided(['', '', outage, 5, 0], REQUEST_JOB, 0))).toBe('fail CA_UNAVAILABLE → GAVE_UP');
  });

  it('reports a failure that ends the job as not retryable', () => {
    for (const row of requestRows) {
      const decision = decided(row, REQUEST_JOB);
      if (decision.kind === 'fail') expect(decision.reported.retryable).toBe(false);
    }
  });

  it('passes a BrokerError through as the error, and a permanent one as the report', () => {
    const error = refusal();
    const decision = decide(
      error,
      { dequeueCount: 1 },
      { createdAt },
      settings,
      minutesLater(0),
      REQUEST_JOB,
    );
    expect(decision).toEqual({ kind: 'fail', error, reported: error });
    expect(decision.kind === 'fail' && decision.reported).toBe(error);
  });

  it('reports a transient failure that outlasted the deliveries with its cause, in the words of its job', () => {
    const request = decide(outage(), { dequeueCount: 5 }, undefined, settings, minutesLater(0), REQUEST_JOB);
    const revocation = decide(
      outage(),
      { dequeueCount: 5 },
      undefined,
      settings,
      minutesLater(0),
      REVOCATION_JOB,
    );
    if (request.kind !== 'fail' || revocation.kind !== 'fail') throw new Error('expected fail');
    expect(request.reported.message).toBe(
      'Gave up after 5 deliveries of the message; the last error was CA_UNAVAILABLE: the CA is down',
    );
    expect(revocation.reported.message).toBe(
      'Gave up after 5 deliveries of the revocation; the last error was CA_UNAVAILABLE: the CA is down',
    );
    expect(request.reported.cause).toBe(request.error);
  });

  it('reports an unforeseen failure once, not wrapped in a second GAVE_UP, naming the id of its job', () => {
    const request = decide(
      new Error('boom'),
      { dequeueCount: 5 },
      undefined,
      settings,
      minutesLater(0),
      REQUEST_JOB,
    );
    const revocation = decide(
      new Error('boom'),
      { dequeueCount: 5 },
      undefined,
      settings,
      minutesLater(0),
      REVOCATION_JOB,
    );
    if (request.kind !== 'fail' || revocation.kind !== 'fail') throw new Error('expected fail');
    expect(request.reported.message).toBe('The broker failed unexpectedly: boom');
    expect(request.reported.remedy).toMatch(/with the requestId/);
    expect(revocation.reported.remedy).toMatch(/with the revocationId/);
  });

  it('names the other delivery of a conflict', () => {
    const decision = decide(
      new LedgerConflictError('r-7'),
      { dequeueCount: 1 },
      { createdAt },
      settings,
      minutesLater(0),
      REQUEST_JOB,
    );
    expect(decision).toMatchObject({ kind: 'retry', error: { code: 'GAVE_UP', retryable: true } });
    expect(decision.error.message).toBe('Another delivery of request r-7 is handling it at the same time.');
  });
});

describe('poisonedGaveUp', () => {
  it('reports a poison message with the last error its record saw, or says none was seen', () => {
    const last = { code: 'CA_TIMEOUT', message: 'no answer' };
    expect(poisonedGaveUp(5, last, REQUEST_JOB)).toMatchObject({
      code: 'GAVE_UP',
      retryable: false,
      message:
        'The request was delivered 5 times and no delivery completed, so it was moved to the poison queue; the last error was CA_TIMEOUT: no answer',
    });
    expect(poisonedGaveUp(3, undefined, REVOCATION_JOB).message).toBe(
      'The revocation was delivered 3 times and no delivery completed, so it was moved to the poison queue (the broker failed or was stopped while handling it).',
    );
  });
});
