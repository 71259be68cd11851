/**
 * Checks faults and random-mode options given from code or as JSON over the admin endpoint; each error
 * names the bad field.
 */
import { randomInt } from 'node:crypto';
import {
  DEFAULT_RANDOM_MIX,
  HOSTILE_BODY_SHAPES,
  RANDOM_FAULT_KINDS,
  WRONG_CERTIFICATES,
  type FaultMoment,
  type InjectedFault,
  type RandomFaultKind,
  type RandomFaultSettings,
} from './faultModel';
import { SIMULATOR_SERVICES, type SimulatorService } from './services';

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
      const location = optionalString(input, 'location');
      return {
        kind: 'http',
        status,
        ...(retryAfter === undefined ? {} : { retryAfter }),
        ...(body === undefined ? {} : { body }),
        ...(location === undefined ? {} : { location }),
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
    case 'hostileBody': {
      const shape = HOSTILE_BODY_SHAPES.find((known) => known === input.shape);
      if (shape === undefined) {
        throw new InjectedFaultError(`fault.shape must be one of ${HOSTILE_BODY_SHAPES.join(', ')}`);
      }
      const entityUrl = optionalString(input, 'entityUrl');
      return {
        kind: 'hostileBody',
        shape,
        ...(entityUrl === undefined ? {} : { entityUrl }),
        ...whenOf(input),
        ...scope,
      };
    }
    case 'hugeBody': {
      const bytes = input.bytes;
      if (!wholeNumber(bytes, 1, 1024 ** 3)) {
        throw new InjectedFaultError('fault.bytes must be a whole number of bytes (1..1073741824)');
      }
      return { kind: 'hugeBody', bytes, ...whenOf(input), ...scope };
    }
    case 'slowBody': {
      const intervalMs = input.intervalMs;
      if (!wholeNumber(intervalMs, 1, 60_000)) {
        throw new InjectedFaultError('fault.intervalMs must be a whole number of milliseconds (1..60000)');
      }
      return { kind: 'slowBody', intervalMs, ...whenOf(input), ...scope };
    }
    case 'truncate':
      return { kind: 'truncate', ...whenOf(input), ...scope };
    case 'wrongCertificate': {
      const what = WRONG_CERTIFICATES.find((known) => known === input.what);
      if (what === undefined) {
        throw new InjectedFaultError(`fault.what must be one of ${WRONG_CERTIFICATES.join(', ')}`);
      }
      if (service !== undefined && service !== 'enrollmentService') {
        throw new InjectedFaultError('a wrongCertificate fault is for the enrollmentService only');
      }
      if (input.after !== undefined) {
        throw new InjectedFaultError('a wrongCertificate fault strikes while the CA issues: no "after"');
      }
      return { kind: 'wrongCertificate', what, service: 'enrollmentService' };
    }
    default:
      throw new InjectedFaultError(
        'fault.kind must be one of delay, http, reset, soapFault, hostileBody, hugeBody, slowBody, truncate, wrongCertificate',
      );
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
