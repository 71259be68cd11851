/**
 * The PKI-WS client against real Node HTTPS servers on 127.0.0.1 that demand a client certificate: mutual
 * TLS, the three TLS failures, timeouts and retries, connection reuse, the allow-list and the policy cache.
 * Backoff waits are injected, so nothing here sleeps for real.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import { BrokerError } from '../../../shared/contract/errors';
import { PkiWsClient, type PkiWsClientOptions } from '../../../shared/digicert/client';
import type { RaCredential } from '../../../shared/ra-credential/types';
import { childElements, childText, findDescendant, parseXml } from '../../../shared/digicert/xml';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'digicert');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');
const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61234567';

interface Exchange {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  peerCommonName?: string;
  authorized: boolean;
}

type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

interface CaServer {
  host: string;
  exchanges: Exchange[];
  counts: { tcpConnections: number; secureConnections: number; tlsClientErrors: number };
  close(): Promise<void>;
}

const servers: Server[] = [];

async function startCa(
  certificate: TestCertificate,
  trustedClientCa: TestCertificate,
  reply: (exchange: Exchange, index: number) => Reply,
): Promise<CaServer> {
  const exchanges: Exchange[] = [];
  const counts = { tcpConnections: 0, secureConnections: 0, tlsClientErrors: 0 };
  const server = createServer(
    {
      key: certificate.keyPem,
      cert: certificate.certPem,
      ca: [trustedClientCa.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const socket = request.socket as TLSSocket;
        const exchange: Exchange = {
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          authorized: socket.authorized,
        };
        const commonName = socket.getPeerCertificate().subject?.CN;
        if (typeof commonName === 'string') exchange.peerCommonName = commonName;
        exchanges.push(exchange);
        const answer = reply(exchange, exchanges.length);
        if (answer === 'hang') return;
        response.writeHead(answer.status, { 'content-type': 'text/xml; charset=utf-8', ...answer.headers });
        response.end(answer.body ?? '');
      });
    },
  );
  server.on('connection', () => (counts.tcpConnections += 1));
  server.on('secureConnection', () => (counts.secureConnections += 1));
  server.on('tlsClientError', () => (counts.tlsClientErrors += 1));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    exchanges,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function credentialOf(leaf: TestCertificate, chain: TestCertificate[]): RaCredential {
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

let serverCa: TestCertificate;
let serverCertificate: TestCertificate;
let wrongNameCertificate: TestCertificate;
let untrustedServerCertificate: TestCertificate;
let raCa: TestCertificate;
let raCredential: RaCredential;
let renewedRaCredential: RaCredential;
let rogueRaCredential: RaCredential;

beforeAll(() => {
  serverCa = createCertificate({
    subject: [{ shortName: 'CN', value: 'Test PKI-WS Server CA' }],
    isCa: true,
  });
  serverCertificate = createCertificate({
    subject: [{ shortName: 'CN', value: 'localhost' }],
    issuer: serverCa,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  wrongNameCertificate = createCertificate({
    subject: [{ shortName: 'CN', value: 'ca.elsewhere.test' }],
    issuer: serverCa,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['ca.elsewhere.test'],
  });
  const untrustedCa = createCertificate({
    subject: [{ shortName: 'CN', value: 'Untrusted CA' }],
    isCa: true,
  });
  untrustedServerCertificate = createCertificate({
    subject: [{ shortName: 'CN', value: 'localhost' }],
    issuer: untrustedCa,
    extKeyUsage: ['serverAuth'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  raCa = createCertificate({ subject: [{ shortName: 'CN', value: 'Test RA Issuing CA' }], isCa: true });
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
  const rogueCa = createCertificate({ subject: [{ shortName: 'CN', value: 'Unknown RA CA' }], isCa: true });
  const rogueRa = createCertificate({
    subject: [{ shortName: 'CN', value: 'Rogue RA' }],
    issuer: rogueCa,
    extKeyUsage: ['clientAuth'],
  });
  raCredential = credentialOf(ra, [raCa]);
  renewedRaCredential = credentialOf(renewedRa, [raCa]);
  rogueRaCredential = credentialOf(rogueRa, [rogueCa]);
});

const clients: PkiWsClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

interface TestClient {
  client: PkiWsClient;
  sleeps: number[];
  clock: { now: number };
}

function clientFor(host: string, overrides: Partial<PkiWsClientOptions> = {}): TestClient {
  const sleeps: number[] = [];
  const clock = { now: Date.parse('2026-01-10T12:00:00Z') };
  const client = new PkiWsClient({
    settings: {
      caAllowedHosts: [host],
      caConnectTimeoutMs: 2000,
      caRequestTimeoutMs: 2000,
      caMaxAttempts: 3,
      caRetryBaseDelayMs: 100,
    },
    credential: async () => raCredential,
    extraTrustedCaPem: [serverCa.certPem],
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    now: () => clock.now,
    ...overrides,
  });
  clients.push(client);
  return { client, sleeps, clock };
}

async function failureOf(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
}

const healthUp = (): Reply => ({ status: 200, body: fixture('health-up.xml') });

describe('mutual TLS', () => {
  it('presents the RA certificate; the CA sees its subject, the service path and the SOAPAction', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    const { client } = clientFor(ca.host);
    await expect(client.getStatus(ca.host, PROFILE)).resolves.toEqual({
      up: true,
      message: 'Enrollment service operational',
    });
    const [exchange] = ca.exchanges;
    expect(exchange).toMatchObject({
      path: '/pki-ws/healthcheckService',
      peerCommonName: 'Test RA',
      authorized: true,
    });
    expect(exchange?.headers.soapaction).toBe(
      '"http://schemas.pki.symantec.com/pkiservices/healthcheck/getStatus"',
    );
    expect(exchange?.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(
      childText(findDescendant(parseXml(exchange?.body ?? ''), 'getStatusRequestMessage'), 'profileOid'),
    ).toBe(PROFILE);
  });

  it('enrolls: posts the CSR and name/value pairs to enrollmentService and returns the token', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({
      status: 200,
      body: fixture('rstr-pkcs7.xml'),
    }));
    const { client } = clientFor(ca.host);
    const response = await client.enroll(ca.host, {
      profileOid: PROFILE,
      clientTransactionId: 'enroll-1',
      csrDer: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]),
      nameValuePairs: [
        { name: 'common_name', value: `O'Brien & <Sons>` },
        { name: 'seat_id', value: 'obrien@fabrikam.test' },
      ],
    });
    expect(response.tokenType).toBe('PKCS7');
    const [exchange] = ca.exchanges;
    expect(exchange?.path).toBe('/pki-ws/enrollmentService');
    expect(exchange?.headers.soapaction).toBe(
      '"http://schemas.verisign.com/pkiservices/2009/07/enrollment/requestSecurityToken"',
    );
    const request = findDescendant(parseXml(exchange?.body ?? ''), 'requestVSSecurityToken');
    expect(childElements(request, 'nameValuePair').map((pair) => childText(pair, 'value'))).toEqual([
      `O'Brien & <Sons>`,
      'obrien@fabrikam.test',
    ]);
  });

  it('RA certificate from a CA the server does not trust → CA_TLS_FAILED, not retried, credential re-read', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    const invalidate = jest.fn();
    const { client, sleeps } = clientFor(ca.host, {
      credential: { load: async () => rogueRaCredential, invalidate },
    });
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/RA certificate/);
    expect(error.message).toContain(`getStatus at ${ca.host}`);
    expect(error.message).not.toContain('PRIVATE KEY');
    expect(ca.exchanges).toHaveLength(0);
    expect(ca.counts.tcpConnections).toBe(1);
    expect(sleeps).toEqual([]);
    expect(invalidate).toHaveBeenCalledTimes(1);
  });

  it('an RA key that does not belong to the RA certificate → RA_CERT_UNAVAILABLE, key never in the error', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    const mismatched: RaCredential = { ...raCredential, privateKeyPem: renewedRaCredential.privateKeyPem };
    const { client, sleeps } = clientFor(ca.host, { credential: async () => mismatched });
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('RA_CERT_UNAVAILABLE');
    expect(error.retryable).toBe(false);
    expect(sleeps).toEqual([]);
    const keyBody = mismatched.privateKeyPem.split('\n')[1] ?? 'missing';
    for (const text of [error.message, error.remedy, error.caMessage ?? '', JSON.stringify(error)]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(keyBody);
    }
  });

  it('server certificate from an untrusted CA → CA_TLS_FAILED saying so', async () => {
    const ca = await startCa(untrustedServerCertificate, raCa, healthUp);
    const { client } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.message).toMatch(/server certificate is not trusted/);
    expect(ca.counts.tcpConnections).toBe(1);
    expect(ca.exchanges).toHaveLength(0);
  });

  it('server certificate for another name → CA_TLS_FAILED naming the wrong FQDN', async () => {
    const ca = await startCa(wrongNameCertificate, raCa, healthUp);
    const { client } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.message).toMatch(/wrong FQDN/);
    expect(ca.exchanges).toHaveLength(0);
  });

  it('reuses one TLS connection for several requests', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    const { client } = clientFor(ca.host);
    for (let index = 0; index < 5; index += 1) await client.getStatus(ca.host);
    expect(ca.exchanges).toHaveLength(5);
    expect(ca.counts.secureConnections).toBe(1);
  });

  it('connects anew with the renewed RA certificate when the thumbprint changes', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    let current = raCredential;
    const { client } = clientFor(ca.host, { credential: async () => current });
    await client.getStatus(ca.host);
    current = renewedRaCredential;
    await client.getStatus(ca.host);
    expect(ca.exchanges.map((exchange) => exchange.peerCommonName)).toEqual(['Test RA', 'Test RA renewed']);
    expect(ca.counts.secureConnections).toBe(2);
  });
});

describe('allow-list', () => {
  it('never connects to a host that is not allow-listed, nor loads the RA credential', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    const load = jest.fn(async () => raCredential);
    const { client } = clientFor('pki-ws.symauth.com', { credential: load });
    for (const call of [
      client.getStatus(ca.host),
      client.getPolicy(ca.host, PROFILE),
      client.enroll(ca.host, {
        profileOid: PROFILE,
        clientTransactionId: 't',
        csrDer: Buffer.alloc(1),
        nameValuePairs: [],
      }),
    ]) {
      const error = await failureOf(call);
      expect(error.code).toBe('CA_NOT_ALLOWED');
      expect(error.message).toContain(ca.host);
    }
    expect(ca.counts.tcpConnections).toBe(0);
    expect(load).not.toHaveBeenCalled();
  });
});

describe('timeouts and retries', () => {
  it('a CA that does not answer in time → CA_TIMEOUT after exactly caMaxAttempts attempts', async () => {
    const ca = await startCa(serverCertificate, raCa, () => 'hang');
    // Each attempt must reach the in-process server before it times out, also on a busy machine.
    const { client, sleeps } = clientFor(ca.host, {
      settings: {
        caAllowedHosts: [ca.host],
        caConnectTimeoutMs: 2000,
        caRequestTimeoutMs: 1000,
        caMaxAttempts: 3,
        caRetryBaseDelayMs: 100,
      },
    });
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/1000 ms.*\(3 attempts\)/);
    expect(ca.exchanges).toHaveLength(3);
    // Full jitter with random() = 0.5: half of 100, then half of 200.
    expect(sleeps).toEqual([50, 100]);
  });

  it('503 twice, then 200 → success on the third attempt', async () => {
    const ca = await startCa(serverCertificate, raCa, (_exchange, index) =>
      index <= 2
        ? { status: 503, body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } }
        : healthUp(),
    );
    const { client, sleeps } = clientFor(ca.host);
    await expect(client.getStatus(ca.host)).resolves.toMatchObject({ up: true });
    expect(ca.exchanges).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('429 with Retry-After waits what the CA asked', async () => {
    const ca = await startCa(serverCertificate, raCa, (_exchange, index) =>
      index === 1 ? { status: 429, headers: { 'retry-after': '2' } } : healthUp(),
    );
    const { client, sleeps } = clientFor(ca.host);
    await client.getStatus(ca.host);
    expect(sleeps).toEqual([2000]);
  });

  it('5xx on every attempt → CA_UNAVAILABLE, retryable, with the CA words', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({ status: 502, body: 'Bad gateway' }));
    const { client } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.caMessage).toBe('HTTP 502: Bad gateway');
    expect(ca.exchanges).toHaveLength(3);
  });

  it('a SOAP fault is not retried', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({
      status: 500,
      body: fixture('fault-unknown-profile.xml'),
    }));
    const { client, sleeps } = clientFor(ca.host);
    const error = await failureOf(client.getPolicy(ca.host, PROFILE));
    expect(error.code).toBe('PROFILE_NOT_FOUND');
    expect(error.caMessage).toMatch(/not understood/);
    expect(ca.exchanges).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('a refused connection → CA_UNAVAILABLE after every attempt', async () => {
    const ca = await startCa(serverCertificate, raCa, healthUp);
    await ca.close();
    const { client, sleeps } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(error.message).toMatch(/refused.*\(3 attempts\)/);
    expect(sleeps).toHaveLength(2);
  });
});

describe('policy cache', () => {
  it('keeps a policy for nextUpdateHours per host and profile', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({
      status: 200,
      body: fixture('policy-default-namespace.xml'),
    }));
    const { client, clock } = clientFor(ca.host);
    const first = await client.getPolicy(ca.host, PROFILE);
    expect(first.keySize).toBe(3072);
    expect(ca.exchanges[0]?.path).toBe('/pki-ws/policyService');
    expect(ca.exchanges[0]?.headers.soapaction).toBe(
      '"http://schemas.verisign.com/pkiservices/2009/07/policy/requestPolicies"',
    );
    clock.now += 11 * 3_600_000;
    await client.getPolicy(ca.host, PROFILE);
    expect(ca.exchanges).toHaveLength(1);
    clock.now += 2 * 3_600_000;
    await client.getPolicy(ca.host, PROFILE);
    expect(ca.exchanges).toHaveLength(2);
  });

  it('shares one call between concurrent requests but does not keep a nextUpdateHours=0 policy', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({
      status: 200,
      body: fixture('policy-prefixed-multi.xml'),
    }));
    const { client, clock } = clientFor(ca.host);
    const oid = '2.16.840.1.113733.1.16.1.2.3.1.1.70000002';
    const [first, second] = await Promise.all([
      client.getPolicy(ca.host, oid),
      client.getPolicy(ca.host, oid),
    ]);
    expect(first.nextUpdateHours).toBe(0);
    expect(second).toBe(first);
    expect(ca.exchanges).toHaveLength(1);
    // A profile being edited: the next request, even at the same instant, asks again.
    await client.getPolicy(ca.host, oid);
    expect(ca.exchanges).toHaveLength(2);
    clock.now += 60_000;
    await client.getPolicy(ca.host, oid);
    expect(ca.exchanges).toHaveLength(3);
  });

  it('keeps a policy with nextUpdateHours > 0 at least minPolicyCacheMs and at most maxPolicyCacheMs', async () => {
    const ca = await startCa(serverCertificate, raCa, (exchange) => ({
      status: 200,
      body: /80000003/.test(exchange.body)
        ? fixture('policy-minimal.xml')
        : fixture('policy-default-namespace.xml'),
    }));
    const { client, clock } = clientFor(ca.host, {
      minPolicyCacheMs: 3 * 3_600_000,
      maxPolicyCacheMs: 6 * 3_600_000,
    });
    // nextUpdateHours 1 (the default for a nil value), raised to the 3-hour floor.
    const minimal = '2.16.840.1.113733.1.16.1.2.3.1.1.80000003';
    expect((await client.getPolicy(ca.host, minimal)).nextUpdateHours).toBe(1);
    clock.now += 2 * 3_600_000;
    await client.getPolicy(ca.host, minimal);
    expect(ca.exchanges).toHaveLength(1);
    clock.now += 1.5 * 3_600_000;
    await client.getPolicy(ca.host, minimal);
    expect(ca.exchanges).toHaveLength(2);
    // nextUpdateHours 12, cut to the 6-hour ceiling.
    expect((await client.getPolicy(ca.host, PROFILE)).nextUpdateHours).toBe(12);
    clock.now += 5 * 3_600_000;
    await client.getPolicy(ca.host, PROFILE);
    expect(ca.exchanges).toHaveLength(3);
    clock.now += 2 * 3_600_000;
    await client.getPolicy(ca.host, PROFILE);
    expect(ca.exchanges).toHaveLength(4);
  });

  it('does not keep failures: a profile missing from the answer is PROFILE_NOT_FOUND each time', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({
      status: 200,
      body: fixture('policy-prefixed-multi.xml'),
    }));
    const { client } = clientFor(ca.host);
    for (let index = 0; index < 2; index += 1) {
      expect((await failureOf(client.getPolicy(ca.host, '1.2.3.4'))).code).toBe('PROFILE_NOT_FOUND');
    }
    expect(ca.exchanges).toHaveLength(2);
  });

  it('assertUp throws CA_UNAVAILABLE when the CA reports DOWN', async () => {
    const ca = await startCa(serverCertificate, raCa, () => ({
      status: 200,
      body: fixture('health-down.xml'),
    }));
    const { client } = clientFor(ca.host);
    await expect(client.getStatus(ca.host)).resolves.toEqual({
      up: false,
      message: 'Scheduled maintenance until 02:00 UTC',
    });
    const error = await failureOf(client.assertUp(ca.host));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.caMessage).toBe('Scheduled maintenance until 02:00 UTC');
  });
});
