/**
 * Fault injection: tests (and the out-of-process admin endpoint) queue misbehaviours; each request takes
 * the first queued fault that matches its service, so a test scripts "first attempt 503, second attempt OK".
 * A random mode (for soak tests) adds faults at a given rate to requests that find no queued fault, drawn
 * from a seeded generator so that a failing run can be replayed.
 */
import { randomInt } from 'node:crypto';

export const SIMULATOR_SERVICES = [
  'policyService',
  'enrollmentService',
  'healthcheckService',
  'certificateManagementService',
] as const;

export type SimulatorService = (typeof SIMULATOR_SERVICES)[number];

/**
 * When a fault strikes. Absent: before the CA looks at the request (nothing happens at the CA). `'processing'`:
 * after the CA did the work (issued and recorded the certificate, changed its status) — the ambiguous case
 * where the client sees a failure although the CA acted.
 */
export type FaultMoment = 'processing';

export type InjectedFault =
  /**
   * Wait, then answer normally (with `after`, do the work first, then wait). Without `after` the CA drops the
   * request if the client gave up meanwhile — unless `late`: a slow CA that does the work anyway (issues a
   * certificate nobody waits for any more), the case a reconciliation right after the timeout cannot see.
   */
  | { kind: 'delay'; ms: number; after?: FaultMoment; late?: boolean; service?: SimulatorService }
  /** Answer with this HTTP status (and Retry-After, if given) instead of SOAP (with `after`: once the work is done). */
  | {
      kind: 'http';
      status: number;
      retryAfter?: number | string;
      body?: string;
      after?: FaultMoment;
      service?: SimulatorService;
    }
  /** Reset the TCP connection (RST, the client sees ECONNRESET) without an answer (with `after`: once the work is done). */
  | { kind: 'reset'; after?: FaultMoment; service?: SimulatorService }
  /** Answer with this SOAP fault (HTTP 500). The faultcode (`Server`, `soap:Client`, …) is sent as soapenv:<local name>. */
  | {
      kind: 'soapFault';
      faultcode: string;
      faultstring: string;
      errorcode?: string;
      message?: string;
      service?: SimulatorService;
    };

/** Weights of the fault kinds the random mode draws from (relative; zero or absent leaves a kind out). */
export const RANDOM_FAULT_KINDS = [
  'delayBefore',
  'delayAfter',
  'http503',
  'http429',
  'reset',
  'resetAfter',
  'transientSoapFault',
  'lateIssue',
] as const;

export type RandomFaultKind = (typeof RANDOM_FAULT_KINDS)[number];

export type RandomFaultMix = Partial<Record<RandomFaultKind, number>>;

export interface RandomFaultOptions {
  /** Share of eligible requests that get a fault, 0..1. */
  rate: number;
  /** Seed of the generator (0..2^32-1); a random one is chosen (and shown in {@link FaultQueue.random}) when absent. */
  seed?: number;
  /** Default: every kind but http429 with weight 1. */
  mix?: RandomFaultMix;
  /** How long delayBefore / delayAfter / lateIssue wait; required when any of them has weight. */
  delayMs?: number;
  /** Sent as Retry-After on http503 / http429 when given. */
  retryAfterSeconds?: number;
  /** Services whose requests are eligible; default all four. */
  services?: SimulatorService[];
}

/** The random mode as it runs: every field resolved. */
export interface RandomFaultSettings {
  rate: number;
  seed: number;
  mix: Record<RandomFaultKind, number>;
  delayMs: number;
  retryAfterSeconds?: number;
  services: SimulatorService[];
}

export const DEFAULT_RANDOM_MIX: Readonly<Record<RandomFaultKind, number>> = {
  delayBefore: 1,
  delayAfter: 1,
  http503: 1,
  http429: 0,
  reset: 1,
  resetAfter: 1,
  transientSoapFault: 1,
  lateIssue: 0,
};

/** Server + "temporarily unavailable … try again": what a client should classify as transient. */
export const TRANSIENT_SOAP_FAULT = {
  faultcode: 'Server',
  faultstring: 'The service is temporarily unavailable, please try again later.',
  errorcode: '5003',
  message: 'The PKI-WS service is temporarily unavailable (injected). Try again later.',
} as const;

/** A fault chosen for one request, with the label it is counted under in the simulator's stats. */
export interface ChosenFault {
  fault: InjectedFault;
  source: 'queued' | 'random';
  /** For random faults the mix key; for queued ones derived from the shape ({@link faultLabel}). */
  label: string;
}

/** mulberry32: a tiny, fast, seedable 32-bit generator; plenty for spreading faults, useless for secrets. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `delayBefore`, `delayAfter`, `lateIssue`, `reset`, `resetAfter`, `http503`, `http504After`, `soapFault`. */
export function faultLabel(fault: InjectedFault): string {
  const after = 'after' in fault && fault.after === 'processing' ? 'After' : '';
  switch (fault.kind) {
    case 'delay':
      if (fault.late === true && after === '') return 'lateIssue';
      return after === '' ? 'delayBefore' : 'delayAfter';
    case 'reset':
      return `reset${after}`;
    case 'http':
      return `http${fault.status}${after}`;
    case 'soapFault':
      return 'soapFault';
  }
}

export class FaultQueue {
  private readonly queue: InjectedFault[] = [];
  private randomSettings: RandomFaultSettings | undefined;
  private draw: (() => number) | undefined;

  enqueue(...faults: InjectedFault[]): void {
    for (const fault of faults) this.queue.push(parseInjectedFault(fault));
  }

  /** Removes and returns the first queued fault for `service` (or for any service). */
  take(service: SimulatorService | undefined): InjectedFault | undefined {
    const index = this.queue.findIndex((fault) => fault.service === undefined || fault.service === service);
    if (index < 0) return undefined;
    return this.queue.splice(index, 1)[0];
  }

  /** The fault for the next request to `service`: a queued one first, else perhaps a random one. */
  next(service: SimulatorService): ChosenFault | undefined {
    const queued = this.take(service);
    if (queued !== undefined) return { fault: queued, source: 'queued', label: faultLabel(queued) };
    const settings = this.randomSettings;
    if (settings === undefined || this.draw === undefined || !settings.services.includes(service)) {
      return undefined;
    }
    // Two draws per eligible request, always: the sequence then depends only on the seed and the order of
    // the requests, not on which of them were hit.
    const hit = this.draw();
    const pick = this.draw();
    if (hit >= settings.rate) return undefined;
    const kind = pickWeighted(settings.mix, pick);
    return { fault: randomFault(kind, settings, service), source: 'random', label: kind };
  }

  /** Turns the random mode on, or off with `undefined`; a new call starts the generator afresh from its seed. */
  setRandom(options: RandomFaultOptions | undefined): void {
    this.configureRandom(options);
  }

  /** setRandom for options not yet checked (the admin endpoint's JSON): null and {} mean off. */
  configureRandom(input: unknown): Readonly<RandomFaultSettings> | undefined {
    const settings = parseRandomFaults(input);
    this.randomSettings = settings;
    this.draw = settings === undefined ? undefined : mulberry32(settings.seed);
    return this.random;
  }

  /** The random mode in force, with its effective seed; `undefined` when off. */
  get random(): Readonly<RandomFaultSettings> | undefined {
    return this.randomSettings === undefined
      ? undefined
      : {
          ...this.randomSettings,
          mix: { ...this.randomSettings.mix },
          services: [...this.randomSettings.services],
        };
  }

  get pending(): readonly InjectedFault[] {
    return [...this.queue];
  }

  /** Forgets the queued faults (the random mode stays; turn it off with setRandom(undefined)). */
  clear(): void {
    this.queue.length = 0;
  }
}

function pickWeighted(mix: Record<RandomFaultKind, number>, draw: number): RandomFaultKind {
  const total = RANDOM_FAULT_KINDS.reduce((sum, kind) => sum + mix[kind], 0);
  let threshold = draw * total;
  let last: RandomFaultKind = 'delayBefore';
  for (const kind of RANDOM_FAULT_KINDS) {
    if (mix[kind] <= 0) continue;
    last = kind;
    if (threshold < mix[kind]) return kind;
    threshold -= mix[kind];
  }
  return last; // rounding at the top end
}

function randomFault(
  kind: RandomFaultKind,
  settings: RandomFaultSettings,
  service: SimulatorService,
): InjectedFault {
  const retryAfter =
    settings.retryAfterSeconds === undefined ? {} : { retryAfter: settings.retryAfterSeconds };
  switch (kind) {
    case 'delayBefore':
      return { kind: 'delay', ms: settings.delayMs, service };
    case 'delayAfter':
      return { kind: 'delay', ms: settings.delayMs, after: 'processing', service };
    case 'http503':
      return { kind: 'http', status: 503, body: 'Service Unavailable (injected)', ...retryAfter, service };
    case 'http429':
      return { kind: 'http', status: 429, body: 'Too Many Requests (injected)', ...retryAfter, service };
    case 'reset':
      return { kind: 'reset', service };
    case 'resetAfter':
      return { kind: 'reset', after: 'processing', service };
    case 'transientSoapFault':
      return { kind: 'soapFault', ...TRANSIENT_SOAP_FAULT, service };
    case 'lateIssue':
      return { kind: 'delay', ms: settings.delayMs, late: true, service };
  }
}

export class InjectedFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectedFaultError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InjectedFaultError(`fault.${key} must be a string`);
  return value;
}

function isService(value: unknown): value is SimulatorService {
  return (SIMULATOR_SERVICES as readonly unknown[]).includes(value);
}

function whenOf(input: Record<string, unknown>): { after?: FaultMoment } {
  const after = input.after;
  if (after === undefined || after === 'before') return {};
  if (after === 'processing') return { after };
  throw new InjectedFaultError('fault.after must be "processing" (or absent / "before")');
}

function wholeNumber(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Checks a fault given as JSON (admin endpoint) or from code; the error names the bad field. */
export function parseInjectedFault(input: unknown): InjectedFault {
  if (!isRecord(input)) throw new InjectedFaultError('a fault must be a JSON object with "kind"');
  const service = input.service;
  if (service !== undefined && !isService(service)) {
    throw new InjectedFaultError(`fault.service must be one of ${SIMULATOR_SERVICES.join(', ')}`);
  }
  const scope = service === undefined ? {} : { service };
  switch (input.kind) {
    case 'delay': {
      const ms = input.ms;
      if (!wholeNumber(ms, 0, 600_000)) {
        throw new InjectedFaultError('fault.ms must be a whole number of milliseconds (0..600000)');
      }
      const late = input.late;
      if (late !== undefined && typeof late !== 'boolean') {
        throw new InjectedFaultError('fault.late must be true or false');
      }
      return { kind: 'delay', ms, ...whenOf(input), ...(late === true ? { late } : {}), ...scope };
    }
    case 'http': {
      const status = input.status;
      if (!wholeNumber(status, 100, 599)) {
        throw new InjectedFaultError('fault.status must be an HTTP status code (100..599)');
      }
      const retryAfter = input.retryAfter;
      if (retryAfter !== undefined && typeof retryAfter !== 'number' && typeof retryAfter !== 'string') {
        throw new InjectedFaultError('fault.retryAfter must be seconds or an HTTP date');
      }
      const body = optionalString(input, 'body');
      return {
        kind: 'http',
        status,
        ...(retryAfter === undefined ? {} : { retryAfter }),
        ...(body === undefined ? {} : { body }),
        ...whenOf(input),
        ...scope,
      };
    }
    case 'reset':
      return { kind: 'reset', ...whenOf(input), ...scope };
    case 'soapFault': {
      if (input.after !== undefined && input.after !== 'before') {
        throw new InjectedFaultError('a soapFault cannot come after processing (use http or reset for that)');
      }
      const faultcode = optionalString(input, 'faultcode');
      const faultstring = optionalString(input, 'faultstring');
      if (faultcode === undefined || faultcode === '' || faultstring === undefined) {
        throw new InjectedFaultError('a soapFault needs "faultcode" and "faultstring"');
      }
      const errorcode = optionalString(input, 'errorcode');
      const message = optionalString(input, 'message');
      return {
        kind: 'soapFault',
        faultcode,
        faultstring,
        ...(errorcode === undefined ? {} : { errorcode }),
        ...(message === undefined ? {} : { message }),
        ...scope,
      };
    }
    default:
      throw new InjectedFaultError('fault.kind must be one of delay, http, reset, soapFault');
  }
}

const RANDOM_OPTION_KEYS = ['rate', 'seed', 'mix', 'delayMs', 'retryAfterSeconds', 'services'];

/**
 * Checks the random mode's options (from code or the admin endpoint's JSON). `undefined`, `null` and `{}`
 * mean off. Unknown keys are refused, so a misspelt weight does not silently disappear.
 */
export function parseRandomFaults(input: unknown): RandomFaultSettings | undefined {
  if (input === undefined || input === null) return undefined;
  if (!isRecord(input))
    throw new InjectedFaultError('random faults must be a JSON object (or null / {} for off)');
  if (Object.keys(input).length === 0) return undefined;
  const unknown = Object.keys(input).filter((key) => !RANDOM_OPTION_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new InjectedFaultError(
      `random faults: unknown option ${unknown.map((key) => `"${key}"`).join(', ')}; the options are ${RANDOM_OPTION_KEYS.join(', ')}`,
    );
  }
  const rate = input.rate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new InjectedFaultError('random faults: rate must be a number from 0 to 1');
  }
  const seedInput = input.seed;
  if (seedInput !== undefined && !wholeNumber(seedInput, 0, 0xffffffff)) {
    throw new InjectedFaultError('random faults: seed must be a whole number from 0 to 4294967295');
  }
  const seed = seedInput ?? randomInt(0, 0xffffffff);

  const mix: Record<RandomFaultKind, number> = { ...DEFAULT_RANDOM_MIX };
  if (input.mix !== undefined) {
    if (!isRecord(input.mix)) throw new InjectedFaultError('random faults: mix must be an object of weights');
    for (const kind of RANDOM_FAULT_KINDS) mix[kind] = 0;
    for (const [key, weight] of Object.entries(input.mix)) {
      if (!(RANDOM_FAULT_KINDS as readonly string[]).includes(key)) {
        throw new InjectedFaultError(
          `random faults: mix.${key} is not a fault kind; the kinds are ${RANDOM_FAULT_KINDS.join(', ')}`,
        );
      }
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
        throw new InjectedFaultError(`random faults: mix.${key} must be a weight (a number ≥ 0)`);
      }
      mix[key as RandomFaultKind] = weight;
    }
  }
  if (!RANDOM_FAULT_KINDS.some((kind) => mix[kind] > 0)) {
    throw new InjectedFaultError('random faults: the mix needs at least one kind with a weight above 0');
  }

  const delayMs = input.delayMs;
  const delays = mix.delayBefore > 0 || mix.delayAfter > 0 || mix.lateIssue > 0;
  if (delayMs !== undefined && !wholeNumber(delayMs, 0, 600_000)) {
    throw new InjectedFaultError('random faults: delayMs must be a whole number of milliseconds (0..600000)');
  }
  if (delays && delayMs === undefined) {
    throw new InjectedFaultError(
      'random faults: delayMs is required when delayBefore, delayAfter or lateIssue has weight',
    );
  }
  const retryAfterSeconds = input.retryAfterSeconds;
  if (retryAfterSeconds !== undefined && !wholeNumber(retryAfterSeconds, 0, 86_400)) {
    throw new InjectedFaultError(
      'random faults: retryAfterSeconds must be a whole number of seconds (0..86400)',
    );
  }
  let services: SimulatorService[] = [...SIMULATOR_SERVICES];
  if (input.services !== undefined) {
    const list = input.services;
    if (!Array.isArray(list) || list.length === 0 || !list.every(isService)) {
      throw new InjectedFaultError(
        `random faults: services must be a non-empty list of ${SIMULATOR_SERVICES.join(', ')}`,
      );
    }
    services = [...new Set(list)];
  }
  return {
    rate,
    seed,
    mix,
    delayMs: delayMs ?? 0,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    services,
  };
}
