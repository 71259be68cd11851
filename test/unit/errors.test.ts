import {
  boundedText,
  BrokerError,
  DEFAULT_REMEDIES,
  ERROR_CODES,
  MAX_RESULT_TEXT_CHARS,
} from '../../shared/contract/errors';

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

describe('boundedText', () => {
  it('keeps short texts, cuts long ones saying how much, never inside a surrogate pair', () => {
    expect(boundedText('short')).toBe('short');
    const long = 'x'.repeat(MAX_RESULT_TEXT_CHARS + 10);
    expect(boundedText(long)).toBe(`${'x'.repeat(MAX_RESULT_TEXT_CHARS)}… (10 more characters cut)`);
    const emoji = `${'x'.repeat(3)}😀tail`;
    // 'xxx' + a surrogate pair + 'tail' is 9 UTF-16 units: a cut at 4 would split the pair, so 3 are kept.
    expect(boundedText(emoji, 4)).toBe('xxx… (6 more characters cut)');
  });
});
