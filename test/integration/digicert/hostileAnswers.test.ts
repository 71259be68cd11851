/**
 * A hostile or broken CA, played by the dev PKI-WS simulator, against the broker's real CA client over mutual
 * TLS: every answer ends the call within its time and byte limits with a clear error code — a huge or endless
 * body, deep nesting, DTDs and entities (never expanded, never fetched), bodies that are not SOAP, a
 * certificate for another key or person or one that does not chain, a redirect, a server certificate for
 * another name, an answer cut off mid-body.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCertificate } from '../../../dev/pki/certificates';
import { loadDevCa, type DevPki } from '../../../dev/pki/devPki';
import { parseInjectedFault } from '../../../dev/simulator/faultParsing';
import { startPkiWsSimulator, type InjectedFault, type Simulator } from '../../../dev/simulator/server';
import { caCertificatesOfPolicy, parseIssuedToken } from '../../../shared/crypto';
import type { RequestedNames } from '../../../shared/crypto/issuedIdentity';
import { PkiWsClient, type PkiWsClientOptions } from '../../../shared/digicert/client';
import type { EnrollmentRequest } from '../../../shared/digicert/types';
import type { RaCredential } from '../../../shared/ra-credential/types';
import { brokerErrorOf, failureOf } from '../../support/brokerErrors';
import { devRaCredential, enrollmentKey } from './mtlsCa';
import { startDevSimulator, type DevSimulator } from '../../support/devSimulator';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const SEAT = 'adele.vance@contoso.example';
const MAX_RESPONSE_BYTES = 1024 * 1024;
// Generous for a loaded 2-core machine; the tests that wait for it assert the code, never the time.
const REQUEST_TIMEOUT_MS = 1500;

let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let ra: RaCredential;
let key: { publicKey: KeyObject; csrDer: Buffer };
/** A plain HTTP listener standing for any other host: an entity URL or a redirect target. */
let bystander: { server: Server; url: string; requests: string[] };

beforeAll(async () => {
  devSimulator = await startDevSimulator('digicert-hostile-');
  ({ pki, simulator } = devSimulator);
  ra = devRaCredential(pki);
  key = enrollmentKey();
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method ?? '?'} ${request.url ?? '?'}`);
    response.end('bystander');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bystander = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
});

afterAll(async () => {
  await new Promise((resolve) => bystander?.server.close(resolve));
  await devSimulator?.close();
});

const clients: PkiWsClient[] = [];

beforeEach(() => {
  simulator.reset();
  bystander.requests.length = 0;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function clientFor(
  target: Simulator = simulator,
  settings: Partial<PkiWsClientOptions['settings']> = {},
): PkiWsClient {
  const client = new PkiWsClient({
    settings: {
      caAllowedHosts: [target.authority],
      caConnectTimeoutMs: 5000,
      caRequestTimeoutMs: REQUEST_TIMEOUT_MS,
      // One attempt: each test sees what one hostile answer does, not what the retries make of it.
      caMaxAttempts: 1,
      caRetryBaseDelayMs: 0,
      ...settings,
    },
    credential: async () => ra,
    extraTrustedCaPem: [pki.tlsRootCa.certPem],
    maxResponseBytes: MAX_RESPONSE_BYTES,
    sleep: async () => undefined,
  });
  clients.push(client);
  return client;
}

function enrollment(transactionId: string): EnrollmentRequest {
  return {
    profileOid: USER_PROFILE,
    clientTransactionId: transactionId,
    csrDer: key.csrDer,
    nameValuePairs: [
      { name: 'seat_id', value: SEAT },
      { name: 'common_name', value: 'Adele Vance' },
      { name: 'mail_email', value: SEAT },
      { name: 'otherNameUPN', value: SEAT },
    ],
  };
}

/** What the broker's plan asks for with the pairs above. */
const REQUESTED: RequestedNames = {
  csrSubject: [
    { shortName: 'CN', value: 'Adele Vance' },
    { shortName: 'E', value: SEAT },
  ],
  csrSan: [
    { kind: 'email', value: SEAT },
    { kind: 'upn', value: SEAT },
  ],
};

function queue(fault: InjectedFault): void {
  simulator.faults.enqueue(fault);
}

/** The simulator notes a streamed answer once its connection closed: a moment after the client gave up. */
async function streamedAnswer(): Promise<Simulator['streamedAnswers'][number]> {
  for (let waited = 0; waited < 5000; waited += 20) {
    const [streamed] = simulator.streamedAnswers;
    if (streamed !== undefined) return streamed;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the simulator never finished its streamed answer');
}

describe('bodies without bounds', () => {
  it('a 50 MB body is cut off at maxResponseBytes: CA_REJECTED, and the CA could send only a fraction', async () => {
    const size = 50 * 1024 * 1024;
    queue({ kind: 'hugeBody', bytes: size, service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_REJECTED', retryable: false });
    expect(error.message).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);
    const streamed = await streamedAnswer();
    expect(streamed.completed).toBe(false);
    // The client read no further than its limit; what the CA got rid of beyond it sat in socket buffers.
    expect(streamed.sentBytes).toBeGreaterThan(MAX_RESPONSE_BYTES);
    expect(streamed.sentBytes).toBeLessThan(size / 4);
  });

  it('an endless slow body (a byte per 100 ms) ends at the request timeout: CA_TIMEOUT', async () => {
    queue({ kind: 'slowBody', intervalMs: 100, service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_TIMEOUT', retryable: true });
    expect(error.message).toContain(`within ${REQUEST_TIMEOUT_MS} ms`);
    const streamed = await streamedAnswer();
    expect(streamed).toMatchObject({ completed: false });
    expect(streamed.sentBytes).toBeGreaterThan(0);
  });

  it('an endless slow body after the CA issued is an ambiguous CA_TIMEOUT for an enrollment', async () => {
    queue({ kind: 'slowBody', intervalMs: 100, after: 'processing', service: 'enrollmentService' });
    const error = await failureOf(clientFor().enroll(simulator.authority, enrollment('slow-1')));
    expect(error).toMatchObject({ code: 'CA_TIMEOUT', ambiguous: true });
    expect(simulator.issued).toHaveLength(1);
  });
});

describe('XML made to hurt', () => {
  it('100,000 nested elements are refused quickly as not understood, without a stack overflow', async () => {
    queue({ kind: 'hostileBody', shape: 'deepNesting', service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_REJECTED', retryable: false });
    expect(error.message).toMatch(/could not be understood: the answer is not SOAP but XML .*nested/i);
  });

  it('a billion-laughs DTD is refused, never expanded', async () => {
    queue({ kind: 'hostileBody', shape: 'billionLaughs', service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_REJECTED' });
    expect(error.message).toMatch(/not SOAP but XML .*has a DTD/);
    expect(error.caMessage?.length ?? 0).toBeLessThan(300);
  });

  it.each([
    ['an http URL the test listens on', () => `${bystander.url}/entity`],
    ['file:///etc/passwd', () => 'file:///etc/passwd'],
  ])('an external entity pointing at %s is refused and never fetched', async (_, url) => {
    queue({ kind: 'hostileBody', shape: 'externalEntity', entityUrl: url(), service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_REJECTED' });
    expect(error.message).toMatch(/has a DTD/);
    expect(`${error.message} ${error.caMessage ?? ''}`).not.toMatch(/root:/);
    expect(bystander.requests).toEqual([]);
  });
});

describe('answers that are not SOAP', () => {
  it.each([
    ['html', /not SOAP but an HTML page \(text\/html; charset=utf-8, \d+ bytes\)/],
    ['json', /not SOAP but JSON \(application\/json, \d+ bytes\)/],
    ['binary', /not SOAP but binary data \(application\/octet-stream, \d+ bytes\)/],
  ] as const)('a 200 with %s: CA_REJECTED saying what came', async (shape, said) => {
    queue({ kind: 'hostileBody', shape, service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_REJECTED', retryable: false });
    expect(error.message).toMatch(said);
    // No raw bytes or control characters travel on in the CA's words.
    // eslint-disable-next-line no-control-regex
    expect(error.caMessage).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\uFFFD]/);
  });

  it('an HTML error page with a 502 stays CA_UNAVAILABLE (retryable), with the page as the CA words', async () => {
    queue({ kind: 'http', status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({
      code: 'CA_UNAVAILABLE',
      retryable: true,
      caMessage: 'HTTP 502: 502 Bad Gateway',
    });
  });
});

describe('a redirect', () => {
  it.each([301, 302, 307])(
    'HTTP %d to another host is never followed: CA_REJECTED naming the target',
    async (status) => {
      const target = `${bystander.url}/pki-ws/healthcheckService`;
      queue({ kind: 'http', status, location: target, body: 'moved' });
      const error = await failureOf(clientFor().getStatus(simulator.authority));
      expect(error).toMatchObject({ code: 'CA_REJECTED', retryable: false });
      expect(error.message).toContain(
        `HTTP ${status}, a redirect to ${target}, which the broker never follows`,
      );
      expect(bystander.requests).toEqual([]);
      expect(simulator.received).toHaveLength(1);
    },
  );
});

describe('a connection cut off mid-body', () => {
  it('before the CA did anything: CA_UNAVAILABLE, retryable', async () => {
    queue({ kind: 'truncate', service: 'healthcheckService' });
    const error = await failureOf(clientFor().getStatus(simulator.authority));
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true });
    expect(error.message).toMatch(/connection broke|closed/);
  });

  it('after the CA issued: an ambiguous CA_UNAVAILABLE for the enrollment, not resent', async () => {
    queue({ kind: 'truncate', after: 'processing', service: 'enrollmentService' });
    const client = clientFor(simulator, { caRequestTimeoutMs: 5000, caMaxAttempts: 3 });
    const error = await failureOf(client.enroll(simulator.authority, enrollment('cut-1')));
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', ambiguous: true });
    expect(simulator.issued).toHaveLength(1);
    expect(simulator.received.filter((request) => request.service === 'enrollmentService')).toHaveLength(1);
  });
});

describe('a certificate the broker must not take', () => {
  async function issuedWith(what: 'otherKey' | 'otherSubject' | 'brokenChain' | undefined) {
    if (what !== undefined) queue({ kind: 'wrongCertificate', what });
    const client = clientFor(simulator, { caRequestTimeoutMs: 5000 });
    const policy = await client.getPolicy(simulator.authority, USER_PROFILE);
    const response = await client.enroll(simulator.authority, enrollment(`wrong-${what ?? 'none'}`));
    return () => parseIssuedToken(response, key.publicKey, caCertificatesOfPolicy(policy.cas), REQUESTED);
  }

  it('the genuine certificate passes every check (the control)', async () => {
    const parse = await issuedWith(undefined);
    const { leafPem, chainPem } = parse();
    expect(new X509Certificate(leafPem).subjectAltName).toContain(SEAT);
    expect(chainPem).toHaveLength(2);
  });

  it('a certificate for another key: CA_REJECTED, no PFX', async () => {
    const error = brokerErrorOf(await issuedWith('otherKey'));
    expect(error).toMatchObject({ code: 'CA_REJECTED' });
    expect(error.message).toContain("none with the CSR's public key");
  });

  it('a certificate for another person: CA_REJECTED, the names not quoted', async () => {
    const error = brokerErrorOf(await issuedWith('otherSubject'));
    expect(error).toMatchObject({ code: 'CA_REJECTED' });
    expect(error.message).toContain('it lacks the requested e-mail address and the requested UPN');
    expect(error.message).not.toContain('someone.else');
    expect(error.message).not.toContain(SEAT);
  });

  it('a certificate not signed by the issuing CA it names: CA_REJECTED, the chain does not chain', async () => {
    const error = brokerErrorOf(await issuedWith('brokenChain'));
    expect(error).toMatchObject({ code: 'CA_REJECTED' });
    expect(error.message).toMatch(
      /does not chain: for the issued certificate, a certificate naming its issuer .* did not sign it/,
    );
  });
});

describe('TLS', () => {
  it('a server certificate for another name: CA_TLS_FAILED, nothing sent', async () => {
    const other = createCertificate({
      subject: [{ shortName: 'CN', value: 'pki-ws.fabrikam.example' }],
      issuer: loadDevCa(pki.tlsRootCa),
      extKeyUsage: ['serverAuth'],
      dnsNames: ['pki-ws.fabrikam.example'],
    });
    const impostor = await startPkiWsSimulator({
      pki,
      tls: { certPem: other.certPem, keyPem: other.keyPem! },
    });
    try {
      const error = await failureOf(clientFor(impostor).getStatus(impostor.authority));
      expect(error).toMatchObject({ code: 'CA_TLS_FAILED', retryable: false });
      expect(error.message).toContain('is not issued for');
      expect(impostor.received).toEqual([]);
    } finally {
      await impostor.close();
    }
  });
});

describe("the simulator's hostile faults", () => {
  it('are checked like the others, each error naming the bad field', () => {
    expect(parseInjectedFault({ kind: 'hostileBody', shape: 'html', after: 'processing' })).toEqual({
      kind: 'hostileBody',
      shape: 'html',
      after: 'processing',
    });
    expect(parseInjectedFault({ kind: 'wrongCertificate', what: 'otherKey' })).toEqual({
      kind: 'wrongCertificate',
      what: 'otherKey',
      service: 'enrollmentService',
    });
    expect(() => parseInjectedFault({ kind: 'hostileBody', shape: 'xml' })).toThrow(
      /fault\.shape must be one of/,
    );
    expect(() => parseInjectedFault({ kind: 'hugeBody', bytes: 0 })).toThrow(/fault\.bytes/);
    expect(() => parseInjectedFault({ kind: 'slowBody', intervalMs: 1.5 })).toThrow(/fault\.intervalMs/);
    expect(() => parseInjectedFault({ kind: 'truncate', after: 'later' })).toThrow(/fault\.after/);
    expect(() =>
      parseInjectedFault({ kind: 'wrongCertificate', what: 'otherKey', service: 'policyService' }),
    ).toThrow(/enrollmentService only/);
    expect(() => parseInjectedFault({ kind: 'wrongCertificate', what: 'nobody' })).toThrow(/fault\.what/);
  });

  it('are counted in stats under their labels', async () => {
    queue({ kind: 'hostileBody', shape: 'json', service: 'healthcheckService' });
    queue({ kind: 'truncate', service: 'healthcheckService' });
    const client = clientFor();
    await failureOf(client.getStatus(simulator.authority));
    await failureOf(client.getStatus(simulator.authority));
    expect(simulator.stats().faults).toEqual({ 'hostileBody:json': 1, truncate: 1 });
  });
});
