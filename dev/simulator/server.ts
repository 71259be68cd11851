/**
 * A local DigiCert PKI-WS stand-in for the dev stack and the tests: SOAP 1.1 over HTTPS with mutual TLS
 * (only clients with a certificate from the dev RA CA get through the handshake), the four services under
 * `/pki-ws/`, real certificates from the dev issuing CA, a record of every request for wire-format checks,
 * and fault injection (programmatic, or over `/__simulator/…` for out-of-process use).
 */
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { loadDevCa, type DevPki } from '../pki/devPki';
import { decideEnrollment, readEnrollmentRequest, requestSecurityTokenResponse } from './enrollment';
import {
  FaultQueue,
  InjectedFaultError,
  parseInjectedFault,
  SIMULATOR_SERVICES,
  type SimulatorService,
} from './faults';
import { getStatusResponse, type HealthState } from './healthcheck';
import { issueCertificate, type SubjectEntry } from './issuer';
import {
  managementOperation,
  searchCertificate,
  updateCertificateStatus,
  type IssuedCertificate,
} from './management';
import { getPoliciesResponse, readPolicyRequest, selectProfiles, type PolicyCa } from './policy';
import { defaultProfiles, loadProfilesFile, type SimulatorProfile } from './profiles';
import { ERROR_CODES, faultEnvelope, notUnderstoodFault, SimulatorFault } from './soapFault';
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

export { SIMULATOR_SERVICES, type SimulatorService } from './faults';
export type { InjectedFault } from './faults';
export type { IssuedCertificate } from './management';
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
}

export interface ReceivedRequest {
  service: SimulatorService | 'unknown';
  path: string;
  soapAction?: string;
  contentType?: string;
  /** The raw XML body as received. */
  body: string;
  /** Subject of the client (RA) certificate, e.g. `CN=Dev RA, O=Contoso`. */
  clientCertSubject: string;
  time: Date;
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
  /** Forgets received requests, issued certificates and queued faults; health back to UP. */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;
const VERSION_PATTERN = /^\d{1,3}\.\d{0,3}$/;
const UP_MESSAGE = 'The PKI-WS simulator is up and accepting enrollments.';

function pemToDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
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
  const issuingCa = loadDevCa(pki.caIssuing);
  const rootCa = loadDevCa(pki.caRoot);
  const issuerName = new X509Certificate(pki.caIssuing.certPem).subject.split('\n').join(', ');
  const host = options.host ?? '127.0.0.1';

  const received: ReceivedRequest[] = [];
  const issued: IssuedCertificate[] = [];
  const faults = new FaultQueue();
  const health: HealthState = { status: 'UP', message: UP_MESSAGE };
  const sockets = new Set<Socket>();
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
          throw notUnderstoodFault(
            `The policy service does not support ${body.name}.`,
            ERROR_CODES.unsupportedOperation,
          );
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
        const chain = issueCertificate(decision.issue, issuingCa, rootCa);
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
          : searchCertificate(body, issued, serverTransactionId);
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
    const peer = (request.socket as TLSSocket).getPeerX509Certificate?.();
    return peer === undefined ? '' : peer.subject.split('\n').join(', ');
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
    if (route === 'received' && method === 'GET') return sendJson(response, 200, received);
    if (route === 'issued' && method === 'GET') return sendJson(response, 200, issued);
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
    sendJson(response, 404, { error: `no admin route ${method} /__simulator/${route}` });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const path = new URL(request.url ?? '/', 'https://simulator').pathname;
    const body = await readBody(request);
    if (body === undefined) {
      sendText(response, 413, 'request body too large');
      return;
    }
    if (path.startsWith('/__simulator/')) {
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
    received.push({
      service: service ?? 'unknown',
      path,
      soapAction: Array.isArray(soapAction) ? soapAction.join(',') : soapAction,
      contentType,
      body,
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

    const fault = faults.take(service);
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'http') {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      sendText(response, fault.status, fault.body ?? `injected HTTP ${fault.status}`, headers);
      return;
    }
    if (fault?.kind === 'soapFault') {
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
      return;
    }
    if (fault?.kind === 'delay') {
      await sleep(fault.ms);
      if (request.socket.destroyed) return;
    }

    if (contentType === undefined || !/^text\/xml\b/i.test(contentType)) {
      sendText(response, 415, `SOAP 1.1 takes Content-Type text/xml, not ${contentType ?? '(none)'}`);
      return;
    }

    let operation = '';
    let status = 200;
    let xml: string;
    try {
      const bodyElement = soapBodyElement(parseXml(body));
      operation = bodyElement.name;
      xml = soapEnvelope(handleSoap(service, bodyElement));
    } catch (error) {
      status = 500;
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
    }
    sendXml(response, status, xml);
    options.log?.(`${request.method} ${path} ${operation || '?'} → ${status} (${Date.now() - started} ms)`);
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
    socket.on('close', () => sockets.delete(socket));
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
    reset() {
      received.length = 0;
      issued.length = 0;
      faults.clear();
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
