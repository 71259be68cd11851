import { BrokerError } from '../../../shared/contract/errors';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { ambiguousError } from '../../../shared/digicert/faults/transient';
import {
  afterAttempts,
  circuitOpenError,
  endsCallAtOnce,
  halfOpenCheckError,
  isPolicyRefusal,
  tooManyInFlightError,
} from '../../../shared/digicert/resilienceRefusals';

describe('afterAttempts', () => {
  it('keeps code, remedy and CA message and adds the count', () => {
    const last = new BrokerError('CA_TIMEOUT', 'x timed out', { caMessage: 'slow' });
    const final = afterAttempts(last, 3);
    expect(final).toMatchObject({
      code: 'CA_TIMEOUT',
      retryable: true,
      caMessage: 'slow',
      remedy: last.remedy,
    });
    expect(final.message).toBe('x timed out (3 attempts)');
    expect(afterAttempts(last, 1)).toBe(last);
  });

  it('keeps ambiguous', () => {
    const final = afterAttempts(ambiguousError(new BrokerError('CA_TIMEOUT', 'x timed out')), 2);
    expect(final).toMatchObject({ code: 'CA_TIMEOUT', ambiguous: true, retryable: true });
    expect(final.message).toMatch(/may have issued the certificate.*\(2 attempts\)$/);
  });

  it('keeps the detail', () => {
    const last = new BrokerError('CA_UNAVAILABLE', 'busy', { detail: { retryAfterMs: 1000 } });
    expect(afterAttempts(last, 2).detail).toEqual({ retryAfterMs: 1000 });
  });
});

describe("the policies' own refusals", () => {
  const context: CallContext = { operation: 'getPolicies', caHost: 'ca.example', service: 'policyService' };

  it('say which policy refused in their detail: the breaker and the bulkhead end the call uncounted', () => {
    const open = circuitOpenError(context, 5);
    const full = tooManyInFlightError(context, 8, 1000);
    const down = halfOpenCheckError(context, 'maintenance');
    expect([open, full, down].map((refused) => refused.detail?.refusedBy)).toEqual([
      'circuit',
      'bulkhead',
      'healthCheck',
    ]);
    expect([open, full, down].map(isPolicyRefusal)).toEqual([true, true, false]);
    expect([open, full, down].map(endsCallAtOnce)).toEqual([true, true, true]);
    expect(endsCallAtOnce(new BrokerError('CA_UNAVAILABLE', 'reset'))).toBe(false);
  });
});
