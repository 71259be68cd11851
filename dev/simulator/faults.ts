/**
 * Fault injection: tests (and the out-of-process admin endpoint) queue misbehaviours; each request takes
 * the first queued fault that matches its service, so a test scripts "first attempt 503, second attempt OK".
 * A random mode (for soak tests) adds faults at a given rate to requests that find no queued fault, drawn
 * from a seeded generator so that a failing run can be replayed.
 */
import { parseInjectedFault, parseRandomFaults } from './faultParsing';
import {
  RANDOM_FAULT_KINDS,
  TRANSIENT_SOAP_FAULT,
  type InjectedFault,
  type RandomFaultKind,
  type RandomFaultOptions,
  type RandomFaultSettings,
} from './faultModel';
import type { SimulatorService } from './services';

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

/**
 * `delayBefore`, `delayAfter`, `lateIssue`, `reset`, `resetAfter`, `http503`, `http504After`, `soapFault`,
 * `hostileBody:html`, `hugeBody`, `slowBodyAfter`, `truncateAfter`, `wrongCertificate:otherKey`, ….
 */
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
    case 'hostileBody':
      return `hostileBody:${fault.shape}${after}`;
    case 'hugeBody':
    case 'slowBody':
    case 'truncate':
      return `${fault.kind}${after}`;
    case 'wrongCertificate':
      return `wrongCertificate:${fault.what}`;
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
