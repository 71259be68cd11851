/**
 * EC P-256 keys through the issuing pipeline, over the in-memory ledger and the fake CA, under both readings
 * of the profile's algorithmOIDReference (id-ecPublicKey and ecdsa-with-SHA256): the certificate and the PFX
 * carry a P-256 key, the request's keySize does not apply, the key pool hands out EC keys apart from RSA
 * ones, and a lost answer is reconciled by the EC key's SPKI hash as an RSA one is.
 */
import { constants, privateDecrypt, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { createCertificate } from '../../../dev/pki/certificates';
import { EC_ALGORITHM_READINGS, EC_KEY_ALGORITHMS } from '../../../dev/simulator/profiles';
import { readSettings } from '../../../shared/config/settings';
import type { IssuedResult, PkcsResult } from '../../../shared/contract/types';
import { KeyPool, type KeySource } from '../../../shared/crypto/keyPool';
import { HeldEnrollmentKeys } from '../../../shared/issuance/heldKeys';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import { publicKeySha256 } from '../../../shared/issuance/reconciliation';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { InMemoryRequestLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

const CA_HOST = 'pki-ws.example.test';
const EC_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010006';
const RSA_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';

const ca = FakeDigicertCa.create();
const recipient = createCertificate({ subject: [{ shortName: 'CN', value: 'PFX Recipient' }], days: 30 });
let ledger: InMemoryRequestLedger;
let counter = 0;

function pipeline(keys?: KeySource): CertificatePipeline {
  return new CertificatePipeline({
    settings: readSettings({ CA_ALLOWED_HOSTS: CA_HOST }),
    ca,
    ledger,
    telemetry: new RecordingTelemetry(),
    heldKeys: new HeldEnrollmentKeys(),
    ...(keys === undefined ? {} : { keys }),
  });
}

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  const mail = `ec-${counter}@contoso.com`;
  return {
    schemaVersion: 1,
    requestId: `ec-${counter}`,
    certificateAuthority: CA_HOST,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: EC_PROFILE,
    subjectName: `CN=EC User ${counter},E=${mail}`,
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: mail },
      { type: 'AltNameTypeUpn', value: mail },
    ],
    // What Intune sends with every PKCS profile: an RSA size, which an EC profile does not use.
    keySize: 2048,
    recipientCertificate: recipient.certPem,
    ...overrides,
  };
}

function issued(outcome: PipelineOutcome): IssuedResult {
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
  const result: PkcsResult = outcome.result;
  if (result.status !== 'issued') throw new Error(`not issued: ${JSON.stringify(result)}`);
  return result;
}

/** The PFX opens as the device opens it (password decrypted with the recipient's key); TLS pairs key and leaf. */
function expectPfxOpens(result: IssuedResult): void {
  const password = privateDecrypt(
    { key: recipient.keyPem!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(result.pfx.password.encryptedValue, 'base64'),
  ).toString('utf8');
  const pfx = Buffer.from(result.pfx.data, 'base64');
  expect(() => createSecureContext({ pfx, passphrase: password })).not.toThrow();
}

beforeEach(() => {
  ca.reset();
  ledger = new InMemoryRequestLedger();
});

describe.each(EC_ALGORITHM_READINGS)('an EC profile read as %s', (reading) => {
  beforeAll(() => ca.useEcAlgorithmReading(reading));

  it('issues a certificate for a P-256 key, whatever RSA keySize the request sends', async () => {
    const policy = await ca.getPolicy(CA_HOST, EC_PROFILE);
    expect(policy.keyAlgorithm).toEqual(EC_KEY_ALGORITHMS[reading]);
    for (const keySize of [2048, 4096, undefined]) {
      const result = issued(await pipeline().process(request({ keySize }), { dequeueCount: 1 }));
      const leaf = new X509Certificate(result.certificate.pem);
      expect(leaf.publicKey.asymmetricKeyType).toBe('ec');
      expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(leaf.verify(new X509Certificate(result.certificate.chainPem[0]!).publicKey)).toBe(true);
      expectPfxOpens(result);
    }
    expect(ca.issued).toHaveLength(3);
  });

  it('keeps the SAN and the SID extension of strong mapping in the EC certificate', async () => {
    const result = issued(
      await pipeline().process(request({ securityIdentifier: SID }), { dequeueCount: 1 }),
    );
    const leaf = new X509Certificate(result.certificate.pem);
    expect(leaf.subjectAltName).toMatch(/email:ec-\d+@contoso\.com/);
    expect(leaf.raw.includes(Buffer.from(SID, 'latin1'))).toBe(true);
  });

  it('uses the EC certificate the CA issued although its answer was lost (matched by SPKI hash)', async () => {
    ca.loseNextAnswer('issued');
    const body = request();
    const result = issued(await pipeline().process(body, { dequeueCount: 1 }));
    expect(result.certificate.serialNumber).toBe(ca.issued[0]!.serialNumber);
    expect(ca.issued).toHaveLength(1);
    const record = await ledger.record(String(body.requestId));
    const leaf = new X509Certificate(result.certificate.pem);
    expect(record.enrollment?.publicKeySha256).toBe(publicKeySha256(leaf.publicKey));
  });

  it('uses a late EC certificate on the instance still holding its key', async () => {
    const instance = pipeline();
    const body = request();
    ca.loseNextAnswer('issues-late');
    expect((await instance.process(body, { dequeueCount: 1 })).kind).toBe('retry');
    ca.issueLate();
    const result = issued(await instance.process(body, { dequeueCount: 3 }));
    expect(result.certificate.serialNumber).toBe(ca.issued[0]!.serialNumber);
    expect((await ledger.record(String(body.requestId))).events.join('\n')).toMatch(
      /late for attempt 1, whose key this instance still held/,
    );
  });
});

describe('EC and RSA keys from one key pool', () => {
  it('takes EC keys for the EC profile and RSA keys for the RSA profile, each from its own pool', async () => {
    const pool = new KeyPool({ size: 1 });
    const taken: string[] = [];
    const keys: KeySource = {
      take: async (spec) => {
        taken.push(typeof spec === 'string' ? spec : `RSA-${spec}`);
        return pool.take(spec);
      },
      close: () => pool.close(),
    };
    const broker = pipeline(keys);
    const ec = issued(await broker.process(request(), { dequeueCount: 1 }));
    const rsa = issued(
      await broker.process(request({ certificateTemplateName: RSA_PROFILE }), { dequeueCount: 1 }),
    );
    expect(pool.held('P-256').ready + pool.held('P-256').generating).toBe(1);
    keys.close();
    expect(taken).toEqual(['P-256', 'RSA-2048']);
    expect(new X509Certificate(ec.certificate.pem).publicKey.asymmetricKeyType).toBe('ec');
    expect(new X509Certificate(rsa.certificate.pem).publicKey.asymmetricKeyType).toBe('rsa');
  });
});

describe('a profile asking for a key the broker cannot generate', () => {
  afterAll(() => ca.useEcAlgorithmReading('ecPublicKey'));

  it('fails with POLICY_MISMATCH naming the algorithm, before any key or enrollment', async () => {
    const policy = await ca.getPolicy(CA_HOST, EC_PROFILE);
    const original = ca.getPolicy.bind(ca);
    ca.getPolicy = async () => ({
      ...policy,
      keyAlgorithm: { oid: '1.2.840.10045.4.3.3', name: 'sha384ECDSA' },
      keySize: 384,
    });
    try {
      const outcome = await pipeline().process(request(), { dequeueCount: 1 });
      expect(outcome).toMatchObject({
        kind: 'result',
        result: { status: 'failed', error: { code: 'POLICY_MISMATCH' } },
      });
      const message =
        outcome.kind === 'result' && outcome.result.status === 'failed' ? outcome.result.error.message : '';
      expect(message).toMatch(/sha384ECDSA/);
      expect(ca.calls.filter((call) => call.startsWith('enroll'))).toEqual([]);
    } finally {
      ca.getPolicy = original;
    }
  });
});
