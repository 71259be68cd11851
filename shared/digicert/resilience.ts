/**
 * How calls to the CA survive a CA that struggles, with cockatiel's policies:
 *
 * - retry, per call: transient failures only (timeouts, broken connections, 5xx, transient faults), never an
 *   ambiguous one (an enrollment that may have been carried out); exponential backoff with full jitter, or
 *   what the CA asked for with Retry-After (capped; a longer Retry-After ends the retries);
 * - a circuit breaker per CA host: after CA_CIRCUIT_FAILURES transient failures in a row, calls fail at once
 *   for CA_CIRCUIT_HALF_OPEN_MS; then the first call is preceded by the health operation and goes through
 *   only when the CA says UP;
 * - a bulkhead: at most CA_MAX_CONCURRENCY calls to the CA at a time in this process, the others queue
 *   (bounded; beyond it the call fails at once).
 *
 * Order: retry › (backoff wait) › bulkhead › breaker › (health check) › the attempt. Waiting happens outside
 * the bulkhead, so a backing-off call holds no slot; a bulkhead refusal never counts against the CA.
 */
import {
  BrokenCircuitError,
  BulkheadPolicy,
  BulkheadRejectedError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  GeneratorFn,
  IBackoff,
  IBackoffFactory,
  IHalfOpenAfterBackoffContext,
  IRetryBackoffContext,
  bulkhead,
  circuitBreaker,
  handleWhen,
  noJitterGenerator,
  retry,
} from 'cockatiel';
import { BrokerError } from '../contract/errors';
import { CallContext } from './faults/callContext';
import { isTransientCaFailure } from './faults/transient';
import {
  afterAttempts,
  circuitOpenError,
  endsCallAtOnce,
  isPolicyRefusal,
  tooManyInFlightError,
} from './resilienceRefusals';

export const DEFAULT_CIRCUIT_FAILURES = 5;
export const DEFAULT_CIRCUIT_HALF_OPEN_MS = 30_000;
export const DEFAULT_MAX_CONCURRENCY = 8;
export const DEFAULT_MAX_QUEUED_CALLS = 1000;

export interface ResilienceSettings {
  /** Attempts per call, the first included (CA_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Ceiling of the first backoff; it doubles each retry (CA_RETRY_BASE_DELAY_MS). */
  baseDelayMs: number;
  /** Longest wait between attempts, for the backoff and for Retry-After. */
  maxRetryDelayMs: number;
  /** Consecutive transient failures of one CA host that open its circuit (CA_CIRCUIT_FAILURES). */
  circuitFailures: number;
  /** How long an open circuit refuses calls before the health operation is asked (CA_CIRCUIT_HALF_OPEN_MS). */
  circuitHalfOpenMs: number;
  /** CA calls at a time in this process (CA_MAX_CONCURRENCY). */
  maxConcurrency: number;
  /** Calls that may wait for a slot; one more fails at once. */
  maxQueuedCalls: number;
}

export interface ResilienceClock {
  sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1): the jitter source. */
  random: () => number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export interface GuardedCall<T> {
  /** The CA host (authority) whose circuit the call goes through. */
  caHost: string;
  /** For the messages of the policies' own refusals. */
  context: CallContext;
  /** One attempt; throws BrokerError. */
  attempt: () => Promise<T>;
  /** The health operation: throws when the CA is not UP. Runs before the first attempt after an open circuit's pause. */
  healthCheck: () => Promise<void>;
}

export type CircuitStatus = 'closed' | 'open' | 'half-open' | 'isolated';

/** Full jitter with an injectable random source: [0, min(maxDelay, initialDelay · 2^n)). */
export function fullJitterGenerator(random: () => number): GeneratorFn<number> {
  return (state, options) => {
    const [ceiling, next] = noJitterGenerator(state, options);
    return [Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling), next];
  };
}

type RetryContext = IRetryBackoffContext<unknown>;

/** The delay the failure asks for: the CA's Retry-After (429/503), if it sent one. */
function retryAfterOfFailure(context: RetryContext): number | undefined {
  const failure = 'error' in context.result ? context.result.error : undefined;
  return failure instanceof BrokerError ? failure.detail?.retryAfterMs : undefined;
}

/**
 * What the CA asked for with Retry-After when it did (capped), else the next step of `backoff`. The backoff
 * advances either way, so the exponential keeps counting the failed attempts.
 */
export class RetryAfterBackoff implements IBackoffFactory<RetryContext> {
  constructor(
    private readonly backoff: IBackoffFactory<unknown>,
    private readonly capMs: number,
  ) {}

  next(context: RetryContext): IBackoff<RetryContext> {
    const step = this.backoff.next(context);
    const asked = retryAfterOfFailure(context);
    const capMs = this.capMs;
    return {
      duration: asked === undefined ? step.duration : Math.min(asked, capMs),
      next: (following) => new RetryAfterBackoff(step, capMs).next(following),
    };
  }
}

/**
 * Hands cockatiel a zero wait and the computed one to `plan`: the wait then happens in the call itself,
 * through the injectable sleep (so tests need no real or fake timers) and outside the bulkhead.
 */
class WaitInCall implements IBackoffFactory<RetryContext> {
  constructor(
    private readonly backoff: IBackoffFactory<RetryContext>,
    private readonly plan: (ms: number) => void,
  ) {}

  next(context: RetryContext): IBackoff<RetryContext> {
    const step = this.backoff.next(context);
    this.plan(step.duration);
    return { duration: 0, next: (following) => new WaitInCall(step, this.plan).next(following) };
  }
}

/**
 * An open circuit's pause, measured on the injected clock. cockatiel compares `Date.now() − openedAt` with
 * the backoff's duration; this duration is written so that the comparison holds exactly while less than
 * `pauseMs` has passed on `now()` (with the default clock it is simply `pauseMs`).
 */
function pauseOnClock(pauseMs: number, now: () => number): IBackoffFactory<IHalfOpenAfterBackoffContext> {
  const factory: IBackoffFactory<IHalfOpenAfterBackoffContext> = {
    next: () => {
      const openedAt = now();
      const openedAtWallClock = Date.now();
      return {
        get duration() {
          const remaining = pauseMs - (now() - openedAt);
          // 0 once the pause has passed on now(): cockatiel's own wall-clock openedAt may be a millisecond
          // later than ours, so an exact expression could keep the circuit open by that millisecond.
          return remaining <= 0 ? 0 : remaining + (Date.now() - openedAtWallClock);
        },
        next: (context) => factory.next(context),
      };
    },
  };
  return factory;
}

class HostCircuit {
  readonly policy: CircuitBreakerPolicy;
  private probeDue = false;

  constructor(settings: ResilienceSettings, now: () => number) {
    this.policy = circuitBreaker(handleWhen(countsAgainstCa), {
      breaker: new ConsecutiveBreaker(Math.max(1, settings.circuitFailures)),
      halfOpenAfter: pauseOnClock(settings.circuitHalfOpenMs, now),
    });
    // cockatiel announces the test call just before running it: that call asks the health operation first.
    this.policy.onHalfOpen(() => {
      this.probeDue = true;
    });
  }

  /** True once for the test call of a half-open circuit. */
  takeProbe(): boolean {
    const due = this.probeDue;
    this.probeDue = false;
    return due;
  }

  lastFailure(): BrokerError | undefined {
    const last = this.policy.lastFailure;
    return last !== undefined && 'error' in last && last.error instanceof BrokerError
      ? last.error
      : undefined;
  }

  status(): CircuitStatus {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Isolated:
        return 'isolated';
    }
  }
}

/** Failures that say the CA is struggling; a refusal of the request (a fault, a profile unknown) does not. */
function countsAgainstCa(error: Error): boolean {
  return error instanceof BrokerError && isTransientCaFailure(error) && !isPolicyRefusal(error);
}

export class CaResilience {
  private readonly settings: ResilienceSettings;
  private readonly clock: ResilienceClock;
  private readonly bulkhead: BulkheadPolicy;
  private readonly circuits = new Map<string, HostCircuit>();

  constructor(settings: ResilienceSettings, clock: ResilienceClock) {
    this.settings = settings;
    this.clock = clock;
    this.bulkhead = bulkhead(Math.max(1, settings.maxConcurrency), Math.max(0, settings.maxQueuedCalls));
  }

  /** Runs a call under the policies; throws BrokerError (after N attempts, the count in the message). */
  async run<T>(call: GuardedCall<T>): Promise<T> {
    const circuit = this.circuitFor(call.caHost);
    let attempts = 0;
    let plannedWaitMs = 0;
    const exponential = new ExponentialBackoff({
      initialDelay: this.settings.baseDelayMs,
      maxDelay: this.settings.maxRetryDelayMs,
      generator: fullJitterGenerator(this.clock.random),
    });
    const policy = retry(
      handleWhen((error) => this.worthRetrying(error)),
      {
        maxAttempts: Math.max(0, this.settings.maxAttempts - 1),
        backoff: new WaitInCall(new RetryAfterBackoff(exponential, this.settings.maxRetryDelayMs), (ms) => {
          plannedWaitMs = ms;
        }),
      },
    );
    try {
      return await policy.execute(async () => {
        if (attempts > 0) await this.clock.sleep(plannedWaitMs);
        attempts += 1;
        return this.guarded(circuit, call);
      });
    } catch (error) {
      if (!(error instanceof BrokerError) || isPolicyRefusal(error)) throw error;
      throw afterAttempts(error, attempts);
    }
  }

  /** The state of a CA host's circuit (closed when it has seen no call yet). */
  circuitStatus(caHost: string): CircuitStatus {
    return this.circuits.get(caHost)?.status() ?? 'closed';
  }

  /** Calls running and waiting in the bulkhead now. */
  load(): { running: number; queued: number } {
    return {
      running: Math.max(1, this.settings.maxConcurrency) - this.bulkhead.executionSlots,
      queued: Math.max(0, this.settings.maxQueuedCalls) - this.bulkhead.queueSlots,
    };
  }

  private worthRetrying(error: Error): boolean {
    if (!(error instanceof BrokerError)) return false;
    if (!isTransientCaFailure(error) || error.ambiguous || endsCallAtOnce(error)) return false;
    // A CA asking for a longer pause than we may wait is not retried within this call.
    return (error.detail?.retryAfterMs ?? 0) <= this.settings.maxRetryDelayMs;
  }

  private async guarded<T>(circuit: HostCircuit, call: GuardedCall<T>): Promise<T> {
    try {
      return await this.bulkhead.execute(() =>
        circuit.policy.execute(async () => {
          if (circuit.takeProbe()) await call.healthCheck();
          return call.attempt();
        }),
      );
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw circuitOpenError(call.context, this.settings.circuitFailures, circuit.lastFailure());
      }
      if (error instanceof BulkheadRejectedError) {
        throw tooManyInFlightError(call.context, this.settings.maxConcurrency, this.settings.maxQueuedCalls);
      }
      throw error;
    }
  }

  private circuitFor(caHost: string): HostCircuit {
    let circuit = this.circuits.get(caHost);
    if (circuit === undefined) {
      circuit = new HostCircuit(this.settings, this.clock.now);
      this.circuits.set(caHost, circuit);
    }
    return circuit;
  }
}
