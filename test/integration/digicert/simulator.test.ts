/**
 * The client against the dev PKI-WS simulator (mutual TLS, real certificates): an enrollment the CA carried
 * out although the answer never came is found again with searchCertificate and its public key, strays are
 * revoked, 503s before the work are retried into exactly one certificate, and a refused RA certificate is
 * replaced by the renewed one from the vault.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { createCertificate } from '../../../dev/pki/certificates';
import { loadDevCa, type DevPki } from '../../../dev/pki/devPki';
import type { Simulator } from '../../../dev/simulator/server';
import { PkiWsClient, type PkiWsClientOptions } from '../../../shared/digicert/client';
import type { EnrollmentRequest } from '../../../shared/digicert/types';
import type { RaCredential } from '../../../shared/ra-credential/types';
import { credentialOf, devRaCredential, enrollmentKey, rotatingSource } from './mtlsCa';
import { failureOf } from '../../support/brokerErrors';
import { startDevSimulator, type DevSimulator } from '../../support/devSimulator';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let ra: RaCredential;
let renewedRa: RaCredential;
let keys: { publicKey: KeyObject; csrDer: Buffer }[];

beforeAll(async () => {
  devSimulator = await startDevSimulator('digicert-simulator-', { searchPageSize: 2 });
  ({ pki, simulator } = devSimulator);
  ra = devRaCredential(pki);
  const renewed = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev RA renewed' },
      { shortName: 'O', value: 'Contoso' },
    ],
    issuer: loadDevCa(pki.raCa),
    extKeyUsage: ['clientAuth'],
  });
  renewedRa = credentialOf(renewed, []);
  keys = Array.from({ length: 4 }, () => enrollmentKey());
});

afterAll(() => devSimulator?.close());

const clients: PkiWsClient[] = [];

beforeEach(() => simulator.reset());

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function clientFor(overrides: Partial<PkiWsClientOptions> = {}): PkiWsClient {
  const { settings, ...rest } = overrides;
  const client = new PkiWsClient({
    settings: {
      caAllowedHosts: [simulator.authority],
      caConnectTimeoutMs: 5000,
      caRequestTimeoutMs: 5000,
      caMaxAttempts: 3,
      caRetryBaseDelayMs: 0,
      ...settings,
    },
    credential: async () => ra,
    extraTrustedCaPem: [pki.tlsRootCa.certPem],
    sleep: async () => undefined,
    ...rest,
  });
  clients.push(client);
  return client;
}

function enrollmentFor(seat: string, key: number, transactionId: string): EnrollmentRequest {
  return {
    profileOid: USER_PROFILE,
    clientTransactionId: transactionId,
    csrDer: keys[key]!.csrDer,
    nameValuePairs: [
      { name: 'seat_id', value: seat },
      { name: 'common_name', value: seat.split('@')[0]! },
      { name: 'mail_email', value: seat },
      { name: 'otherNameUPN', value: seat },
    ],
  };
}

function spkiOf(der: Buffer | undefined): string | undefined {
  return der === undefined
    ? undefined
    : new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

function spkiOfKey(key: number): string {
  return keys[key]!.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

describe('reconciliation primitives against the simulator', () => {
  it('search pages through every certificate of a seat; a stray is revoked (Superseded), and again is done', async () => {
    const client = clientFor();
    const seat = 'alex.wilber@contoso.example';
    for (let index = 0; index < 3; index += 1) {
      await client.enroll(simulator.authority, enrollmentFor(seat, index, `search-${index}`));
    }
    await client.enroll(simulator.authority, enrollmentFor('megan@contoso.example', 3, 'other-seat'));

    const found = await client.searchCertificates(simulator.authority, {
      seatId: seat,
      profileOid: USER_PROFILE,
    });
    expect(found).toHaveLength(3);
    expect(found.map((record) => spkiOf(record.certificateDer))).toEqual([0, 1, 2].map(spkiOfKey));
    expect(found.map((record) => record.serialNumber)).toEqual(
      simulator.issued.slice(0, 3).map((certificate) => certificate.serialNumber),
    );
    expect(found.every((record) => record.status === 'VALID' && record.seatId === seat)).toBe(true);
    // searchPageSize 2, 1-based: the first page without startIndex, then from 2 (the overlap is dropped).
    const searches = simulator.received.filter((request) =>
      request.body.includes('searchCertificateRequest'),
    );
    expect(searches.map((request) => /startIndex>(\d+)</.exec(request.body)?.[1])).toEqual([undefined, '2']);

    const stray = found[1]!;
    await client.revokeCertificate(
      simulator.authority,
      stray.serialNumber,
      'Superseded',
      'stray of search-1',
    );
    expect(simulator.issued[1]).toMatchObject({
      status: 'REVOKED',
      revocationReason: 'Superseded',
      revocationComment: 'stray of search-1',
    });
    await expect(
      client.revokeCertificate(simulator.authority, stray.serialNumber, 'Superseded'),
    ).resolves.toBeUndefined();
    const valid = await client.searchCertificates(simulator.authority, {
      seatId: seat,
      profileOid: USER_PROFILE,
      status: 'VALID',
    });
    expect(valid.map((record) => record.serialNumber)).toEqual([
      found[0]!.serialNumber,
      found[2]!.serialNumber,
    ]);
  });

  it('an enrollment answered too late is ambiguous and not resent; the CA did issue, and search finds it by key', async () => {
    const client = clientFor({
      settings: {
        caAllowedHosts: [simulator.authority],
        caConnectTimeoutMs: 5000,
        // Room for the simulator to process (issue) before the client gives up, also on a busy machine.
        caRequestTimeoutMs: 1500,
        caMaxAttempts: 3,
        caRetryBaseDelayMs: 0,
      },
    });
    simulator.faults.enqueue({ kind: 'delay', ms: 4000, after: 'processing', service: 'enrollmentService' });
    const seat = 'late@contoso.example';
    const error = await failureOf(client.enroll(simulator.authority, enrollmentFor(seat, 0, 'late-1')));
    expect(error).toMatchObject({ code: 'CA_TIMEOUT', ambiguous: true, retryable: true });
    expect(simulator.received.filter((request) => request.service === 'enrollmentService')).toHaveLength(1);
    expect(simulator.issued).toHaveLength(1);
    const found = await client.searchCertificates(simulator.authority, {
      seatId: seat,
      profileOid: USER_PROFILE,
    });
    expect(found.map((record) => spkiOf(record.certificateDer))).toEqual([spkiOfKey(0)]);
  });

  it('a reset after the CA issued is ambiguous too; exactly one certificate exists', async () => {
    const client = clientFor();
    simulator.faults.enqueue({ kind: 'reset', after: 'processing', service: 'enrollmentService' });
    const error = await failureOf(
      client.enroll(simulator.authority, enrollmentFor('reset@contoso.example', 1, 'reset-1')),
    );
    expect(error).toMatchObject({ code: 'CA_UNAVAILABLE', ambiguous: true });
    expect(simulator.issued).toHaveLength(1);
  });

  it('two 503s before the work, then success → issued, one certificate at the CA', async () => {
    const client = clientFor();
    simulator.faults.enqueue(
      { kind: 'http', status: 503, service: 'enrollmentService' },
      { kind: 'http', status: 503, service: 'enrollmentService' },
    );
    await expect(
      client.enroll(simulator.authority, enrollmentFor('busy@contoso.example', 2, 'busy-1')),
    ).resolves.toMatchObject({ tokenType: 'PKCS7' });
    expect(simulator.received.filter((request) => request.service === 'enrollmentService')).toHaveLength(3);
    expect(simulator.issued).toHaveLength(1);
  });

  it('the simulator refuses the old RA certificate: the renewed one from the vault is read and used', async () => {
    simulator.refuseClientCertificate(pki.ra.thumbprint);
    const source = rotatingSource(ra, renewedRa);
    const client = clientFor({ credential: source });
    await expect(client.getPolicy(simulator.authority, USER_PROFILE)).resolves.toMatchObject({
      profileOid: USER_PROFILE,
    });
    expect(source.invalidations).toBe(1);
    expect(simulator.stats().refusedClientCertificateRequests).toBe(1);
    expect(simulator.received.at(-1)?.clientCertSubject).toBe('CN=Dev RA renewed, O=Contoso');
  });
});
