import {
  ExponentialBackoff,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
} from 'cockatiel';
import { BrokerError } from '../../../shared/contract/errors';
import { interpretHttpAnswer } from '../../../shared/digicert/faults/httpAnswer';
import { fullJitterGenerator, RetryAfterBackoff } from '../../../shared/digicert/resilience';
import { resolveCaHost } from '../../../shared/digicert/transport';

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

/** The first `count` durations of a backoff chain fed with these failures. */
function durations(factory: IBackoffFactory<IRetryBackoffContext<unknown>>, failures: Error[]): number[] {
  const result: number[] = [];
  let backoff: IBackoff<IRetryBackoffContext<unknown>> | undefined;
  failures.forEach((failure, index) => {
    const context = { attempt: index + 1, signal: new AbortController().signal, result: { error: failure } };
    backoff = backoff === undefined ? factory.next(context) : backoff.next(context);
    result.push(backoff.duration);
  });
  return result;
}

function exponential(base: number, draw: () => number, cap = 30000): ExponentialBackoff<number> {
  return new ExponentialBackoff({ initialDelay: base, maxDelay: cap, generator: fullJitterGenerator(draw) });
}

function busyFor(ms: number): BrokerError {
  const outcome = interpretHttpAnswer(
    { status: 503, headers: { 'retry-after': String(ms / 1000) }, bodyText: '' },
    { operation: 'getStatus', caHost: 'ca.example', service: 'healthcheckService' },
    0,
  );
  if (outcome.ok) throw new Error('expected a failure');
  return outcome.error;
}

const timeout = new BrokerError('CA_TIMEOUT', 'no answer in time');

describe('backoff with full jitter (cockatiel ExponentialBackoff)', () => {
  it('draws from [0, base·2^(n−1)) and never beyond the cap', () => {
    const failures = Array.from({ length: 20 }, () => timeout);
    expect(
      durations(
        exponential(500, () => 0.999),
        failures.slice(0, 1),
      ),
    ).toEqual([499]);
    expect(
      durations(
        exponential(500, () => 0.5),
        failures.slice(0, 3),
      ),
    ).toEqual([250, 500, 1000]);
    expect(
      durations(
        exponential(500, () => 0),
        failures.slice(0, 4),
      ),
    ).toEqual([0, 0, 0, 0]);
    const capped = durations(
      exponential(500, () => 0.5),
      failures,
    );
    expect(capped[19]).toBe(15000);
    expect(
      Math.max(
        ...durations(
          exponential(500, () => 0.999999),
          failures,
        ),
      ),
    ).toBeLessThan(30000);
  });

  it('spreads: different random draws give different delays', () => {
    const third = (draw: number) =>
      durations(
        exponential(1000, () => draw),
        [timeout, timeout, timeout],
      )[2];
    expect([0.1, 0.4, 0.7].map(third)).toEqual([400, 1600, 2800]);
  });

  it('a base delay of 0 never waits', () => {
    expect(
      durations(
        exponential(0, () => 0.9),
        [timeout, timeout, timeout],
      ),
    ).toEqual([0, 0, 0]);
  });
});

describe('Retry-After backoff', () => {
  it('waits what Retry-After asks, capped, and the exponential keeps counting underneath', () => {
    const backoff = new RetryAfterBackoff(
      exponential(500, () => 0.5),
      30000,
    );
    expect(durations(backoff, [busyFor(7000), timeout, busyFor(0), timeout, busyFor(3_600_000)])).toEqual([
      7000, 500, 0, 2000, 30000,
    ]);
  });

  it('reads the delay only from a 429/503 answer, never from other errors', () => {
    expect(busyFor(2000).detail?.retryAfterMs).toBe(2000);
    expect(timeout.detail?.retryAfterMs).toBeUndefined();
    const serverError = interpretHttpAnswer(
      { status: 500, headers: { 'retry-after': '5' }, bodyText: '' },
      { operation: 'getStatus', caHost: 'ca.example', service: 'healthcheckService' },
      0,
    );
    expect(serverError.ok).toBe(false);
    if (!serverError.ok) expect(serverError.error.detail?.retryAfterMs).toBeUndefined();
  });
});
