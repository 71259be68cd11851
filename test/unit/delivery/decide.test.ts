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

interface Row {
  name: string;
  caught: () => unknown;
  dequeueCount: number;
  /** Minutes since the record was created; null: no record (the message never reached the ledger). */
  age: number | null;
  job?: JobNames;
  maxWait?: number;
  expected: { kind: DeliveryDecision['kind']; seconds?: number; code: string; reportedCode?: string };
}

const rows: Row[] = [
  // An outage: retried while deliveries remain, then waited out up to REQUEST_MAX_WAIT_MINUTES.
  {
    name: 'outage, first delivery',
    caught: outage,
    dequeueCount: 1,
    age: 0,
    expected: { kind: 'retry', code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage, next-to-last delivery',
    caught: outage,
    dequeueCount: 4,
    age: 3,
    expected: { kind: 'retry', code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage, last delivery, young request: the minimum delay',
    caught: outage,
    dequeueCount: 5,
    age: 1,
    expected: { kind: 'defer', seconds: 60, code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage, last delivery: half the age',
    caught: outage,
    dequeueCount: 5,
    age: 10,
    expected: { kind: 'defer', seconds: 300, code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage, last delivery: at most 15 minutes',
    caught: outage,
    dequeueCount: 5,
    age: 100,
    expected: { kind: 'defer', seconds: 900, code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage, last delivery: at most the time left',
    caught: outage,
    dequeueCount: 5,
    age: 235,
    expected: { kind: 'defer', seconds: 300, code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage beyond the delivery count too',
    caught: outage,
    dequeueCount: 9,
    age: 20,
    expected: { kind: 'defer', seconds: 600, code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'outage, max wait reached',
    caught: outage,
    dequeueCount: 5,
    age: 240,
    expected: { kind: 'fail', code: 'CA_UNAVAILABLE', reportedCode: 'GAVE_UP' },
  },
  {
    name: 'outage, waiting turned off',
    caught: outage,
    dequeueCount: 5,
    age: 0,
    maxWait: 0,
    expected: { kind: 'fail', code: 'CA_UNAVAILABLE', reportedCode: 'GAVE_UP' },
  },
  {
    name: 'outage without a record',
    caught: outage,
    dequeueCount: 5,
    age: null,
    expected: { kind: 'fail', code: 'CA_UNAVAILABLE', reportedCode: 'GAVE_UP' },
  },
  // Unforeseen failures and conflicts are retried, but never waited for beyond the deliveries.
  {
    name: 'unforeseen, first delivery',
    caught: () => new TypeError('boom'),
    dequeueCount: 1,
    age: 0,
    expected: { kind: 'retry', code: 'GAVE_UP' },
  },
  {
    name: 'unforeseen, last delivery',
    caught: () => new TypeError('boom'),
    dequeueCount: 5,
    age: 0,
    expected: { kind: 'fail', code: 'GAVE_UP', reportedCode: 'GAVE_UP' },
  },
  {
    name: 'a thrown non-error, last delivery',
    caught: () => 'text',
    dequeueCount: 5,
    age: null,
    expected: { kind: 'fail', code: 'GAVE_UP', reportedCode: 'GAVE_UP' },
  },
  {
    name: 'ledger conflict, first delivery',
    caught: () => new LedgerConflictError('r-1'),
    dequeueCount: 1,
    age: 0,
    expected: { kind: 'retry', code: 'GAVE_UP' },
  },
  {
    name: 'ledger conflict, last delivery',
    caught: () => new LedgerConflictError('r-1'),
    dequeueCount: 5,
    age: 0,
    expected: { kind: 'fail', code: 'GAVE_UP', reportedCode: 'GAVE_UP' },
  },
  // A permanent failure ends at once, reported as it is.
  {
    name: 'permanent, first delivery',
    caught: refusal,
    dequeueCount: 1,
    age: 0,
    expected: { kind: 'fail', code: 'CA_REJECTED', reportedCode: 'CA_REJECTED' },
  },
  {
    name: 'permanent, last delivery',
    caught: refusal,
    dequeueCount: 5,
    age: 0,
    expected: { kind: 'fail', code: 'CA_REJECTED', reportedCode: 'CA_REJECTED' },
  },
  {
    name: 'permanent, without a record',
    caught: refusal,
    dequeueCount: 1,
    age: null,
    expected: { kind: 'fail', code: 'CA_REJECTED', reportedCode: 'CA_REJECTED' },
  },
  // The revocation job decides the same way.
  {
    name: 'revocation outage, first delivery',
    caught: outage,
    dequeueCount: 1,
    age: 0,
    job: REVOCATION_JOB,
    expected: { kind: 'retry', code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'revocation outage, last delivery',
    caught: outage,
    dequeueCount: 5,
    age: 10,
    job: REVOCATION_JOB,
    expected: { kind: 'defer', seconds: 300, code: 'CA_UNAVAILABLE' },
  },
  {
    name: 'revocation outage, max wait reached',
    caught: outage,
    dequeueCount: 5,
    age: 241,
    job: REVOCATION_JOB,
    expected: { kind: 'fail', code: 'CA_UNAVAILABLE', reportedCode: 'GAVE_UP' },
  },
];

describe('decide', () => {
  it.each(rows)('$name → $expected.kind', (row) => {
    const decision = decide(
      row.caught(),
      { dequeueCount: row.dequeueCount },
      row.age === null ? undefined : { createdAt },
      { ...settings, requestMaxWaitMinutes: row.maxWait ?? settings.requestMaxWaitMinutes },
      minutesLater(row.age ?? 0),
      row.job ?? REQUEST_JOB,
    );
    expect(decision.kind).toBe(row.expected.kind);
    expect(decision.error.code).toBe(row.expected.code);
    if (decision.kind === 'defer') expect(decision.seconds).toBe(row.expected.seconds);
    if (decision.kind === 'fail') {
      expect(decision.reported.code).toBe(row.expected.reportedCode);
      expect(decision.reported.retryable).toBe(false);
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
