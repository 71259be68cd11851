/**
 * The PKI-WS client against real Node HTTPS servers on 127.0.0.1 that demand a client certificate: mutual
 * TLS, the three TLS failures, timeouts and retries, connection reuse, the allow-list and the policy cache.
 * Backoff waits are injected, so nothing here sleeps for real.
 */
import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import type { RaCredential } from '../../../shared/ra-credential/types';
import { childElements, childText, findDescendant, parseXml } from '../../../shared/digicert/xml';
import { failureOf } from '../../support/brokerErrors';
import { digicertFixture } from '../../support/digicertFixtures';
import {
  type CaServer,
  type Exchange,
  type Reply,
  type TestClient,
  type TestClientOverrides,
  type TestPki,
  closeClientsAndServers,
  createTestPki,
  credentialOf,
  startCa,
  testClientFor,
} from './mtlsCa';

const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61234567';

let pki: TestPki;
let wrongNameCertificate: TestCertificate;
let untrustedServerCertificate: TestCertificate;
let rogueRaCredential: RaCredential;

beforeAll(() => {
  pki = createTestPki();
  wrongNameCertificate = createCertificate({
    subject: [{ shortName: 'CN', value: 'ca.elsewhere.test' }],
    issuer: pki.serverCa,
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
  const rogueCa = createCertificate({ subject: [{ shortName: 'CN', value: 'Unknown RA CA' }], isCa: true });
  const rogueRa = createCertificate({
    subject: [{ shortName: 'CN', value: 'Rogue RA' }],
    issuer: rogueCa,
    extKeyUsage: ['clientAuth'],
  });
  rogueRaCredential = credentialOf(rogueRa, [rogueCa]);
});

afterEach(closeClientsAndServers);

/** A CA that trusts the test RA CA, serving the trusted `localhost` certificate unless given another. */
function serveCa(
  reply: (exchange: Exchange, index: number) => Reply,
  certificate: TestCertificate = pki.serverCertificate,
): Promise<CaServer> {
  return startCa({ certificate, trustedClientCa: pki.raCa, reply });
}

function clientFor(host: string, overrides: TestClientOverrides = {}): TestClient {
  return testClientFor(pki, host, overrides);
}

const healthUp = (): Reply => ({ status: 200, body: digicertFixture('health-up.xml') });

describe('mutual TLS', () => {
  it('presents the RA certificate; the CA sees its subject, the service path and the SOAPAction', async () => {
    const ca = await serveCa(healthUp);
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
    const ca = await serveCa(() => ({
      status: 200,
      body: digicertFixture('rstr-pkcs7.xml'),
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
    const ca = await serveCa(healthUp);
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
    const ca = await serveCa(healthUp);
    const mismatched: RaCredential = { ...pki.ra, privateKeyPem: pki.renewedRa.privateKeyPem };
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
    const ca = await serveCa(healthUp, untrustedServerCertificate);
    const { client } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.message).toMatch(/server certificate is not trusted/);
    expect(ca.counts.tcpConnections).toBe(1);
    expect(ca.exchanges).toHaveLength(0);
  });

  it('server certificate for another name → CA_TLS_FAILED naming the wrong FQDN', async () => {
    const ca = await serveCa(healthUp, wrongNameCertificate);
    const { client } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.message).toMatch(/wrong FQDN/);
    expect(ca.exchanges).toHaveLength(0);
  });

  it('reuses one TLS connection for several requests', async () => {
    const ca = await serveCa(healthUp);
    const { client } = clientFor(ca.host);
    for (let index = 0; index < 5; index += 1) await client.getStatus(ca.host);
    expect(ca.exchanges).toHaveLength(5);
    expect(ca.counts.secureConnections).toBe(1);
  });

  it('connects anew with the renewed RA certificate when the thumbprint changes', async () => {
    const ca = await serveCa(healthUp);
    let current = pki.ra;
    const { client } = clientFor(ca.host, { credential: async () => current });
    await client.getStatus(ca.host);
    current = pki.renewedRa;
    await client.getStatus(ca.host);
    expect(ca.exchanges.map((exchange) => exchange.peerCommonName)).toEqual(['Test RA', 'Test RA renewed']);
    expect(ca.counts.secureConnections).toBe(2);
  });
});

describe('allow-list', () => {
  it('never connects to a host that is not allow-listed, nor loads the RA credential', async () => {
    const ca = await serveCa(healthUp);
    const load = jest.fn(async () => pki.ra);
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
    const ca = await serveCa(() => 'hang');
    // Each attempt must reach the in-process server before it times out, also on a busy machine.
    const { client, sleeps } = clientFor(ca.host, {
      settings: { caRequestTimeoutMs: 1000 },
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
    const ca = await serveCa((_exchange, index) =>
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
    const ca = await serveCa((_exchange, index) =>
      index === 1 ? { status: 429, headers: { 'retry-after': '2' } } : healthUp(),
    );
    const { client, sleeps } = clientFor(ca.host);
    await client.getStatus(ca.host);
    expect(sleeps).toEqual([2000]);
  });

  it('5xx on every attempt → CA_UNAVAILABLE, retryable, with the CA words', async () => {
    const ca = await serveCa(() => ({ status: 502, body: 'Bad gateway' }));
    const { client } = clientFor(ca.host);
    const error = await failureOf(client.getStatus(ca.host));
    expect(error.code).toBe('CA_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.caMessage).toBe('HTTP 502: Bad gateway');
    expect(ca.exchanges).toHaveLength(3);
  });

  it('a SOAP fault is not retried', async () => {
    const ca = await serveCa(() => ({
      status: 500,
      body: digicertFixture('fault-unknown-profile.xml'),
    }));
    const { client, sleeps } = clientFor(ca.host);
    const error = await failureOf(client.getPolicy(ca.host, PROFILE));
    expect(error.code).toBe('PROFILE_NOT_FOUND');
    expect(error.caMessage).toMatch(/not understood/);
    expect(ca.exchanges).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('a refused connection → CA_UNAVAILABLE after every attempt', async () => {
    const ca = await serveCa(healthUp);
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
    const ca = await serveCa(() => ({
      status: 200,
      body: digicertFixture('policy-default-namespace.xml'),
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
    const ca = await serveCa(() => ({
      status: 200,
      body: digicertFixture('policy-prefixed-multi.xml'),
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
    const ca = await serveCa((exchange) => ({
      status: 200,
      body: /80000003/.test(exchange.body)
        ? digicertFixture('policy-minimal.xml')
        : digicertFixture('policy-default-namespace.xml'),
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
    const ca = await serveCa(() => ({
      status: 200,
      body: digicertFixture('policy-prefixed-multi.xml'),
    }));
    const { client } = clientFor(ca.host);
    for (let index = 0; index < 2; index += 1) {
      expect((await failureOf(client.getPolicy(ca.host, '1.2.3.4'))).code).toBe('PROFILE_NOT_FOUND');
    }
    expect(ca.exchanges).toHaveLength(2);
  });

  it('assertUp throws CA_UNAVAILABLE when the CA reports DOWN', async () => {
    const ca = await serveCa(() => ({
      status: 200,
      body: digicertFixture('health-down.xml'),
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
