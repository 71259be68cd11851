/**
 * What a fault is: the misbehaviours a test can queue, the kinds the random mode draws from, and their
 * resolved settings. Checking faults given as JSON is in faultParsing.ts; choosing them in faults.ts.
 */
import type { SimulatorService } from './services';

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
      /** Sent as Location: with a 3xx, a redirect (to another host) the client must not follow. */
      location?: string;
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
    }
  /** Answer 200 with a body made to hurt the client (see {@link HOSTILE_BODY_SHAPES}). */
  | {
      kind: 'hostileBody';
      shape: HostileBodyShape;
      entityUrl?: string;
      after?: FaultMoment;
      service?: SimulatorService;
    }
  /** Answer 200 with `bytes` of XML, streamed as fast as the client reads; stops when the client hangs up. */
  | { kind: 'hugeBody'; bytes: number; after?: FaultMoment; service?: SimulatorService }
  /** Answer 200 and send one byte every `intervalMs`, without end, until the client hangs up. */
  | { kind: 'slowBody'; intervalMs: number; after?: FaultMoment; service?: SimulatorService }
  /** Announce the whole answer's length, send half of it, then destroy the TLS connection. */
  | { kind: 'truncate'; after?: FaultMoment; service?: SimulatorService }
  /**
   * Issue (and record) a certificate the client must refuse: for another key, for another subject, or signed
   * by a key other than that of the issuing CA the chain names. Enrollment only.
   */
  | { kind: 'wrongCertificate'; what: WrongCertificate; service?: 'enrollmentService' };

/**
 * Bodies a hostile or broken CA may send: 100,000 nested elements; a DTD with exponential entities; a DTD
 * whose external entity points at `entityUrl` (default file:///etc/passwd); an HTML error page (text/html);
 * JSON (application/json); random bytes (application/octet-stream).
 */
export const HOSTILE_BODY_SHAPES = [
  'deepNesting',
  'billionLaughs',
  'externalEntity',
  'html',
  'json',
  'binary',
] as const;

export type HostileBodyShape = (typeof HOSTILE_BODY_SHAPES)[number];

export const WRONG_CERTIFICATES = ['otherKey', 'otherSubject', 'brokenChain'] as const;

export type WrongCertificate = (typeof WRONG_CERTIFICATES)[number];

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
