import { BrokerError } from '../../../shared/contract/errors';
import { backoffDelayMs, resolveCaHost, retryDelayMs } from '../../../shared/digicert/transport';

describe('resolveCaHost (allow-list)', () => {
  const allowed = ['pki-ws.symauth.com', 'sim.local:8443', 'Mixed.Case.Example'];

  it.each([
    ['pki-ws.symauth.com', 'pki-ws.symauth.com'],
    ['PKI-WS.SYMAUTH.COM', 'pki-ws.symauth.com'],
    ['pki-ws.symauth.com:443', 'pki-ws.symauth.com'],
    ['sim.local:8443', 'sim.local:8443'],
    ['mixed.case.example', 'mixed.case.example'],
  ])('allows %s (→ %s)', (caHost, authority) => {
    expect(resolveCaHost(caHost, allowed).authority).toBe(authority);
  });

  it.each([
    ['pki-ws.symauth.com:8443', /not in CA_ALLOWED_HOSTS/],
    ['sim.local', /not in CA_ALLOWED_HOSTS/],
    ['sim.local:443', /not in CA_ALLOWED_HOSTS/],
    ['evil.example', /not in CA_ALLOWED_HOSTS/],
    ['pki-ws.symauth.com.evil.example', /not in CA_ALLOWED_HOSTS/],
    ['https://pki-ws.symauth.com', /no scheme/],
    ['pki-ws.symauth.com/', /no trailing slash/],
    ['pki-ws.symauth.com/pki-ws', /no path/],
    ['user@pki-ws.symauth.com', /not a host name/],
    ['pki-ws.symauth.com:99999', /not a host name/],
    ['', /not a host name/],
  ])('refuses %s with CA_NOT_ALLOWED', (caHost, message) => {
    let thrown: unknown;
    try {
      resolveCaHost(caHost, allowed);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BrokerError);
    expect((thrown as BrokerError).code).toBe('CA_NOT_ALLOWED');
    expect((thrown as BrokerError).retryable).toBe(false);
    expect((thrown as BrokerError).message).toMatch(message);
  });
});

describe('backoff with full jitter', () => {
  it('draws from [0, base·2^(n−1)) and never beyond the cap', () => {
    expect(backoffDelayMs(1, 500, () => 0.999, 30000)).toBe(499);
    expect(backoffDelayMs(2, 500, () => 0.5, 30000)).toBe(500);
    expect(backoffDelayMs(3, 500, () => 0.5, 30000)).toBe(1000);
    expect(backoffDelayMs(4, 500, () => 0, 30000)).toBe(0);
    expect(backoffDelayMs(20, 500, () => 0.5, 30000)).toBe(15000);
    expect(backoffDelayMs(20, 500, () => 0.999999, 30000)).toBeLessThan(30000);
  });

  it('spreads: different random draws give different delays', () => {
    const delays = [0.1, 0.4, 0.7].map((draw) => backoffDelayMs(3, 1000, () => draw, 30000));
    expect(delays).toEqual([400, 1600, 2800]);
  });

  it('waits what Retry-After asks, and gives up when it asks for more than the cap', () => {
    expect(retryDelayMs(1, 7000, 500, () => 0.5, 30000)).toBe(7000);
    expect(retryDelayMs(1, 0, 500, () => 0.5, 30000)).toBe(0);
    expect(retryDelayMs(1, 3_600_000, 500, () => 0.5, 30000)).toBeUndefined();
    expect(retryDelayMs(2, undefined, 500, () => 0.5, 30000)).toBe(500);
  });
});
