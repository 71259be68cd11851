import { inspect } from 'node:util';
import {
  boundedText,
  BrokerError,
  BrokerErrorOptions,
  DEFAULT_REMEDIES,
  ERROR_CODES,
  MAX_RESULT_TEXT_CHARS,
  resultErrorOf,
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

  it('keeps its detail out of everything that is written: JSON, results, inspection, spreads', () => {
    const options: BrokerErrorOptions = { caMessage: 'busy', remedy: 'wait', retryable: true };
    const plain = new BrokerError('CA_UNAVAILABLE', 'the CA is busy', options);
    const detailed = new BrokerError('CA_UNAVAILABLE', 'the CA is busy', {
      ...options,
      detail: { raRejection: 'inferred', retryAfterMs: 2000, refusedBy: 'circuit', unforeseen: true },
    });
    detailed.stack = plain.stack;
    expect(detailed.detail).toEqual({
      raRejection: 'inferred',
      retryAfterMs: 2000,
      refusedBy: 'circuit',
      unforeseen: true,
    });
    expect(JSON.stringify(detailed)).toBe(JSON.stringify(plain));
    expect(JSON.stringify(resultErrorOf(detailed))).toBe(JSON.stringify(resultErrorOf(plain)));
    expect(inspect(detailed)).toBe(inspect(plain));
    expect(Object.keys(detailed)).toEqual(Object.keys(plain));
    expect(JSON.stringify({ ...detailed })).toBe(JSON.stringify({ ...plain }));
    expect(JSON.stringify(detailed)).not.toMatch(/2000|inferred|circuit|unforeseen|detail/);
  });

  it('keeps a copy of its detail that cannot be changed afterwards', () => {
    const detail = { retryAfterMs: 1000 };
    const error = new BrokerError('CA_UNAVAILABLE', 'x', { detail });
    detail.retryAfterMs = 5;
    expect(error.detail?.retryAfterMs).toBe(1000);
    expect(Object.isFrozen(error.detail)).toBe(true);
    expect(new BrokerError('CA_UNAVAILABLE', 'x').detail).toBeUndefined();
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
