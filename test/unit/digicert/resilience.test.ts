/**
 * The resilience policies on their own (retry, circuit breaker per host, bulkhead), with an injected clock,
 * sleep and jitter: nothing here waits for real.
 */
import { BrokerError } from '../../../shared/contract/errors';
import { CallContext } from '../../../shared/digicert/faults/callContext';
import { interpretHttpAnswer } from '../../../shared/digicert/faults/httpAnswer';
import { ambiguousError } from '../../../shared/digicert/faults/transient';
import { halfOpenCheckError } from '../../../shared/digicert/resilienceRefusals';
import { CaResilience, type ResilienceSettings } from '../../../shared/digicert/resilience';
import { failureOf } from '../../support/brokerErrors';

const HOST = 'ca.fabrikam.test';
const OTHER_HOST = 'ca2.fabrikam.test';
const context: CallContext = { operation: 'getPolicies', caHost: HOST, service: 'policyService' };

interface Harness {
  resilience: CaResilience;
  sleeps: number[];
  clock: { now: number };
}

function harness(overrides: Partial<ResilienceSettings> = {}): Harness {
  const sleeps: number[] = [];
  const clock = { now: Date.parse('2026-02-01T08:00:00Z') };
  const resilience = new CaResilience(
    {
      maxAttempts: 3,
      baseDelayMs: 100,
      maxRetryDelayMs: 30_000,
      circuitFailures: 5,
      circuitHalfOpenMs: 30_000,
      maxConcurrency: 8,
      maxQueuedCalls: 1000,
      ...overrides,
    },
    {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      now: () => clock.now,
    },
  );
  return { resilience, sleeps, clock };
}

const timeout = () => new BrokerError('CA_TIMEOUT', `DigiCert getPolicies at ${HOST} failed: no answer`);
const unknownProfile = () =>
  new BrokerError('PROFILE_NOT_FOUND', `DigiCert getPolicies at ${HOST} failed: unknown profile`);

function busy(retryAfterSeconds: number): BrokerError {
  const outcome = interpretHttpAnswer(
    { status: 503, headers: { 'retry-after': String(retryAfterSeconds) }, bodyText: '' },
    context,
    0,
  );
  if (outcome.ok) throw new Error('expected a failure');
  return outcome.error;
}

/** An attempt that fails with the given errors in turn, then answers `result`. */
function scripted<T>(failures: BrokerError[], result: T): jest.Mock<Promise<T>, []> {
  const queue = [...failures];
  return jest.fn(async () => {
    const next = queue.shift();
    if (next !== undefined) throw next;
    return result;
  });
}

const healthy = jest.fn(async () => undefined);

function run<T>(
  resilience: CaResilience,
  attempt: () => Promise<T>,
  healthCheck: () => Promise<void> = healthy,
  caHost = HOST,
): Promise<T> {
  return resilience.run({ caHost, context: { ...context, caHost }, attempt, healthCheck });
}

beforeEach(() => healthy.mockClear());

describe('retry', () => {
  it('retries transient failures with full-jitter backoff and succeeds', async () => {
    const { resilience, sleeps } = harness();
    const attempt = scripted([timeout(), timeout()], 'policy');
    await expect(run(resilience, attempt)).resolves.toBe('policy');
    expect(attempt).toHaveBeenCalledTimes(3);
    // random() = 0.5: half of 100, then half of 200.
    expect(sleeps).toEqual([50, 100]);
  });

  it('gives up after caMaxAttempts with the count in the message', async () => {
    const { resilience, sleeps } = harness();
    const attempt = scripted([timeout(), timeout(), timeout(), timeout()], 'never');
    const error = await failureOf(run(resilience, attempt));
    expect(error.code).toBe('CA_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/no answer \(3 attempts\)$/);
    expect(attempt).toHaveBeenCalledTimes(3);
    expect(sleeps).toHaveLength(2);
  });

  it('never retries a permanent failure', async () => {
    const { resilience, sleeps } = harness();
    const attempt = scripted([unknownProfile()], 'never');
    expect((await failureOf(run(resilience, attempt))).code).toBe('PROFILE_NOT_FOUND');
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(sleeps).toEqual([]);
  });

  it('never retries an ambiguous failure (an enrollment that may have been carried out)', async () => {
    const { resilience, sleeps } = harness();
    const attempt = scripted([ambiguousError(timeout())], 'never');
    const error = await failureOf(run(resilience, attempt));
    expect(error).toMatchObject({ code: 'CA_TIMEOUT', ambiguous: true, retryable: true });
    expect(error.message).toMatch(/may have issued/);
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(sleeps).toEqual([]);
  });

  it('waits what Retry-After asks; a longer pause than the cap ends the retries', async () => {
    const { resilience, sleeps } = harness({ maxRetryDelayMs: 10_000 });
    await expect(run(resilience, scripted([busy(2), busy(0)], 'ok'))).resolves.toBe('ok');
    expect(sleeps).toEqual([2000, 0]);
    const tooLong = scripted([busy(3600)], 'never');
    const error = await failureOf(run(resilience, tooLong));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(tooLong).toHaveBeenCalledTimes(1);
    expect(sleeps).toEqual([2000, 0]);
  });

  it('with CA_MAX_ATTEMPTS=1 makes exactly one attempt', async () => {
    const { resilience } = harness({ maxAttempts: 1 });
    const attempt = scripted([timeout()], 'never');
    expect((await failureOf(run(resilience, attempt))).message).not.toMatch(/attempts\)/);
    expect(attempt).toHaveBeenCalledTimes(1);
  });
});

describe('circuit breaker per CA host', () => {
  async function openCircuit(resilience: CaResilience, failures: number, caHost = HOST): Promise<void> {
    for (let index = 0; index < failures; index += 1) {
      await failureOf(run(resilience, scripted([timeout()], 'never'), healthy, caHost));
    }
  }

  it('opens after CA_CIRCUIT_FAILURES transient failures in a row; then calls fail at once', async () => {
    const { resilience } = harness({ maxAttempts: 1, circuitFailures: 3 });
    await openCircuit(resilience, 2);
    expect(resilience.circuitStatus(HOST)).toBe('closed');
    await openCircuit(resilience, 1);
    expect(resilience.circuitStatus(HOST)).toBe('open');
    const attempt = scripted([], 'policy');
    const error = await failureOf(run(resilience, attempt));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.ambiguous).toBe(false);
    expect(error.message).toMatch(
      new RegExp(
        `the CA at ${HOST} failed 3 times in a row \\(last: .*no answer\\); requests wait in the queue until it recovers`,
      ),
    );
    expect(error.remedy).toMatch(/CA_CIRCUIT_HALF_OPEN_MS/);
    expect(attempt).not.toHaveBeenCalled();
  });

  it('counts failures across the retries of one call, and an open circuit ends the retries at once', async () => {
    const { resilience, sleeps } = harness({ maxAttempts: 5, circuitFailures: 2 });
    const attempt = scripted([timeout(), timeout(), timeout()], 'never');
    const error = await failureOf(run(resilience, attempt));
    expect(error.message).toMatch(/failed 2 times in a row/);
    expect(attempt).toHaveBeenCalledTimes(2);
    expect(sleeps).toHaveLength(2);
  });

  it('does not count a refusal of the request (PROFILE_NOT_FOUND), and a success resets the count', async () => {
    const { resilience } = harness({ maxAttempts: 1, circuitFailures: 2 });
    await openCircuit(resilience, 1);
    await failureOf(run(resilience, scripted([unknownProfile()], 'never')));
    await run(resilience, scripted([], 'ok'));
    await openCircuit(resilience, 1);
    expect(resilience.circuitStatus(HOST)).toBe('closed');
    for (let index = 0; index < 5; index += 1) {
      await failureOf(run(resilience, scripted([unknownProfile()], 'never')));
    }
    expect(resilience.circuitStatus(HOST)).toBe('closed');
  });

  it('keeps one circuit per host', async () => {
    const { resilience } = harness({ maxAttempts: 1, circuitFailures: 2 });
    await openCircuit(resilience, 2, HOST);
    expect(resilience.circuitStatus(HOST)).toBe('open');
    expect(resilience.circuitStatus(OTHER_HOST)).toBe('closed');
    await expect(run(resilience, scripted([], 'other'), healthy, OTHER_HOST)).resolves.toBe('other');
  });

  it('after CA_CIRCUIT_HALF_OPEN_MS asks the health operation first: DOWN keeps it open, UP lets the call through', async () => {
    const { resilience, clock } = harness({ maxAttempts: 1, circuitFailures: 2, circuitHalfOpenMs: 30_000 });
    await openCircuit(resilience, 2);
    const attempt = scripted([], 'policy');
    const down = jest.fn(async () => {
      throw halfOpenCheckError(context, 'Scheduled maintenance');
    });

    clock.now += 29_999;
    expect((await failureOf(run(resilience, attempt, down))).message).toMatch(/2 times in a row/);
    expect(down).not.toHaveBeenCalled();

    clock.now += 1;
    const stillDown = await failureOf(run(resilience, attempt, down));
    expect(down).toHaveBeenCalledTimes(1);
    expect(stillDown.code).toBe('CA_UNAVAILABLE');
    expect(stillDown.message).toMatch(/health check still reports it DOWN: "Scheduled maintenance"/);
    expect(attempt).not.toHaveBeenCalled();
    expect(resilience.circuitStatus(HOST)).toBe('open');

    // Open again for a whole pause, counted from the failed check.
    clock.now += 20_000;
    expect((await failureOf(run(resilience, attempt, down))).message).toMatch(/in a row/);
    expect(down).toHaveBeenCalledTimes(1);

    clock.now += 10_000;
    const up = jest.fn(async () => undefined);
    await expect(run(resilience, attempt, up)).resolves.toBe('policy');
    expect(up).toHaveBeenCalledTimes(1);
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(resilience.circuitStatus(HOST)).toBe('closed');

    // Closed: no more health checks before calls.
    await run(resilience, attempt, up);
    expect(up).toHaveBeenCalledTimes(1);
  });

  it('a half-open test call that fails again reopens the circuit', async () => {
    const { resilience, clock } = harness({ maxAttempts: 1, circuitFailures: 2, circuitHalfOpenMs: 1000 });
    await openCircuit(resilience, 2);
    clock.now += 1000;
    const error = await failureOf(run(resilience, scripted([timeout()], 'never')));
    expect(error.code).toBe('CA_TIMEOUT');
    expect(healthy).toHaveBeenCalledTimes(1);
    expect(resilience.circuitStatus(HOST)).toBe('open');
  });

  it('while the test call runs, other calls wait for it and then go through', async () => {
    const { resilience, clock } = harness({ maxAttempts: 1, circuitFailures: 1, circuitHalfOpenMs: 1000 });
    await openCircuit(resilience, 1);
    clock.now += 1000;
    let releaseCheck: () => void = () => undefined;
    const slowCheck = jest.fn(
      () =>
        new Promise<void>((resolve) => {
          releaseCheck = resolve;
        }),
    );
    const first = run(resilience, scripted([], 'first'), slowCheck);
    await new Promise((resolve) => setImmediate(resolve));
    expect(resilience.circuitStatus(HOST)).toBe('half-open');
    const waiting = jest.fn(async () => 'second');
    const second = run(resilience, waiting, slowCheck);
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiting).not.toHaveBeenCalled();
    releaseCheck();
    await expect(Promise.all([first, second])).resolves.toEqual(['first', 'second']);
    expect(slowCheck).toHaveBeenCalledTimes(1);
  });
});

describe('bulkhead (CA_MAX_CONCURRENCY)', () => {
  interface Gate {
    running: number;
    maxRunning: number;
    release(): void;
  }

  function gatedAttempt(gate: Gate): () => Promise<string> {
    return () =>
      new Promise<string>((resolve) => {
        gate.running += 1;
        gate.maxRunning = Math.max(gate.maxRunning, gate.running);
        const previous = gate.release;
        gate.release = () => {
          previous();
          gate.running -= 1;
          resolve('done');
        };
      });
  }

  it('runs at most CA_MAX_CONCURRENCY calls at a time; the others wait their turn', async () => {
    const { resilience } = harness({ maxConcurrency: 2 });
    const gate: Gate = { running: 0, maxRunning: 0, release: () => undefined };
    const calls = Array.from({ length: 5 }, () => run(resilience, gatedAttempt(gate)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.running).toBe(2);
    expect(resilience.load()).toEqual({ running: 2, queued: 3 });
    while (gate.running > 0 || resilience.load().queued > 0) {
      gate.release();
      gate.release = () => undefined;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(Promise.all(calls)).resolves.toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(gate.maxRunning).toBe(2);
  });

  it('beyond the queue a call fails at once with CA_UNAVAILABLE, retryable, not counted against the CA', async () => {
    const { resilience } = harness({ maxConcurrency: 1, maxQueuedCalls: 1, circuitFailures: 1 });
    const gate: Gate = { running: 0, maxRunning: 0, release: () => undefined };
    const running = run(resilience, gatedAttempt(gate));
    const queued = run(resilience, gatedAttempt(gate));
    await new Promise((resolve) => setImmediate(resolve));
    const refusedAttempt = jest.fn(async () => 'never');
    const error = await failureOf(run(resilience, refusedAttempt));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(
      /too many requests in flight \(1 CA calls running and 1 waiting, CA_MAX_CONCURRENCY\)/,
    );
    expect(refusedAttempt).not.toHaveBeenCalled();
    expect(resilience.circuitStatus(HOST)).toBe('closed');
    gate.release();
    await new Promise((resolve) => setImmediate(resolve));
    gate.release();
    await expect(Promise.all([running, queued])).resolves.toEqual(['done', 'done']);
  });

  it('a call backing off holds no slot', async () => {
    let releaseSleep: () => void = () => undefined;
    let sleepStarted: () => void = () => undefined;
    const sleeping = new Promise<void>((resolve) => {
      sleepStarted = resolve;
    });
    // A sleep that waits until released, to look at the bulkhead during the wait.
    const resilience = new CaResilience(
      {
        maxAttempts: 2,
        baseDelayMs: 100,
        maxRetryDelayMs: 30_000,
        circuitFailures: 5,
        circuitHalfOpenMs: 30_000,
        maxConcurrency: 1,
        maxQueuedCalls: 10,
      },
      {
        sleep: () =>
          new Promise<void>((resolve) => {
            releaseSleep = resolve;
            sleepStarted();
          }),
        random: () => 0.5,
        now: Date.now,
      },
    );
    const retrying = run(resilience, scripted([timeout()], 'retried'));
    await sleeping;
    expect(resilience.load()).toEqual({ running: 0, queued: 0 });
    await expect(run(resilience, scripted([], 'meanwhile'))).resolves.toBe('meanwhile');
    releaseSleep();
    await expect(retrying).resolves.toBe('retried');
  });
});
