/**
 * Small PKI-WS stand-ins for the client's integration tests: Node HTTPS servers on 127.0.0.1 that demand a
 * client certificate (mutual TLS), answer from a script, and can misbehave the ways a CA does — sit on a
 * request, reset or close the connection after reading it, refuse chosen RA certificates in the TLS layer or
 * with HTTP 403 — while counting connections and requests in flight; and the PKI-WS client the tests drive
 * them with.
 */
import { X509Certificate, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import type { DevPki } from '../../../dev/pki/devPki';
import { PkiWsClient, type PkiWsClientOptions } from '../../../shared/digicert/client';
import type { RaCredential, RaCredentialSource } from '../../../shared/ra-credential/types';

export interface Exchange {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether the client certificate chained to `trustedClientCa`. */
  authorized: boolean;
  peerCommonName?: string;
  /** Upper-case hex SHA-1 of the client certificate. */
  peerThumbprint?: string;
}

/** An answer; or sit on the request until the server closes; or break the connection after reading it. */
export type Reply =
  { status: number; body?: string; headers?: Record<string, string> } | 'hang' | 'reset' | 'close';

export interface CaServerOptions {
  certificate: TestCertificate;
  trustedClientCa: TestCertificate;
  reply: (exchange: Exchange, index: number) => Reply | Promise<Reply>;
  /**
   * RA certificates (SHA-1 thumbprints) refused: `tls` closes the connection right after the handshake
   * without a byte (as a TLS 1.3 server that rejects a client certificate does), `http403` answers 403.
   */
  refuse?: { thumbprints: Set<string>; how: 'tls' | 'http403' };
}

export interface CaServer {
  host: string;
  exchanges: Exchange[];
  counts: {
    tcpConnections: number;
    /** Completed TLS handshakes: one per connection the client opened and kept. */
    secureConnections: number;
    refusedConnections: number;
    inFlight: number;
    maxInFlight: number;
  };
  close(): Promise<void>;
}

const servers: Server[] = [];
const clients: PkiWsClient[] = [];
const tcpServers: { server: TcpServer; sockets: Set<Socket> }[] = [];

function thumbprintOf(socket: TLSSocket): string | undefined {
  const raw = socket.getPeerCertificate().raw;
  return raw === undefined ? undefined : new X509Certificate(raw).fingerprint.replace(/:/g, '');
}

export async function startCa(options: CaServerOptions): Promise<CaServer> {
  const exchanges: Exchange[] = [];
  const counts = {
    tcpConnections: 0,
    secureConnections: 0,
    refusedConnections: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  // The TCP sockets under the TLS ones: only they can be reset (RST).
  const rawSockets = new Map<number, Socket>();
  const refused = (socket: TLSSocket): boolean => {
    const thumbprint = thumbprintOf(socket);
    return thumbprint !== undefined && options.refuse?.thumbprints.has(thumbprint) === true;
  };
  const server = createServer(
    {
      key: options.certificate.keyPem,
      cert: options.certificate.certPem,
      ca: [options.trustedClientCa.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (request, response) => {
      const socket = request.socket as TLSSocket;
      // Refused in the TLS layer: the request may already be parsed, but nobody is there to answer.
      if (socket.destroyed) return;
      if (options.refuse?.how === 'http403' && refused(socket)) {
        counts.refusedConnections += 1;
        request.resume();
        response.writeHead(403, { 'content-type': 'text/plain' });
        response.end('client certificate not allowed');
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const exchange: Exchange = {
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          authorized: socket.authorized,
        };
        const commonName = socket.getPeerCertificate().subject?.CN;
        if (typeof commonName === 'string') exchange.peerCommonName = commonName;
        const thumbprint = thumbprintOf(socket);
        if (thumbprint !== undefined) exchange.peerThumbprint = thumbprint;
        exchanges.push(exchange);
        counts.inFlight += 1;
        counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
        void Promise.resolve(options.reply(exchange, exchanges.length)).then((answer) => {
          if (answer === 'hang') return;
          counts.inFlight -= 1;
          if (answer === 'reset') {
            rawSockets.get(socket.remotePort ?? -1)?.resetAndDestroy();
            socket.destroy();
            return;
          }
          if (answer === 'close') {
            socket.destroy();
            return;
          }
          response.writeHead(answer.status, { 'content-type': 'text/xml; charset=utf-8', ...answer.headers });
          response.end(answer.body ?? '');
        });
      });
    },
  );
  server.on('connection', (socket: Socket) => {
    counts.tcpConnections += 1;
    if (socket.remotePort !== undefined) rawSockets.set(socket.remotePort, socket);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    counts.secureConnections += 1;
    if (options.refuse?.how === 'tls' && refused(socket)) {
      counts.refusedConnections += 1;
      socket.destroy();
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    exchanges,
    counts,
    close: () => closeServer(server),
  };
}

/** A TCP server that accepts connections and never says a word: a TLS handshake that never completes. */
export async function startSilentServer(): Promise<{ host: string; connections: number }> {
  const state = { host: '', connections: 0 };
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  tcpServers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Closes every client (testClientFor) and server started since the last call. */
export async function closeClientsAndServers(): Promise<void> {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map(closeServer));
  await Promise.all(
    tcpServers.splice(0).map(
      ({ server, sockets }) =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    ),
  );
}

/** The dev PKI's RA certificate and key as the credential the client presents. */
export function devRaCredential(pki: DevPki): RaCredential {
  return {
    certificatePem: pki.ra.certPem,
    privateKeyPem: pki.ra.keyPem,
    chainPem: [],
    thumbprint: pki.ra.thumbprint,
    notAfter: pki.ra.notAfter,
    subject: pki.ra.subject,
    source: 'dev RA',
  };
}

/** A new RSA key and a PKCS#10 request for it (subject left to the CA), as an enrollment sends it. */
export function enrollmentKey(): { publicKey: KeyObject; csrDer: Buffer } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(
    pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  csr.setSubject([{ shortName: 'CN', value: 'ignored by the CA' }]);
  const privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  csr.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  const csrDer = Buffer.from(
    forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(),
    'binary',
  );
  return { publicKey: pair.publicKey, csrDer };
}

export function credentialOf(leaf: TestCertificate, chain: TestCertificate[]): RaCredential {
  const x509 = new X509Certificate(leaf.certPem);
  return {
    certificatePem: leaf.certPem,
    privateKeyPem: leaf.keyPem ?? '',
    chainPem: chain.map((certificate) => certificate.certPem),
    thumbprint: x509.fingerprint.replace(/:/g, ''),
    notAfter: new Date(x509.validTo),
    subject: x509.subject,
    source: 'test credential',
  };
}

/**
 * A credential source as the Key Vault one behaves: it keeps what it read until invalidate(); the vault may
 * hold a newer version meanwhile (`vault`).
 */
export interface RotatingSource extends RaCredentialSource {
  vault: RaCredential;
  loads: number;
  invalidations: number;
}

export function rotatingSource(kept: RaCredential, vault: RaCredential): RotatingSource {
  let cached: RaCredential | undefined = kept;
  const source: RotatingSource = {
    vault,
    loads: 0,
    invalidations: 0,
    load: async () => {
      source.loads += 1;
      cached ??= source.vault;
      return cached;
    },
    invalidate: () => {
      source.invalidations += 1;
      cached = undefined;
    },
  };
  return source;
}

export interface TestPki {
  serverCa: TestCertificate;
  serverCertificate: TestCertificate;
  raCa: TestCertificate;
  ra: RaCredential;
  /** A second RA certificate from the same RA CA: the renewed one in Key Vault. */
  renewedRa: RaCredential;
}

export function createTestPki(): TestPki {
  const serverCa = createCertificate({
    subject: [{ shortName: 'CN', value: 'Test PKI-WS Server CA' }],
    isCa: true,
  });
  const serverCertificate = createCertificate({
    subject: [{ shortName: 'CN', value: 'localhost' }],
    issuer: serverCa,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const raCa = createCertificate({ subject: [{ shortName: 'CN', value: 'Test RA Issuing CA' }], isCa: true });
  const ra = createCertificate({
    subject: [{ shortName: 'CN', value: 'Test RA' }],
    issuer: raCa,
    extKeyUsage: ['clientAuth'],
  });
  const renewedRa = createCertificate({
    subject: [{ shortName: 'CN', value: 'Test RA renewed' }],
    issuer: raCa,
    extKeyUsage: ['clientAuth'],
  });
  return {
    serverCa,
    serverCertificate,
    raCa,
    ra: credentialOf(ra, [raCa]),
    renewedRa: credentialOf(renewedRa, [raCa]),
  };
}

/** Options for testClientFor: `settings` are merged into the test defaults, the rest replace. */
export type TestClientOverrides = Partial<Omit<PkiWsClientOptions, 'settings'>> & {
  settings?: Partial<PkiWsClientOptions['settings']>;
};

export interface TestClient {
  client: PkiWsClient;
  /** The backoff waits the client asked for (recorded, never slept). */
  sleeps: number[];
  /** The client's clock: it moves only when the test moves it. */
  clock: { now: number };
}

/**
 * A client for `host` with `pki`'s RA credential, trusting `pki`'s server CA: three attempts, 2 s timeouts,
 * jitter fixed at one half.
 */
export function testClientFor(pki: TestPki, host: string, overrides: TestClientOverrides = {}): TestClient {
  const sleeps: number[] = [];
  const clock = { now: Date.parse('2026-01-10T12:00:00Z') };
  const { settings, ...rest } = overrides;
  const client = new PkiWsClient({
    settings: {
      caAllowedHosts: [host],
      caConnectTimeoutMs: 2000,
      caRequestTimeoutMs: 2000,
      caMaxAttempts: 3,
      caRetryBaseDelayMs: 100,
      ...settings,
    },
    credential: async () => pki.ra,
    extraTrustedCaPem: [pki.serverCa.certPem],
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    now: () => clock.now,
    ...rest,
  });
  clients.push(client);
  return { client, sleeps, clock };
}
