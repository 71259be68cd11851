/**
 * Fault injection: tests (and the out-of-process admin endpoint) queue misbehaviours; each request takes
 * the first queued fault that matches its service, so a test scripts "first attempt 503, second attempt OK".
 */

export const SIMULATOR_SERVICES = [
  'policyService',
  'enrollmentService',
  'healthcheckService',
  'certificateManagementService',
] as const;

export type SimulatorService = (typeof SIMULATOR_SERVICES)[number];

export type InjectedFault =
  /** Wait, then answer normally. */
  | { kind: 'delay'; ms: number; service?: SimulatorService }
  /** Answer with this HTTP status (and Retry-After, if given) instead of SOAP. */
  | { kind: 'http'; status: number; retryAfter?: number | string; body?: string; service?: SimulatorService }
  /** Drop the connection without an answer. */
  | { kind: 'reset'; service?: SimulatorService }
  /** Answer with this SOAP fault (HTTP 500). The faultcode (`Server`, `soap:Client`, …) is sent as soapenv:<local name>. */
  | {
      kind: 'soapFault';
      faultcode: string;
      faultstring: string;
      errorcode?: string;
      message?: string;
      service?: SimulatorService;
    };

export class FaultQueue {
  private readonly queue: InjectedFault[] = [];

  enqueue(...faults: InjectedFault[]): void {
    for (const fault of faults) this.queue.push(parseInjectedFault(fault));
  }

  /** Removes and returns the first fault for `service` (or for any service). */
  take(service: SimulatorService | undefined): InjectedFault | undefined {
    const index = this.queue.findIndex((fault) => fault.service === undefined || fault.service === service);
    if (index < 0) return undefined;
    return this.queue.splice(index, 1)[0];
  }

  get pending(): readonly InjectedFault[] {
    return [...this.queue];
  }

  clear(): void {
    this.queue.length = 0;
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

/** Checks a fault given as JSON (admin endpoint) or from code; the error names the bad field. */
export function parseInjectedFault(input: unknown): InjectedFault {
  if (!isRecord(input)) throw new InjectedFaultError('a fault must be a JSON object with "kind"');
  const service = input.service;
  if (service !== undefined && !(SIMULATOR_SERVICES as readonly unknown[]).includes(service)) {
    throw new InjectedFaultError(`fault.service must be one of ${SIMULATOR_SERVICES.join(', ')}`);
  }
  const scope = service === undefined ? {} : { service: service as SimulatorService };
  switch (input.kind) {
    case 'delay': {
      const ms = input.ms;
      if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 600_000) {
        throw new InjectedFaultError('fault.ms must be a whole number of milliseconds (0..600000)');
      }
      return { kind: 'delay', ms, ...scope };
    }
    case 'http': {
      const status = input.status;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
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
        ...scope,
      };
    }
    case 'reset':
      return { kind: 'reset', ...scope };
    case 'soapFault': {
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
