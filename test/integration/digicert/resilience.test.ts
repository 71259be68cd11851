/**
 * The client over real mutual TLS (Node HTTPS servers on 127.0.0.1) when the CA struggles: enrollment is
 * never resent blindly, searchCertificate pages and Revoke, the circuit breaker per host with its health
 * check, the bulkhead, and the RA credential read again when the CA refuses it. Clock, sleep and jitter are
 * injected; only the per-attempt timeouts run for real (a few hundred ms).
 */
import { X509Certificate } from 'node:crypto';
import { createCertificate } from '../../../dev/pki/certificates';
import type { EnrollmentRequest } from '../../../shared/digicert/types';
import { childText, findDescendant, parseXml } from '../../../shared/digicert/xml';
import {
  type CaServer,
  type Exchange,
  type Reply,
  type TestClient,
  type TestClientOverrides,
  type TestPki,
  closeClientsAndServers,
  createTestPki,
  rotatingSource,
  startCa,
  startSilentServer,
  testClientFor,
} from './mtlsCa';
import { failureOf } from '../../support/brokerErrors';
import { digicertFixture } from '../../support/digicertFixtures';

const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61234567';
const SEAT = 'adele.vance@contoso.example';

let pki: TestPki;

beforeAll(() => {
  pki = createTestPki();
});

afterEach(closeClientsAndServers);

function clientFor(host: string, overrides: TestClientOverrides = {}): TestClient {
  return testClientFor(pki, host, overrides);
}

function ca(reply: (exchange: Exchange, index: number) => Reply | Promise<Reply>): Promise<CaServer> {
  return startCa({ certificate: pki.serverCertificate, trustedClientCa: pki.raCa, reply });
}

const issued = (): Reply => ({ status: 200, body: digicertFixture('rstr-pkcs7.xml') });
const healthUp = (): Reply => ({ status: 200, body: digicertFixture('health-up.xml') });
const healthDown = (): Reply => ({ status: 200, body: digicertFixture('health-down.xml') });
const policy = (): Reply => ({ status: 200, body: digicertFixture('policy-default-namespace.xml') });

function enrollment(transactionId = 'enroll-1'): EnrollmentRequest {
  return {
    profileOid: PROFILE,
    clientTransactionId: transactionId,
    csrDer: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]),
    nameValuePairs: [{ name: 'seat_id', value: SEAT }],
  };
}

describe('enrollment is never resent blindly', () => {
  it('the CA sits on the request past the timeout → one attempt, CA_TIMEOUT, ambiguous, "may have issued"', async () => {
    const server = await ca(() => 'hang');
    // The timeout must leave the in-process server time to read the request on a busy machine (at 300 ms it
    // sometimes fired first under CI load, and the exchange was never recorded).
    const { client, sleeps } = clientFor(server.host, {
      settings: { caRequestTimeoutMs: 1500 },
    });
    const error = await failureOf(client.enroll(server.host, enrollment()));
    expect(error).toMatchObject({ code: 'CA_TIMEOUT', retryable: true, ambiguous: true });
    expect(error.message).toMatch(
      /1500 ms .*the request had been sent, so the CA may have issued the certificate/,
    );
    expect(error.message).not.toMatch(/attempts\)/);
    expect(server.exchanges).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('a connection reset after the request was read → one attempt, CA_UNAVAILABLE, ambiguous', async () => {
    const server = await ca(() => 'reset');
    const { client, sleeps } = clientFor(server.host);
    const error = await failureOf(client.enroll(server.host, enrollment()));
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: true });
    expect(error.message).toMatch(/ECONNRESET.*may have issued/);
    expect(server.exchanges).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('the CA hangs up without a byte after the request → ambiguous, nothing resent, the credential read again', async () => {
    const server = await ca(() => 'close');
    const source = rotatingSource(pki.ra, pki.ra);
    const { client } = clientFor(server.host, { credential: source });
    const error = await failureOf(client.enroll(server.host, enrollment()));
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: true });
    expect(error.message).toMatch(/may have issued/);
    expect(server.exchanges).toHaveLength(1);
    expect(source.invalidations).toBe(1);
  });

  it('HTTP 500 without a SOAP fault → ambiguous; with a SOAP fault → the CA refused, not ambiguous', async () => {
    const server = await ca((_exchange, index) =>
      index === 1
        ? {
            status: 500,
            body: '<html>Internal Server Error</html>',
            headers: { 'content-type': 'text/html' },
          }
        : { status: 500, body: digicertFixture('fault-unknown-profile.xml') },
    );
    const { client, sleeps } = clientFor(server.host);
    const unanswered = await failureOf(client.enroll(server.host, enrollment('enroll-a')));
    expect(unanswered).toMatchObject({ code: 'CA_UNAVAILABLE', ambiguous: true });
    expect(unanswered.caMessage).toBe('HTTP 500: Internal Server Error');
    const refused = await failureOf(client.enroll(server.host, enrollment('enroll-b')));
    expect(refused).toMatchObject({ code: 'PROFILE_NOT_FOUND', ambiguous: false, retryable: false });
    expect(server.exchanges).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('503, then 502, then 200 → issued on the third attempt: the CA said no each time', async () => {
    const server = await ca((_exchange, index) =>
      index === 1
        ? { status: 503, body: 'maintenance', headers: { 'content-type': 'text/plain' } }
        : index === 2
          ? { status: 502, body: 'bad gateway', headers: { 'content-type': 'text/plain' } }
          : issued(),
    );
    const { client, sleeps } = clientFor(server.host);
    await expect(client.enroll(server.host, enrollment())).resolves.toMatchObject({ tokenType: 'PKCS7' });
    expect(server.exchanges).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]);
    // The same request each time: the same clientTransactionID.
    expect(
      server.exchanges.map((exchange) =>
        childText(findDescendant(parseXml(exchange.body), 'requestVSSecurityToken'), 'clientTransactionID'),
      ),
    ).toEqual(['enroll-1', 'enroll-1', 'enroll-1']);
  });

  it('429 with Retry-After → waits what the CA asked, then issued', async () => {
    const server = await ca((_exchange, index) =>
      index === 1 ? { status: 429, headers: { 'retry-after': '3' } } : issued(),
    );
    const { client, sleeps } = clientFor(server.host);
    await client.enroll(server.host, enrollment());
    expect(sleeps).toEqual([3000]);
    expect(server.exchanges).toHaveLength(2);
  });

  it('a refused connection is retried (the request never left), and ends not ambiguous', async () => {
    const server = await ca(issued);
    await server.close();
    const { client, sleeps } = clientFor(server.host);
    const error = await failureOf(client.enroll(server.host, enrollment()));
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', ambiguous: false, retryable: true });
    expect(error.message).toMatch(/refused.*\(3 attempts\)/);
    expect(sleeps).toHaveLength(2);
  });

  it('a TLS handshake that never completes is retried (nothing was sent), and ends CA_TIMEOUT, not ambiguous', async () => {
    const silent = await startSilentServer();
    // undici checks connect timeouts about once a second: two attempts keep this test short.
    const { client, sleeps } = clientFor(silent.host, {
      settings: {
        caConnectTimeoutMs: 200,
        caRequestTimeoutMs: 5000,
        caMaxAttempts: 2,
      },
    });
    const error = await failureOf(client.enroll(silent.host, enrollment()));
    expect(error).toMatchObject({ code: 'CA_TIMEOUT', ambiguous: false, retryable: true });
    expect(error.message).toMatch(/no connection within 200 ms \(CA_CONNECT_TIMEOUT_MS\).*\(2 attempts\)/);
    expect(silent.connections).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('idempotent operations keep retrying: a reset then an answer → the policy', async () => {
    const server = await ca((_exchange, index) => (index === 1 ? 'reset' : policy()));
    const { client, sleeps } = clientFor(server.host);
    await expect(client.getPolicy(server.host, PROFILE)).resolves.toMatchObject({ profileOid: PROFILE });
    expect(server.exchanges).toHaveLength(2);
    expect(sleeps).toEqual([50]);
  });

  it('a getStatus that times out is retried up to caMaxAttempts', async () => {
    const server = await ca((_exchange, index) => (index < 3 ? 'hang' : healthUp()));
    // Each attempt must reach the in-process server before it times out, also on a busy machine.
    const { client } = clientFor(server.host, {
      settings: { caRequestTimeoutMs: 1000 },
    });
    await expect(client.getStatus(server.host)).resolves.toMatchObject({ up: true });
    expect(server.exchanges).toHaveLength(3);
  });
});

// ---------------------------------------------------------------------------------------------------------

interface StoredCertificate {
  der: Buffer;
  serial: string;
  status: string;
}

/** How an independent CA may read searchCertificate paging (no document says). */
interface PagingReading {
  base: 0 | 1;
  count: 'page' | 'total';
  /** false: moreCertificateAvailable left out (minOccurs 0). */
  moreFlag: boolean;
}

/** One page of `all` as a CA with that reading answers the request in `exchange`. */
function pagedAnswer(
  exchange: Exchange,
  all: StoredCertificate[],
  pageSize: number,
  reading: PagingReading,
): Reply {
  const text = requestField(exchange, 'searchCertificateRequest', 'startIndex');
  const start = text === undefined ? reading.base : Number(text);
  if (start < reading.base) return { status: 500, body: 'startIndex out of range' };
  const offset = start - reading.base;
  const page = all.slice(offset, offset + pageSize);
  return searchAnswer(page, reading.moreFlag ? offset + pageSize < all.length : undefined, {
    certificateCount: reading.count === 'total' ? all.length : page.length,
  });
}

function searchAnswer(
  page: StoredCertificate[],
  more: boolean | undefined,
  options: { certificateCount?: number } = {},
): Reply {
  const list =
    page.length === 0
      ? ''
      : `<m:certificateList>${page
          .map(
            (certificate) =>
              `<m:certificateInformation><m:certificate>${certificate.der.toString('base64')}</m:certificate>` +
              `<m:seatId>${SEAT}</m:seatId><m:commonName>Adele</m:commonName><m:accountId>a</m:accountId>` +
              `<m:profileOID>${PROFILE}</m:profileOID><m:emailAddress>${SEAT}</m:emailAddress>` +
              `<m:status>${certificate.status}</m:status><m:validFrom>1767225600</m:validFrom>` +
              `<m:validTo>1798761600</m:validTo><m:serialNumber>${certificate.serial}</m:serialNumber>` +
              `<m:isEscrowed>false</m:isEscrowed><m:enrollmentNotes/><m:revokeComments/></m:certificateInformation>`,
          )
          .join('')}</m:certificateList>`;
  return {
    status: 200,
    body:
      '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>' +
      '<m:searchCertificateResponse xmlns:m="http://schemas.verisign.com/pkiservices/2009/07/management">' +
      `<m:serverTransactionID>S-1</m:serverTransactionID>` +
      `<m:certificateCount>${options.certificateCount ?? page.length}</m:certificateCount>${list}` +
      (more === undefined ? '' : `<m:moreCertificateAvailable>${more}</m:moreCertificateAvailable>`) +
      '<m:version>1.0</m:version>' +
      '</m:searchCertificateResponse></S:Body></S:Envelope>',
  };
}

function requestField(exchange: Exchange | undefined, element: string, field: string): string | undefined {
  return childText(findDescendant(parseXml(exchange?.body ?? ''), element), field);
}

const PAGING_READINGS: PagingReading[] = [0, 1].flatMap((base) =>
  (['page', 'total'] as const).flatMap((count) =>
    [true, false].map((moreFlag) => ({ base: base as 0 | 1, count, moreFlag })),
  ),
);
// The first reading is the one the dev simulator has by default: 1-based, page count, flag sent.
PAGING_READINGS.sort((a, b) => b.base - a.base);

describe('searchCertificates and revokeCertificate', () => {
  let stored: StoredCertificate[];

  beforeAll(() => {
    const issuer = createCertificate({ subject: [{ shortName: 'CN', value: 'Issuing CA' }], isCa: true });
    stored = Array.from({ length: 5 }, (_, index) => {
      const certificate = createCertificate({
        subject: [{ shortName: 'CN', value: `Adele ${index}` }],
        issuer,
        keyBits: 1024,
      });
      const x509 = new X509Certificate(certificate.certPem);
      return { der: x509.raw, serial: `00${x509.serialNumber}`, status: index === 1 ? 'REVOKED' : 'VALID' };
    });
  });

  it('pages without startIndex first, then from the count returned so far, until moreCertificateAvailable is false', async () => {
    const pageSize = 2;
    const server = await ca((exchange) => pagedAnswer(exchange, stored, pageSize, PAGING_READINGS[0]!));
    const { client } = clientFor(server.host);
    const records = await client.searchCertificates(server.host, { seatId: SEAT, profileOid: PROFILE });
    expect(records.map((record) => record.serialNumber)).toEqual(
      stored.map((certificate) => certificate.serial.replace(/^0+/, '')),
    );
    expect(records.map((record) => record.status)).toEqual(['VALID', 'REVOKED', 'VALID', 'VALID', 'VALID']);
    expect(records[0]?.certificateDer?.equals(stored[0]!.der)).toBe(true);
    expect(records[0]?.validFrom).toEqual(new Date('2026-01-01T00:00:00Z'));
    // 1-based CA: the first page is its own beginning, each later page repeats the previous page's last
    // certificate (dropped by serial); a 0-based CA would have been read without a gap either way.
    expect(
      server.exchanges.map((exchange) => requestField(exchange, 'searchCertificateRequest', 'startIndex')),
    ).toEqual([undefined, '2', '4']);
    for (const exchange of server.exchanges) {
      expect(exchange.path).toBe('/pki-ws/certificateManagementService');
      expect(exchange.headers.soapaction).toBe(
        '"http://schemas.verisign.com/pkiservices/2009/07/management/searchCertificate"',
      );
      expect(requestField(exchange, 'searchCertificateRequest', 'seatId')).toBe(SEAT);
      expect(requestField(exchange, 'searchCertificateRequest', 'profileOID')).toBe(PROFILE);
      expect(requestField(exchange, 'searchCertificateRequest', 'version')).toBe('1.0');
    }
    // Each page has its own transaction ID.
    const transactionIds = server.exchanges.map((exchange) =>
      requestField(exchange, 'searchCertificateRequest', 'clientTransactionID'),
    );
    expect(new Set(transactionIds).size).toBe(3);
  });

  // Every reading a CA may have × page sizes from 1 (each page one certificate) to more than all of them.
  const matrix = PAGING_READINGS.flatMap((reading) =>
    [1, 2, 3, 5, 50].flatMap((pageSize) => [1, 2, 5].map((count) => ({ reading, pageSize, count }))),
  );
  it.each(matrix)(
    'finds each of $count certificate(s) exactly once: startIndex from $reading.base, certificateCount = $reading.count, moreFlag $reading.moreFlag, page size $pageSize',
    async ({ reading, pageSize, count }) => {
      const all = stored.slice(0, count);
      const server = await ca((exchange) => pagedAnswer(exchange, all, pageSize, reading));
      const { client } = clientFor(server.host);
      const records = await client.searchCertificates(server.host, { seatId: SEAT, profileOid: PROFILE });
      expect(records.map((record) => record.serialNumber)).toEqual(
        all.map((certificate) => certificate.serial.replace(/^0+/, '')),
      );
      // Never startIndex 0 (a 1-based CA may refuse it), and not more than two pages beyond what is needed.
      const starts = server.exchanges.map((exchange) =>
        requestField(exchange, 'searchCertificateRequest', 'startIndex'),
      );
      expect(starts).not.toContain('0');
      expect(server.exchanges.length).toBeLessThanOrEqual(Math.ceil(count / Math.max(1, pageSize - 1)) + 2);
    },
  );

  it('a CA that ignores startIndex (the same page again and again, more follow) is refused, not looped on', async () => {
    const server = await ca(() => searchAnswer(stored.slice(0, 2), true));
    const { client } = clientFor(server.host);
    const error = await failureOf(client.searchCertificates(server.host, { seatId: SEAT }));
    expect(error.code).toBe('CA_REJECTED');
    expect(error.message).toMatch(/ignore startIndex/);
    expect(server.exchanges).toHaveLength(3);
  });

  it('a page that says more follow but holds nothing → CA_REJECTED instead of an endless loop', async () => {
    const server = await ca(() => searchAnswer([], true));
    const { client } = clientFor(server.host);
    const error = await failureOf(client.searchCertificates(server.host, { seatId: SEAT }));
    expect(error.code).toBe('CA_REJECTED');
    expect(error.message).toMatch(/moreCertificateAvailable is true but the first page holds no certificate/);
    expect(server.exchanges).toHaveLength(1);
  });

  it('searches are retried like every idempotent call', async () => {
    const server = await ca((_exchange, index) =>
      index === 1 ? 'reset' : searchAnswer(stored.slice(0, 1), false),
    );
    const { client } = clientFor(server.host);
    await expect(client.searchCertificates(server.host, { seatId: SEAT })).resolves.toHaveLength(1);
    expect(server.exchanges).toHaveLength(2);
  });

  it('revokes by serial: Revoke, reason, comment, the serial without leading zeros, the WSDL SOAPAction', async () => {
    const server = await ca(() => ({ status: 200, body: digicertFixture('revoke-ok.xml') }));
    const { client } = clientFor(server.host);
    await client.revokeCertificate(server.host, '00:1a:2b:3c', 'Superseded', 'stray of request 42');
    const [exchange] = server.exchanges;
    expect(exchange?.path).toBe('/pki-ws/certificateManagementService');
    expect(exchange?.headers.soapaction).toBe(
      '"http://schemas.verisign.com/pkiservices/2009/07/management/updateCertificateStatus"',
    );
    const field = (name: string) => requestField(exchange, 'updateCertificateStatusRequest', name);
    expect([
      field('certificateSerialNumber'),
      field('revocationReason'),
      field('comment'),
      field('operationType'),
    ]).toEqual(['1A2B3C', 'Superseded', 'stray of request 42', 'Revoke']);
  });

  it('a Revoke that timed out and then meets "already revoked" is done', async () => {
    const server = await ca((_exchange, index) =>
      index === 1 ? 'reset' : { status: 500, body: digicertFixture('fault-already-revoked.xml') },
    );
    const { client } = clientFor(server.host);
    await expect(client.revokeCertificate(server.host, '1A2B3C4D', 'Superseded')).resolves.toBeUndefined();
    expect(server.exchanges).toHaveLength(2);
  });

  it('a Revoke the CA refuses (unknown serial, negative successCode) → CA_REJECTED with its words', async () => {
    const server = await ca((_exchange, index) =>
      index === 1
        ? { status: 500, body: digicertFixture('fault-certificate-not-found.xml') }
        : { status: 200, body: digicertFixture('revoke-negative.xml') },
    );
    const { client } = clientFor(server.host);
    const notFound = await failureOf(client.revokeCertificate(server.host, '1A2B3C4D', 'Superseded'));
    expect(notFound.code).toBe('CA_REJECTED');
    expect(notFound.caMessage).toMatch(/No certificate with serial number 1A2B3C4D was found/);
    const negative = await failureOf(client.revokeCertificate(server.host, '1A2B3C4D', 'Superseded'));
    expect(negative.code).toBe('CA_REJECTED');
    expect(negative.caMessage).toMatch(/successCode -3/);
    expect(server.exchanges).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('circuit breaker per CA host', () => {
  it('opens after CA_CIRCUIT_FAILURES; waits CA_CIRCUIT_HALF_OPEN_MS; the health operation decides when to try again', async () => {
    let mode: 'failing' | 'down' | 'recovered' = 'failing';
    const server = await ca((exchange) => {
      if (mode === 'failing')
        return { status: 503, body: 'overloaded', headers: { 'content-type': 'text/plain' } };
      if (exchange.path.endsWith('healthcheckService')) return mode === 'down' ? healthDown() : healthUp();
      return policy();
    });
    const { client, clock } = clientFor(server.host, {
      settings: {
        caMaxAttempts: 1,
        caCircuitFailures: 3,
        caCircuitHalfOpenMs: 60_000,
      },
    });
    for (let index = 0; index < 3; index += 1) {
      expect((await failureOf(client.getPolicy(server.host, PROFILE))).code).toBe('CA_UNAVAILABLE');
    }
    expect(client.circuitStatus(server.host)).toBe('open');

    const refused = await failureOf(client.enroll(server.host, enrollment()));
    expect(refused).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: false });
    expect(refused.message).toMatch(
      `the CA at ${server.host} failed 3 times in a row (last: DigiCert getPolicies at ${server.host} failed: the CA answered HTTP 503`,
    );
    expect(refused.message).toMatch(/requests wait in the queue until it recovers/);
    expect(server.exchanges).toHaveLength(3);

    // After the pause the CA is back but its health check says DOWN: the call is not sent, the circuit stays open.
    mode = 'down';
    clock.now += 60_000;
    const stillDown = await failureOf(client.getPolicy(server.host, PROFILE));
    expect(stillDown.code).toBe('CA_UNAVAILABLE');
    expect(stillDown.message).toMatch(
      /health check still reports it DOWN: "Scheduled maintenance until 02:00 UTC"/,
    );
    expect(client.circuitStatus(server.host)).toBe('open');
    expect(server.exchanges.map((exchange) => exchange.path.split('/').pop())).toEqual([
      'policyService',
      'policyService',
      'policyService',
      'healthcheckService',
    ]);

    // UP after the next pause: the health check, then the call itself; the circuit closes.
    mode = 'recovered';
    clock.now += 59_999;
    expect((await failureOf(client.getPolicy(server.host, PROFILE))).message).toMatch(/in a row/);
    clock.now += 1;
    await expect(client.getPolicy(server.host, PROFILE)).resolves.toMatchObject({ profileOid: PROFILE });
    expect(client.circuitStatus(server.host)).toBe('closed');
    expect(server.exchanges.slice(4).map((exchange) => exchange.path.split('/').pop())).toEqual([
      'healthcheckService',
      'policyService',
    ]);
  });

  it('a profile the CA does not know never opens the circuit', async () => {
    const server = await ca(() => ({ status: 500, body: digicertFixture('fault-unknown-profile.xml') }));
    const { client } = clientFor(server.host, {
      settings: {
        caMaxAttempts: 1,
        caCircuitFailures: 2,
      },
    });
    for (let index = 0; index < 4; index += 1) {
      expect((await failureOf(client.getPolicy(server.host, PROFILE))).code).toBe('PROFILE_NOT_FOUND');
    }
    expect(client.circuitStatus(server.host)).toBe('closed');
    expect(server.exchanges).toHaveLength(4);
  });
});

describe('bulkhead (CA_MAX_CONCURRENCY)', () => {
  /** A CA that answers (health UP) only when the test calls the release each request leaves in `held`. */
  async function holdingCa(): Promise<{ server: CaServer; held: (() => void)[] }> {
    const held: (() => void)[] = [];
    const server = await ca(
      () =>
        new Promise<Reply>((resolve) => {
          held.push(() => resolve(healthUp()));
        }),
    );
    return { server, held };
  }

  it('never has more than CA_MAX_CONCURRENCY requests at the CA; the rest wait and then go through', async () => {
    const { server, held } = await holdingCa();
    const { client } = clientFor(server.host, {
      settings: {
        caRequestTimeoutMs: 5000,
        caMaxAttempts: 1,
        caMaxConcurrency: 2,
      },
    });
    const calls = Array.from({ length: 6 }, () => client.getStatus(server.host));
    // Wait for the server to hold what the bulkhead lets through (TLS handshakes are slow on a busy machine).
    const until = async (condition: () => boolean): Promise<void> => {
      for (let waited = 0; !condition() && waited < 4000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(() => server.counts.inFlight === 2);
    expect(server.counts.inFlight).toBe(2);
    expect(client.load()).toEqual({ running: 2, queued: 4 });
    let released = 0;
    while (released < 6) {
      await until(() => held.length > 0);
      const batch = held.splice(0);
      released += batch.length;
      for (const release of batch) release();
    }
    await expect(Promise.all(calls)).resolves.toHaveLength(6);
    expect(server.counts.maxInFlight).toBe(2);
    expect(server.exchanges).toHaveLength(6);
  });

  it('beyond the queue → CA_UNAVAILABLE "too many requests in flight", nothing sent', async () => {
    const { server, held } = await holdingCa();
    const { client } = clientFor(server.host, {
      settings: {
        caRequestTimeoutMs: 5000,
        caMaxConcurrency: 1,
      },
      maxQueuedCalls: 1,
    });
    const first = client.getStatus(server.host);
    const second = client.getStatus(server.host);
    const third = await failureOf(client.enroll(server.host, enrollment()));
    expect(third).toMatchObject({ code: 'CA_UNAVAILABLE', retryable: true, ambiguous: false });
    expect(third.message).toMatch(/requestSecurityToken at .* not attempted: too many requests in flight/);
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const release of held.splice(0)) release();
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const release of held.splice(0)) release();
    await Promise.all([first, second]);
    expect(server.exchanges.map((exchange) => exchange.path)).not.toContain('/pki-ws/enrollmentService');
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('RA credential read again when the CA refuses it', () => {
  async function refusingCa(how: 'tls' | 'http403', reply: () => Reply): Promise<CaServer> {
    return startCa({
      certificate: pki.serverCertificate,
      trustedClientCa: pki.raCa,
      reply,
      refuse: { thumbprints: new Set([pki.ra.thumbprint]), how },
    });
  }

  it('refused in the TLS layer, a renewed certificate in the vault → that call made once more with it', async () => {
    const server = await startCa({
      certificate: pki.serverCertificate,
      trustedClientCa: pki.raCa,
      reply: (exchange) => (exchange.path.endsWith('healthcheckService') ? healthUp() : policy()),
      refuse: { thumbprints: new Set([pki.ra.thumbprint]), how: 'tls' },
    });
    const source = rotatingSource(pki.ra, pki.renewedRa);
    const { client, sleeps } = clientFor(server.host, { credential: source });
    await expect(client.getPolicy(server.host, PROFILE)).resolves.toMatchObject({ profileOid: PROFILE });
    expect(source.invalidations).toBe(1);
    expect(server.counts.refusedConnections).toBe(1);
    expect(server.exchanges.map((exchange) => exchange.peerCommonName)).toEqual(['Test RA renewed']);
    expect(sleeps).toEqual([]);
    // Later calls go on with the renewed certificate on the same connection.
    await client.getStatus(server.host);
    expect(server.exchanges.map((exchange) => exchange.peerThumbprint)).toEqual([
      pki.renewedRa.thumbprint,
      pki.renewedRa.thumbprint,
    ]);
    expect(server.counts.refusedConnections).toBe(1);
  });

  it('refused, and the vault holds the same certificate → CA_TLS_FAILED as before, no second try', async () => {
    const server = await refusingCa('tls', policy);
    const source = rotatingSource(pki.ra, pki.ra);
    const { client } = clientFor(server.host, { credential: source });
    const error = await failureOf(client.getPolicy(server.host, PROFILE));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/RA certificate was most likely rejected/);
    expect(source.invalidations).toBe(1);
    expect(source.loads).toBe(2);
    expect(server.counts.refusedConnections).toBe(1);
  });

  it('the renewed certificate refused too → CA_TLS_FAILED after exactly one more try', async () => {
    const server = await startCa({
      certificate: pki.serverCertificate,
      trustedClientCa: pki.raCa,
      reply: policy,
      refuse: { thumbprints: new Set([pki.ra.thumbprint, pki.renewedRa.thumbprint]), how: 'tls' },
    });
    const source = rotatingSource(pki.ra, pki.renewedRa);
    const { client } = clientFor(server.host, { credential: source });
    expect((await failureOf(client.getStatus(server.host))).code).toBe('CA_TLS_FAILED');
    expect(server.counts.refusedConnections).toBe(2);
    expect(source.invalidations).toBe(2);
  });

  it('an enrollment refused with HTTP 403 is made once more with the renewed certificate (the CA said no)', async () => {
    const server = await refusingCa('http403', issued);
    const source = rotatingSource(pki.ra, pki.renewedRa);
    const { client } = clientFor(server.host, { credential: source });
    await expect(client.enroll(server.host, enrollment())).resolves.toMatchObject({ tokenType: 'PKCS7' });
    expect(server.counts.refusedConnections).toBe(1);
    expect(server.exchanges.map((exchange) => exchange.peerCommonName)).toEqual(['Test RA renewed']);
  });

  it('an enrollment met by a silent hang-up is not resent; the next call uses the renewed certificate', async () => {
    const server = await startCa({
      certificate: pki.serverCertificate,
      trustedClientCa: pki.raCa,
      reply: () => searchAnswer([], false),
      refuse: { thumbprints: new Set([pki.ra.thumbprint]), how: 'tls' },
    });
    const source = rotatingSource(pki.ra, pki.renewedRa);
    const { client } = clientFor(server.host, { credential: source });
    const error = await failureOf(client.enroll(server.host, enrollment()));
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', ambiguous: true, retryable: true });
    expect(error.message).toMatch(/RA certificate was most likely rejected.*may have issued/);
    expect(server.counts.refusedConnections).toBe(1);
    expect(source.invalidations).toBe(1);
    // Asking the CA what happened works with the renewed certificate.
    await expect(
      client.searchCertificates(server.host, { seatId: SEAT, profileOid: PROFILE }),
    ).resolves.toEqual([]);
    expect(server.exchanges.map((exchange) => exchange.peerCommonName)).toEqual(['Test RA renewed']);
  });
});
