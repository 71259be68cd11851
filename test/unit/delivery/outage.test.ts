import { BrokerError, resultErrorOf } from '../../../shared/contract/errors';
import { REQUEST_JOB, REVOCATION_JOB, gaveUp, isOutage, toBrokerError } from '../../../shared/delivery';
import { LedgerConflictError } from '../../../shared/ledger/types';

describe('toBrokerError', () => {
  it('hands a BrokerError on as it is', () => {
    const known = new BrokerError('CA_TIMEOUT', 'late');
    expect(toBrokerError(known, REQUEST_JOB)).toBe(known);
  });

  it('makes an unexpected exception a retryable GAVE_UP marked unforeseen, its texts unchanged', () => {
    const error = toBrokerError(new TypeError('x is undefined'), REQUEST_JOB);
    expect(resultErrorOf(error)).toEqual({
      code: 'GAVE_UP',
      message: 'The broker failed unexpectedly: x is undefined',
      remedy: 'This is an unexpected internal failure; report it with the requestId to the broker operators.',
      retryable: true,
    });
    expect(error.detail).toEqual({ unforeseen: true });
    expect(toBrokerError('thrown text', REVOCATION_JOB).message).toBe(
      'The broker failed unexpectedly: thrown text',
    );
  });

  it('makes a ledger conflict a retryable GAVE_UP marked unforeseen and owned elsewhere, its texts unchanged', () => {
    const error = toBrokerError(new LedgerConflictError('r-1'), REVOCATION_JOB);
    expect(resultErrorOf(error)).toEqual({
      code: 'GAVE_UP',
      message: 'Another delivery of revocation r-1 is handling it at the same time.',
      remedy: 'Nothing to do: the other delivery completes the revocation and its result is published once.',
      retryable: true,
    });
    expect(error.detail).toEqual({ unforeseen: true, anotherDeliveryAtWork: true });
  });
});

describe('isOutage', () => {
  it('is a retryable failure that is not unforeseen', () => {
    expect(isOutage(new BrokerError('CA_UNAVAILABLE', 'down'))).toBe(true);
    expect(isOutage(new BrokerError('CA_TIMEOUT', 'late'))).toBe(true);
    expect(isOutage(new BrokerError('RA_CERT_UNAVAILABLE', 'vault', { retryable: true }))).toBe(true);
    expect(isOutage(new BrokerError('POLICY_MISMATCH', 'no'))).toBe(false);
    expect(isOutage(toBrokerError(new Error('bug'), REQUEST_JOB))).toBe(false);
    expect(isOutage(toBrokerError(new LedgerConflictError('r-1'), REQUEST_JOB))).toBe(false);
  });

  it('is never what gaveUp reports', () => {
    const outage = new BrokerError('CA_UNAVAILABLE', 'down');
    const unforeseen = toBrokerError(new Error('bug'), REQUEST_JOB);
    expect(isOutage(gaveUp(outage, 5, REQUEST_JOB))).toBe(false);
    expect(isOutage(gaveUp(unforeseen, 5, REQUEST_JOB))).toBe(false);
    expect(gaveUp(unforeseen, 5, REQUEST_JOB).detail).toEqual({ unforeseen: true });
  });
});
