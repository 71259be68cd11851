/**
 * A local DigiCert PKI-WS stand-in for the dev stack and the tests: SOAP 1.1 over HTTPS with mutual TLS
 * (only clients with a certificate from the dev RA CA get through the handshake), the four services under
 * `/pki-ws/`, real certificates from the dev issuing CA, a record of every request for wire-format checks,
 * fault injection (queued or random, before or after the CA did the work), refusal of chosen RA certificates,
 * and counters — programmatic, or over `/__simulator/…` for out-of-process use.
 */
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { DevPki } from '../pki/devPki';
import { decideEnrollment, readEnrollmentRequest, requestSecurityTokenResponse } from './enrollment';
import type { InjectedFault } from './faultModel';
import { InjectedFaultError, parseInjectedFault } from './faultParsing';
import { FaultQueue } from './faults';
import { getStatusResponse, type HealthState } from './healthcheck';
import { issueCertificate, prepareIssuingAuthority, type SubjectEntry } from './issuer';
import {
  accountAudit,
  DEFAULT_SEARCH_PAGE_SIZE,
  DEFAULT_SEARCH_READING,
  type SearchReading,
  managementOperation,
  searchCertificate,
  updateCertificateStatus,
  type AccountAudit,
  type IssuedCertificate,
} from './management';
import { getPoliciesResponse, readPolicyRequest, selectProfiles, type PolicyCa } from './policy';
import { defaultProfiles, loadProfilesFile, type SimulatorProfile } from './profiles';
import { SIMULATOR_SERVICES, type SimulatorService } from './services';
import {
  ERROR_CODES,
  faultEnvelope,
  notUnderstoodFault,
  SimulatorFault,
  unsupportedOperationFault,
} from './soapFault';
import {
  childElement,
  childText,
  parseXml,
  soapBodyElement,
  soapEnvelope,
  XmlReadError,
  type ParsedElement,
  type XmlElement,
} from './xml';

export {
  RANDOM_FAULT_KINDS,
  TRANSIENT_SOAP_FAULT,
  type RandomFaultKind,
  type RandomFaultMix,
  type RandomFaultOptions,
  type RandomFaultSettings,
} from './faultModel';
export type { FaultMoment, InjectedFault } from './faultModel';
export { SIMULATOR_SERVICES, type SimulatorService } from './services';
export type { AccountAudit, IssuedCertificate, SeatAudit } from './management';
export type { SimulatorProfile } from './profiles';

export interface SimulatorOptions {
  pki: DevPki;
  /** A profile file of your own instead of dev/simulator/profiles.json. */
  profilesFile?: string;
  /** Profiles given directly (wins over profilesFile). */
  profiles?: SimulatorProfile[];
  /** 0 (default) picks a free port. */
  port?: number;
  /** 127.0.0.1 by default. */
  host?: string;
  /** One line per request (method, path, operation, status, duration); no bodies, no secrets. */
  log?: (line: string) => void;
  /** Keep the raw XML of each request in `received` (default true; false keeps '' and the size only). */
  recordBodies?: boolean;
  /** At most this many entries in `received`, the oldest dropped first (default 10,000). */
  maxReceived?: number;
  /** Certificates per searchCertificate answer (default 50), smaller to exercise paging. */
  searchPageSize?: number;
  /**
   * How searchCertificate reads startIndex and certificateCount and whether it sends moreCertificateAvailable
   * (default: 1-based, the page's count, sent): no document says, so tests run the broker under each reading.
   */
  searchReading?: Partial<Omit<SearchReading, 'pageSize'>>;
}

export interface ReceivedRequest {
  service: SimulatorService | 'unknown';
  path: string;
  soapAction?: string;
  contentType?: string;
  /** The raw XML body as received; '' when the simulator runs with recordBodies: false. */
  body: string;
  bodyBytes: number;
  /** Subject of the client (RA) certificate, e.g. `CN=Dev RA, O=Contoso`. */
  clientCertSubject: string;
  time: Date;
}

/** A client (RA) certificate the simulator has seen in a TLS handshake. */
export interface ClientCertificateInfo {
  /** Upper-case hex SHA-1 of the DER (the Windows thumbprint). */
  thumbprint: string;
  thumbprintSha256: string;
  subject: string;
  /** Upper-case hex. */
  serialNumber: string;
}

/** Counters since start or the last reset(). */
export interface SimulatorStats {
  /** Requests to /pki-ws/… by service, including those that met a fault (not those refused for their RA certificate). */
  requests: Record<SimulatorService | 'unknown', number>;
  /**
   * Faults applied, by label: for random ones the mix key (delayBefore, delayAfter, http503, http429, reset,
   * resetAfter, transientSoapFault); for queued ones delayBefore, delayAfter, reset, resetAfter,
   * http<status>, http<status>After or soapFault.
   */
  faults: Record<string, number>;
  faultsBySource: { queued: number; random: number };
  /** Requests dropped because the client certificate is refused (refuseClientCertificate). */
  refusedClientCertificateRequests: number;
  /** Certificates issued, and how many are VALID / REVOKED / SUSPENDED now. */
  issued: number;
  valid: number;
  revoked: number;
  suspended: number;
}

export interface Simulator {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:<port>`: what the broker's `certificateAuthority` (and `CA_ALLOWED_HOSTS`) would hold. */
  readonly authority: string;
  readonly received: ReceivedRequest[];
  readonly issued: IssuedCertificate[];
  readonly faults: FaultQueue;
  readonly profiles: SimulatorProfile[];
  readonly health: Readonly<HealthState>;
  serviceUrl(service: SimulatorService): string;
  setHealth(status: 'UP' | 'DOWN', message?: string): void;
  /** How searchCertificate pages from now on (the fields given; the others stay). */
  setSearchReading(reading: Partial<Omit<SearchReading, 'pageSize'>>): void;
  /** The search reading in force. */
  readonly searchReading: Readonly<SearchReading>;
  /**
   * Refuses the client certificate with this thumbprint (SHA-1 or SHA-256 hex; colons, spaces and case do
   * not matter): each of its requests to /pki-ws/… is dropped by closing the connection before a byte of
   * answer, and its open connections are closed now. The /__simulator/ admin routes stay reachable.
   */
  refuseClientCertificate(thumbprint: string): void;
  /** Takes a thumbprint off the refused list. */
  acceptClientCertificate(thumbprint: string): void;
  /** Refused thumbprints, normalised (upper-case hex). */
  readonly refusedClientCertificates: readonly string[];
  /** Client certificates seen in handshakes since start (kept across reset()). */
  readonly clientCertificates: readonly ClientCertificateInfo[];
  stats(): SimulatorStats;
  /** The issued certificates grouped by seat id, with counts of VALID / REVOKED / SUSPENDED. */
  accountAudit(): AccountAudit;
  /**
   * Forgets received requests, issued certificates, queued faults, the random fault mode, refused client
   * certificates and the counters; health back to UP.
   */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;
const DEFAULT_MAX_RECEIVED = 10_000;
const VERSION_PATTERN = /^\d{1,3}\.\d{0,3}$/;
const UP_MESSAGE = 'The PKI-WS simulator is up and accepting enrollments.';

function pemToDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** Upper-case hex of a SHA-1 (40) or SHA-256 (64) thumbprint, or undefined when it is neither. */
export function normalizeThumbprint(thumbprint: string): string | undefined {
  const hex = thumbprint.replace(/[\s:]/g, '').toUpperCase();
  return /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/.test(hex) ? hex : undefined;
}

function requireThumbprint(thumbprint: string): string {
  const normalized = normalizeThumbprint(thumbprint);
  if (normalized === undefined) {
    throw new TypeError(
      `"${thumbprint}" is not a certificate thumbprint (40 hex digits for SHA-1, 64 for SHA-256)`,
    );
  }
  return normalized;
}

function emptyRequestCounts(): Record<SimulatorService | 'unknown', number> {
  return {
    policyService: 0,
    enrollmentService: 0,
    healthcheckService: 0,
    certificateManagementService: 0,
    unknown: 0,
  };
}

function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
}

function subjectText(entries: SubjectEntry[]): string {
  return entries
    .map((entry) => `${entry.rdn === 'emailAddress' ? 'E' : entry.rdn}=${entry.value}`)
    .join(', ');
}

/** Faults on the elements every PKI-WS request shares: version pattern, transaction id length. */
function checkCommonElements(element: ParsedElement): { version: string; clientTransactionId?: string } {
  const version = childText(element, 'version');
  if (version === undefined || !VERSION_PATTERN.test(version)) {
    throw notUnderstoodFault(
      `version "${version ?? ''}" is missing or does not match \\d{1,3}\\.\\d{0,3}.`,
      ERROR_CODES.malformedRequest,
    );
  }
  const clientTransactionId = childText(element, 'clientTransactionID');
  if (clientTransactionId !== undefined && clientTransactionId.length > 40) {
    throw notUnderstoodFault(
      'clientTransactionID is longer than 40 characters.',
      ERROR_CODES.malformedRequest,
    );
  }
  return { version, clientTransactionId };
}

export async function startPkiWsSimulator(options: SimulatorOptions): Promise<Simulator> {
  const { pki } = options;
  const profiles =
    options.profiles ??
    (options.profilesFile !== undefined ? loadProfilesFile(options.profilesFile) : defaultProfiles());
  // Parsed once: issuing stays ~1–2 ms per certificate (soak tests enroll by the thousand).
  const issuingAuthority = prepareIssuingAuthority(pki.caIssuing, pki.caRoot);
  const recordBodies = options.recordBodies ?? true;
  const maxReceived = options.maxReceived ?? DEFAULT_MAX_RECEIVED;
  if (!Number.isInteger(maxReceived) || maxReceived < 0) {
    throw new TypeError('startPkiWsSimulator: maxReceived must be a whole number ≥ 0');
  }
  const searchPageSize = options.searchPageSize ?? DEFAULT_SEARCH_PAGE_SIZE;
  if (!Number.isInteger(searchPageSize) || searchPageSize < 1) {
    throw new TypeError('startPkiWsSimulator: searchPageSize must be a whole number ≥ 1');
  }
  let searchReading: SearchReading = { ...DEFAULT_SEARCH_READING, pageSize: searchPageSize };
  const setSearchReading = (reading: Partial<Omit<SearchReading, 'pageSize'>>): void => {
    const next = { ...searchReading, ...reading, pageSize: searchPageSize };
    if (next.startIndexBase !== 0 && next.startIndexBase !== 1) {
      throw new TypeError('searchReading.startIndexBase must be 0 or 1');
    }
    if (next.certificateCount !== 'page' && next.certificateCount !== 'total') {
      throw new TypeError('searchReading.certificateCount must be "page" or "total"');
    }
    if (typeof next.moreFlag !== 'boolean')
      throw new TypeError('searchReading.moreFlag must be true or false');
    searchReading = next;
  };
  setSearchReading(options.searchReading ?? {});
  const issuerName = new X509Certificate(pki.caIssuing.certPem).subject.split('\n').join(', ');
  const host = options.host ?? '127.0.0.1';

  const received: ReceivedRequest[] = [];
  const issued: IssuedCertificate[] = [];
  const faults = new FaultQueue();
  const health: HealthState = { status: 'UP', message: UP_MESSAGE };
  const sockets = new Set<Socket>();
  /** The TCP socket under each TLS connection, to reset it (RST) rather than close it. */
  const rawSockets = new Map<string, Socket>();
  const tlsSockets = new Set<TLSSocket>();
  const clientOf = new WeakMap<TLSSocket, ClientCertificateInfo>();
  const seenClients = new Map<string, ClientCertificateInfo>();
  const refused = new Set<string>();
  let requestCounts = emptyRequestCounts();
  let faultCounts: Record<string, number> = {};
  let faultsBySource = { queued: 0, random: 0 };
  let refusedRequests = 0;
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let transactionCounter = 0;
  let baseUrl = '';

  const nextServerTransactionId = (): string =>
    `S-${Math.floor(Date.now() / 1000)}-${String(++transactionCounter).padStart(4, '0')}`;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      timers.add(entry);
    });

  const policyCa = (): PolicyCa => ({
    issuingCaDerBase64: pemToDerBase64(pki.caIssuing.certPem),
    rootCaDerBase64: pemToDerBase64(pki.caRoot.certPem),
    issuerName,
    enrollmentUrl: `${baseUrl}/pki-ws/enrollmentService`,
  });

  function handleSoap(service: SimulatorService, body: ParsedElement): XmlElement {
    const serverTransactionId = nextServerTransactionId();
    switch (service) {
      case 'policyService': {
        if (body.name.toLowerCase() !== 'getpolicies') {
          throw unsupportedOperationFault('policy', body.name);
        }
        checkCommonElements(body);
        const request = readPolicyRequest(body);
        return getPoliciesResponse(
          request,
          selectProfiles(profiles, request.oids),
          policyCa(),
          serverTransactionId,
        );
      }
      case 'enrollmentService': {
        const request = readEnrollmentRequest(body);
        // readEnrollmentRequest has made sure the element is there.
        const common = checkCommonElements(childElement(body, 'requestVSSecurityToken')!);
        const profile = profiles.find((candidate) => candidate.profileOid === request.profileOid);
        if (profile === undefined) {
          throw notUnderstoodFault(
            `Certificate profile OID ${request.profileOid} is not valid for this account.`,
          );
        }
        const decision = decideEnrollment(request, profile);
        const chain = issueCertificate(decision.issue, issuingAuthority);
        issued.push({
          serialNumber: chain.serialNumber,
          profileOid: profile.profileOid,
          seatId: decision.seatId,
          commonName: decision.commonName,
          emailAddress: decision.emailAddress,
          subject: subjectText(decision.issue.subject),
          status: 'VALID',
          notBefore: chain.notBefore,
          notAfter: chain.notAfter,
          certificatePem: chain.leafPem,
          certificateDerBase64: chain.leafDer.toString('base64'),
          csrDerBase64: decision.csrDer.toString('base64'),
          nameValuePairs: request.nameValuePairs,
          clientTransactionId: common.clientTransactionId,
          serverTransactionId,
          issuedAt: new Date(),
        });
        return requestSecurityTokenResponse({
          clientTransactionId: common.clientTransactionId,
          serverTransactionId,
          version: common.version,
          pkcs7Der: chain.pkcs7Der,
        });
      }
      case 'healthcheckService':
        checkCommonElements(body);
        return getStatusResponse(body, profiles, health, serverTransactionId);
      case 'certificateManagementService': {
        const operation = managementOperation(body);
        checkCommonElements(body);
        return operation === 'update'
          ? updateCertificateStatus(body, issued, serverTransactionId)
          : searchCertificate(body, issued, serverTransactionId, searchReading);
      }
    }
  }

  function sendXml(response: ServerResponse, status: number, xml: string): void {
    response.writeHead(status, {
      'content-type': 'text/xml; charset=utf-8',
      'content-length': Buffer.byteLength(xml),
    });
    response.end(xml);
  }

  function sendJson(response: ServerResponse, status: number, value: unknown): void {
    const text = JSON.stringify(value, null, 2);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  function sendText(
    response: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> = {},
  ): void {
    response.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  }

  async function readBody(request: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) return undefined;
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  function clientSubject(request: IncomingMessage): string {
    const known = clientOf.get(request.socket as TLSSocket);
    if (known !== undefined) return known.subject;
    const peer = (request.socket as TLSSocket).getPeerX509Certificate?.();
    return peer === undefined ? '' : peer.subject.split('\n').join(', ');
  }

  function isRefused(client: ClientCertificateInfo | undefined): boolean {
    return client !== undefined && (refused.has(client.thumbprint) || refused.has(client.thumbprintSha256));
  }

  function readJson(body: string): { ok: true; value: unknown } | { ok: false } {
    if (body.trim() === '') return { ok: true, value: undefined };
    try {
      return { ok: true, value: JSON.parse(body) as unknown };
    } catch {
      return { ok: false };
    }
  }

  function stats(): SimulatorStats {
    const audit = accountAudit(issued);
    return {
      requests: { ...requestCounts },
      faults: { ...faultCounts },
      faultsBySource: { ...faultsBySource },
      refusedClientCertificateRequests: refusedRequests,
      issued: audit.certificates,
      valid: audit.valid,
      revoked: audit.revoked,
      suspended: audit.suspended,
    };
  }

  async function handleAdmin(
    request: IncomingMessage,
    response: ServerResponse,
    route: string,
    body: string,
  ): Promise<void> {
    const method = request.method ?? 'GET';
    if (route === 'faults' && method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        sendJson(response, 400, { error: 'the body must be JSON: a fault object or an array of them' });
        return;
      }
      try {
        const list = (Array.isArray(parsed) ? parsed : [parsed]).map(parseInjectedFault);
        faults.enqueue(...list);
        sendJson(response, 200, { queued: list.length, pending: faults.pending.length });
      } catch (error) {
        if (error instanceof InjectedFaultError) sendJson(response, 400, { error: error.message });
        else throw error;
      }
      return;
    }
    if (route === 'faults' && method === 'GET') return sendJson(response, 200, faults.pending);
    if (route === 'faults/random' && method === 'POST') {
      const parsed = readJson(body);
      if (!parsed.ok) {
        sendJson(response, 400, { error: 'the body must be JSON: the random fault options, or {} / null' });
        return;
      }
      try {
        return sendJson(response, 200, { random: faults.configureRandom(parsed.value) ?? null });
      } catch (error) {
        if (error instanceof InjectedFaultError) return sendJson(response, 400, { error: error.message });
        throw error;
      }
    }
    if (route === 'faults/random' && method === 'GET') {
      return sendJson(response, 200, { random: faults.random ?? null });
    }
    if (route === 'received' && method === 'GET') return sendJson(response, 200, received);
    if (route === 'issued' && method === 'GET') return sendJson(response, 200, issued);
    if (route === 'audit' && method === 'GET') return sendJson(response, 200, accountAudit(issued));
    if (route === 'stats' && method === 'GET') return sendJson(response, 200, stats());
    if (route === 'client-certificates' && method === 'GET') {
      return sendJson(response, 200, {
        refused: [...refused],
        seen: [...seenClients.values()],
      });
    }
    if (
      (route === 'client-certificates/refuse' || route === 'client-certificates/accept') &&
      method === 'POST'
    ) {
      const parsed = readJson(body);
      const thumbprint = parsed.ok
        ? (parsed.value as { thumbprint?: unknown } | undefined)?.thumbprint
        : undefined;
      if (typeof thumbprint !== 'string' || normalizeThumbprint(thumbprint) === undefined) {
        sendJson(response, 400, {
          error:
            'send {"thumbprint": "<SHA-1 (40 hex digits) or SHA-256 (64 hex digits) of the certificate>"}',
        });
        return;
      }
      if (route === 'client-certificates/refuse') simulator.refuseClientCertificate(thumbprint);
      else simulator.acceptClientCertificate(thumbprint);
      return sendJson(response, 200, { refused: [...refused] });
    }
    if (route === 'reset' && method === 'POST') {
      simulator.reset();
      response.writeHead(204).end();
      return;
    }
    if (route === 'health' && method === 'GET') return sendJson(response, 200, health);
    if (route === 'health' && method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      const status = (parsed as { status?: unknown } | undefined)?.status;
      const message = (parsed as { message?: unknown } | undefined)?.message;
      if ((status !== 'UP' && status !== 'DOWN') || (message !== undefined && typeof message !== 'string')) {
        sendJson(response, 400, { error: 'send {"status": "UP" | "DOWN", "message"?: string}' });
        return;
      }
      simulator.setHealth(status, message);
      return sendJson(response, 200, health);
    }
    if (route === 'search-reading' && method === 'GET') return sendJson(response, 200, searchReading);
    if (route === 'search-reading' && method === 'POST') {
      const parsed = readJson(body);
      const value = parsed.ok ? parsed.value : undefined;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        sendJson(response, 400, {
          error:
            'send {"startIndexBase"?: 0 | 1, "certificateCount"?: "page" | "total", "moreFlag"?: boolean}',
        });
        return;
      }
      try {
        setSearchReading(value as Partial<Omit<SearchReading, 'pageSize'>>);
      } catch (error) {
        if (error instanceof TypeError) return sendJson(response, 400, { error: error.message });
        throw error;
      }
      return sendJson(response, 200, searchReading);
    }
    sendJson(response, 404, { error: `no admin route ${method} /__simulator/${route}` });
  }

  /** A TCP reset (RST): the client sees ECONNRESET, as when a connection really breaks. */
  function resetConnection(socket: Socket): void {
    const raw = rawSockets.get(connectionKey(socket));
    if (raw !== undefined && !raw.destroyed) raw.resetAndDestroy();
    socket.destroy();
  }

  function record(entry: ReceivedRequest): void {
    requestCounts[entry.service] += 1;
    if (maxReceived === 0) return;
    received.push(entry);
    if (received.length > maxReceived) received.splice(0, received.length - maxReceived);
  }

  interface Answer {
    status: number;
    xml?: string;
    text?: string;
    headers?: Record<string, string>;
    operation: string;
  }

  function httpFaultAnswer(fault: Extract<InjectedFault, { kind: 'http' }>): Answer {
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
    return {
      status: fault.status,
      text: fault.body ?? `injected HTTP ${fault.status}`,
      headers,
      operation: '',
    };
  }

  /** The CA's own answer to a SOAP request (its side effects — issuing, revoking — happen here). */
  function soapAnswer(service: SimulatorService, contentType: string | undefined, body: string): Answer {
    if (contentType === undefined || !/^text\/xml\b/i.test(contentType)) {
      return {
        status: 415,
        text: `SOAP 1.1 takes Content-Type text/xml, not ${contentType ?? '(none)'}`,
        operation: '',
      };
    }
    let operation = '';
    try {
      const bodyElement = soapBodyElement(parseXml(body));
      operation = bodyElement.name;
      return { status: 200, xml: soapEnvelope(handleSoap(service, bodyElement)), operation };
    } catch (error) {
      let xml: string;
      if (error instanceof SimulatorFault) {
        xml = faultEnvelope(error);
      } else if (error instanceof XmlReadError) {
        xml = faultEnvelope(
          notUnderstoodFault(
            `The request is not a usable SOAP 1.1 message: ${error.message}.`,
            ERROR_CODES.malformedRequest,
          ),
        );
      } else {
        options.log?.(`simulator: internal error in ${service}: ${(error as Error).message}`);
        xml = faultEnvelope({
          faultcode: 'Server',
          faultstring: 'Internal error in the PKI-WS simulator.',
          errorcode: ERROR_CODES.internal,
        });
      }
      return { status: 500, xml, operation };
    }
  }

  function send(response: ServerResponse, answer: Answer): void {
    if (answer.xml !== undefined) sendXml(response, answer.status, answer.xml);
    else sendText(response, answer.status, answer.text ?? '', answer.headers);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const path = new URL(request.url ?? '/', 'https://simulator').pathname;
    const isAdmin = path.startsWith('/__simulator/');
    if (!isAdmin && isRefused(clientOf.get(request.socket as TLSSocket))) {
      // Closed before a byte of answer: what the client sees when the simulator's TLS layer refuses a
      // certificate from an unknown CA (Node verifies client certificates after the handshake, no alert).
      refusedRequests += 1;
      options.log?.(`${request.method} ${path} refused: the client certificate is on the refused list`);
      request.socket.destroy();
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      sendText(response, 413, 'request body too large');
      return;
    }
    if (isAdmin) {
      await handleAdmin(request, response, path.slice('/__simulator/'.length), body);
      return;
    }
    const match = /^\/pki-ws\/([A-Za-z]+)\/?$/.exec(path);
    const service = SIMULATOR_SERVICES.find((candidate) => candidate === match?.[1]);
    if (match === null) {
      sendText(response, 404, `no such endpoint: ${path}`);
      return;
    }
    const soapAction = request.headers.soapaction;
    const contentType = request.headers['content-type'];
    record({
      service: service ?? 'unknown',
      path,
      soapAction: Array.isArray(soapAction) ? soapAction.join(',') : soapAction,
      contentType,
      body: recordBodies ? body : '',
      bodyBytes: Buffer.byteLength(body),
      clientCertSubject: clientSubject(request),
      time: new Date(),
    });
    if (service === undefined) {
      sendText(response, 404, `no such service: ${path}`);
      return;
    }
    if (request.method !== 'POST') {
      sendText(response, 405, 'SOAP endpoints take POST', { allow: 'POST' });
      return;
    }

    const chosen = faults.next(service);
    if (chosen !== undefined) {
      faultCounts[chosen.label] = (faultCounts[chosen.label] ?? 0) + 1;
      faultsBySource[chosen.source] += 1;
    }
    const fault = chosen?.fault;
    const faultNote = chosen === undefined ? '' : ` [fault ${chosen.label} (${chosen.source})]`;
    const afterProcessing = fault !== undefined && fault.kind !== 'soapFault' && fault.after === 'processing';

    if (fault !== undefined && !afterProcessing) {
      switch (fault.kind) {
        case 'reset':
          options.log?.(`${request.method} ${path} → connection reset${faultNote}`);
          resetConnection(request.socket);
          return;
        case 'http':
          send(response, httpFaultAnswer(fault));
          options.log?.(`${request.method} ${path} → ${fault.status}${faultNote}`);
          return;
        case 'soapFault':
          sendXml(
            response,
            500,
            faultEnvelope({
              faultcode: fault.faultcode,
              faultstring: fault.faultstring,
              errorcode: fault.errorcode,
              detailMessage: fault.message,
            }),
          );
          options.log?.(`${request.method} ${path} → 500 SOAP fault${faultNote}`);
          return;
        case 'delay':
          await sleep(fault.ms);
          // The client gave up while we waited: the CA never looks at the request — unless it is a slow CA
          // that carries it out anyway (late).
          if (request.socket.destroyed && fault.late !== true) return;
          break;
      }
    }

    const answer = soapAnswer(service, contentType, body);
    if (request.socket.destroyed) {
      options.log?.(
        `${request.method} ${path} ${answer.operation || '?'} done late, nobody waiting${faultNote}`,
      );
      return;
    }

    if (fault !== undefined && afterProcessing) {
      // The CA did the work (a certificate issued and recorded, a status changed); the client does not learn it.
      switch (fault.kind) {
        case 'reset':
          options.log?.(`${request.method} ${path} ${answer.operation || '?'} done, then reset${faultNote}`);
          resetConnection(request.socket);
          return;
        case 'http':
          send(response, httpFaultAnswer(fault));
          options.log?.(
            `${request.method} ${path} ${answer.operation || '?'} done, then ${fault.status}${faultNote}`,
          );
          return;
        case 'delay':
          await sleep(fault.ms);
          if (request.socket.destroyed || response.destroyed) return;
          break;
      }
    }
    send(response, answer);
    options.log?.(
      `${request.method} ${path} ${answer.operation || '?'} → ${answer.status} (${Date.now() - started} ms)${faultNote}`,
    );
  }

  const server = https.createServer(
    {
      key: pki.simulatorTls.keyPem,
      cert: pki.simulatorTls.certPem,
      ca: pki.raCa.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (request, response) => {
      handle(request, response).catch((error: unknown) => {
        options.log?.(`simulator: request failed: ${(error as Error).message}`);
        if (!response.headersSent && !response.destroyed) sendText(response, 500, 'simulator error');
        else response.destroy();
      });
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    const key = connectionKey(socket);
    rawSockets.set(key, socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (rawSockets.get(key) === socket) rawSockets.delete(key);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socket.getPeerX509Certificate();
    if (peer === undefined) return;
    const client: ClientCertificateInfo = {
      thumbprint: peer.fingerprint.replace(/:/g, '').toUpperCase(),
      thumbprintSha256: peer.fingerprint256.replace(/:/g, '').toUpperCase(),
      subject: peer.subject.split('\n').join(', '),
      serialNumber: peer.serialNumber.toUpperCase(),
    };
    clientOf.set(socket, client);
    if (!seenClients.has(client.thumbprint)) seenClients.set(client.thumbprint, client);
    tlsSockets.add(socket);
    socket.on('close', () => tlsSockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address');
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `https://${urlHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  const simulator: Simulator = {
    url: baseUrl,
    host: address.address,
    port: address.port,
    authority: `${urlHost}:${address.port}`,
    received,
    issued,
    faults,
    profiles,
    health,
    serviceUrl: (service) => `${baseUrl}/pki-ws/${service}`,
    setHealth(status, message) {
      health.status = status;
      health.message =
        message ?? (status === 'UP' ? UP_MESSAGE : 'The PKI-WS simulator is down for maintenance.');
    },
    setSearchReading,
    get searchReading() {
      return { ...searchReading };
    },
    refuseClientCertificate(thumbprint) {
      const normalized = requireThumbprint(thumbprint);
      refused.add(normalized);
      // Connections the client keeps alive would otherwise carry on with the refused certificate.
      for (const socket of tlsSockets) {
        if (isRefused(clientOf.get(socket))) socket.destroy();
      }
    },
    acceptClientCertificate(thumbprint) {
      refused.delete(requireThumbprint(thumbprint));
    },
    get refusedClientCertificates() {
      return [...refused];
    },
    get clientCertificates() {
      return [...seenClients.values()];
    },
    stats,
    accountAudit: () => accountAudit(issued),
    reset() {
      received.length = 0;
      issued.length = 0;
      faults.clear();
      faults.setRandom(undefined);
      refused.clear();
      requestCounts = emptyRequestCounts();
      faultCounts = {};
      faultsBySource = { queued: 0, random: 0 };
      refusedRequests = 0;
      simulator.setHealth('UP');
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const entry of timers) {
          clearTimeout(entry.timer);
          entry.resolve();
        }
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
  return simulator;
}
