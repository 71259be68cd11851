import { BrokerError, DEFAULT_REMEDIES, ERROR_CODES } from '../../shared/contract/errors';

describe('BrokerError', () => {
  it('has a remedy for every contract code', () => {
    for (const code of ERROR_CODES) expect(DEFAULT_REMEDIES[code].length).toBeGreaterThan(20);
  });

  it('marks only transient CA conditions retryable by default', () => {
    expect(new BrokerError('CA_TIMEOUT', 'x').retryable).toBe(true);
    expect(new BrokerError('CA_UNAVAILABLE', 'x').retryable).toBe(true);
    expect(new BrokerError('POLICY_MISMATCH', 'x').retryable).toBe(false);
    expect(new BrokerError('RA_CERT_UNAVAILABLE', 'x', { retryable: true }).retryable).toBe(true);
  });
});
