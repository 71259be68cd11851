/**
 * The whole pipeline in-process against the real parts: the PKI-WS simulator over mutual TLS, the RA
 * credential from a PFX file, native crypto. One case per contract error code that needs no queue retries,
 * the seed's fallbacks, and the XSD validity of every SOAP body the simulator received.
 */
import { constants, privateDecrypt, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import { createRequestLedger } from '../../../shared/ledger/tableLedger';
import type { RequestLedger } from '../../../shared/ledger/types';
import { createCertificate } from '../../../dev/pki/certificates';
import type { DevPki } from '../../../dev/pki/devPki';
import type { Simulator } from '../../../dev/simulator/server';
import { readSettings, type BrokerSettings } from '../../../shared/config/settings';
import type { FailedResult, IssuedResult, PkcsResult } from '../../../shared/contract/types';
import { validateResult } from '../../../shared/contract/validate';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import { FileRaCredentialSource } from '../../../shared/ra-credential';
import type { RaCredentialSource } from '../../../shared/ra-credential/types';
import { requestTraceProperties } from '../../../shared/telemetry/applicationInsights';
import { devCaClient, startDevSimulator, type DevSimulator } from '../../support/devSimulator';
import { sidReadByOpenssl } from '../../support/opensslSid';
import { RecordingTelemetry } from '../../support/recordingTelemetry';
import { describeWithTeamShared } from '../../support/teamShared';
import { validateReceivedBodies } from '../../support/xsd';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const NAME_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61904612';
const DEVICE_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.52840011';
const BIG_KEY_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010004';
const RENAMED_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010005';
const SID_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const GUID_OID = '1.3.6.1.4.1.311.25.1';
const GUID_HEX = '04 10 b8 ba 65 41 f2 d4 07 41 a9 f7 47 08 f3 e4 28 5c';

let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let azurite: RunningAzurite;
let ledger: RequestLedger;
let telemetry: RecordingTelemetry;
let counter = 0;

function settingsFor(extra: Record<string, string> = {}): BrokerSettings {
  return readSettings({
    CA_ALLOWED_HOSTS: simulator.authority,
    CA_CONNECT_TIMEOUT_MS: '2000',
    CA_REQUEST_TIMEOUT_MS: '1500',
    CA_MAX_ATTEMPTS: '3',
    CA_RETRY_BASE_DELAY_MS: '0',
    // Most requests here are for one seat (IWUser0); the per-seat limit has its own tests (seatLimit.test.ts).
    MAX_CERTIFICATES_PER_SEAT_PER_DAY: '1000',
    ...extra,
  });
}

function pipelineWith(
  options: { settings?: BrokerSettings; credential?: RaCredentialSource } = {},
): CertificatePipeline {
  const settings = options.settings ?? settingsFor();
  const ca = devCaClient(pki, settings, options.credential);
  return new CertificatePipeline({ settings, ca, ledger, telemetry });
}

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    schemaVersion: 1,
    requestId: `req-${counter}`,
    certificateAuthority: simulator.authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: USER_PROFILE,
    subjectName: 'CN=IWUser0,E=IWUser0@contoso.onmicrosoft.com',
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.onmicrosoft.com' },
      { type: 'AltNameTypeUpn', value: 'IWUser0.upn@contoso.onmicrosoft.com' },
      { type: 'AltNameTypeOtherName', oid: GUID_OID, value: GUID_HEX },
    ],
    recipientCertificate: pki.recipient.certPem,
    context: { deviceId: 'device-1' },
    ...overrides,
  };
}

function resultOf(outcome: PipelineOutcome): PkcsResult {
  if (outcome.kind !== 'result')
    throw new Error(`expected a result, got a retry for ${outcome.error.code}: ${outcome.error.message}`);
  expect(validateResult(outcome.result)).toEqual({ valid: true });
  return outcome.result;
}

function issued(outcome: PipelineOutcome): IssuedResult {
  const result = resultOf(outcome);
  if (result.status !== 'issued')
    throw new Error(`expected issued, got ${result.error.code}: ${result.error.message}`);
  return result;
}

function failed(outcome: PipelineOutcome): FailedResult {
  const result = resultOf(outcome);
  if (result.status !== 'failed') throw new Error('expected a failure, got a certificate');
  return result;
}

function openPfx(result: IssuedResult): {
  password: string;
  key: forge.pki.rsa.PrivateKey;
  certificates: forge.pki.Certificate[];
} {
  const password = privateDecrypt(
    { key: pki.recipient.keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(result.pfx.password.encryptedValue, 'base64'),
  ).toString('utf8');
  const pfxDer = Buffer.from(result.pfx.data, 'base64');
  createSecureContext({ pfx: pfxDer, passphrase: password });
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfxDer.toString('binary')), password);
  const keyBag = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[
    forge.pki.oids.pkcs8ShroudedKeyBag!
  ]![0]!;
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]!;
  return {
    password,
    key: keyBag.key as forge.pki.rsa.PrivateKey,
    certificates: certBags.map((bag) => bag.cert!),
  };
}

const enrollments = (): number => simulator.received.filter((r) => r.service === 'enrollmentService').length;

beforeAll(async () => {
  devSimulator = await startDevSimulator('pipeline-');
  ({ pki, simulator } = devSimulator);
  azurite = await startAzurite();
  ledger = createRequestLedger(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
  await devSimulator?.close();
});

beforeEach(() => {
  telemetry = new RecordingTelemetry();
});

describe('issuing', () => {
  it('issues a PFX that only the recipient can open, with the profile subject and every SAN value', async () => {
    const pipeline = pipelineWith();
    const result = issued(await pipeline.process(JSON.stringify(request()), { dequeueCount: 1 }));

    expect(result.context).toEqual({ deviceId: 'device-1' });
    expect(result.pfx.password.recipientThumbprint).toBe(pki.recipient.thumbprint);
    const leaf = new X509Certificate(result.certificate.pem);
    expect(leaf.subject).toContain('CN=IWUser0');
    expect(leaf.subject).toContain('O=Contoso Ltd');
    expect(leaf.subjectAltName).toContain('email:IWUser0@contoso.onmicrosoft.com');
    expect(result.certificate.thumbprint).toBe(leaf.fingerprint.replace(/:/g, ''));
    expect(result.certificate.chainPem).toHaveLength(2);
    expect(leaf.checkIssued(new X509Certificate(result.certificate.chainPem[0]!))).toBe(true);

    const { password, key, certificates } = openPfx(result);
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(certificates).toHaveLength(3);
    const pfxLeaf = certificates.find(
      (c) => c.serialNumber.toUpperCase().replace(/^0+/, '') === result.certificate.serialNumber,
    )!;
    expect((pfxLeaf.publicKey as forge.pki.rsa.PublicKey).n.equals(key.n)).toBe(true);

    // The otherName GUID reached the certificate byte for byte (forge shows otherName values as raw DER).
    const san = pfxLeaf.getExtension('subjectAltName') as { altNames: { type: number; value: unknown }[] };
    expect(san.altNames.length).toBeGreaterThanOrEqual(3);
    expect(leaf.raw.includes(Buffer.from(GUID_HEX.replace(/ /g, ''), 'hex'))).toBe(true);

    // Nothing secret reached telemetry.
    const serialized = JSON.stringify(telemetry.events);
    expect(serialized).not.toContain(password);
    expect(serialized).not.toContain(pki.ra.pfxPassword);
    expect(telemetry.events[0]!.subjectIdentity).toBe('IWUser0@contoso.onmicrosoft.com');
    // What is sent to Application Insights carries the identity only as a hash.
    expect(JSON.stringify(requestTraceProperties(telemetry.events[0]!, false))).not.toContain('contoso');
    expect(telemetry.events).toEqual([
      expect.objectContaining({ requestId: result.requestId, outcome: 'issued' }),
    ]);
  });

  it.each([
    [
      'UPN only: e-mail falls back to the UPN',
      'CN=IWUser1',
      [{ type: 'AltNameTypeUpn', value: 'iwuser1@contoso.com' }],
      'email:iwuser1@contoso.com',
    ],
    [
      'e-mail only: UPN falls back to the e-mail',
      'CN=IWUser2',
      [{ type: 'AltNameTypeEmail', value: 'iwuser2@contoso.com' }],
      'email:iwuser2@contoso.com',
    ],
    [
      'no SAN: both fall back to the subject e-mail',
      'CN=iwuser3@contoso.com',
      [],
      'email:iwuser3@contoso.com',
    ],
    ['no SAN: E= of the subject', 'CN=IWUser4,E=iwuser4@contoso.com', [], 'email:iwuser4@contoso.com'],
  ])('%s', async (_name, subjectName, subjectAlternativeNames, expectedSan) => {
    const result = issued(
      await pipelineWith().process(request({ subjectName, subjectAlternativeNames }), { dequeueCount: 1 }),
    );
    expect(new X509Certificate(result.certificate.pem).subjectAltName).toContain(expectedSan);
  });

  it.each([
    ['a display name', 'CN=Ada Lovelace,E=ada@contoso.com', 'Ada', 'Lovelace', 'CN=Ada Lovelace'],
    ['an e-mail address', 'CN=ada.lovelace@contoso.com', 'ada', 'lovelace', 'CN=ada lovelace'],
  ])(
    'fills mail_firstName and mail_lastName from a common name that is %s',
    async (_name, subjectName, firstName, lastName, expectedCn) => {
      const result = issued(
        await pipelineWith().process(
          request({ certificateTemplateName: NAME_PROFILE, subjectName, subjectAlternativeNames: [] }),
          { dequeueCount: 1 },
        ),
      );
      // Exactly this CN: the whole CN sent for both names would read "Ada Lovelace Ada Lovelace".
      expect(new X509Certificate(result.certificate.pem).subject.split('\n')).toContain(expectedCn);
      const atCa = simulator.issued.find(
        (certificate) => certificate.serialNumber === result.certificate.serialNumber,
      );
      expect(atCa?.nameValuePairs).toEqual(
        expect.arrayContaining([
          { name: 'mail_firstName', value: firstName },
          { name: 'mail_lastName', value: lastName },
        ]),
      );
    },
  );

  it('serves a profile with differently named variables through PROFILE_FIELD_MAP', async () => {
    const body = request({ certificateTemplateName: RENAMED_PROFILE, subjectAlternativeNames: [] });
    const without = failed(await pipelineWith().process(body, { dequeueCount: 1 }));
    expect(without.error.code).toBe('POLICY_MISMATCH');
    expect(without.error.message).toContain('user_id');

    const mapped = pipelineWith({ settings: settingsFor({ PROFILE_FIELD_MAP: '{"user_id":"upn"}' }) });
    const result = issued(await mapped.process({ ...body, requestId: 'renamed-ok' }, { dequeueCount: 1 }));
    expect(new X509Certificate(result.certificate.pem).subjectAltName).toContain(
      'email:IWUser0@contoso.onmicrosoft.com',
    );
  });

  it('generates 4096-bit keys when asked', async () => {
    const result = issued(
      await pipelineWith().process(
        request({ certificateTemplateName: BIG_KEY_PROFILE, keySize: 4096, subjectAlternativeNames: [] }),
        { dequeueCount: 1 },
      ),
    );
    expect(openPfx(result).key.n.bitLength()).toBe(4096);
    expect(new X509Certificate(result.certificate.pem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(
      4096,
    );
  });

  it('rides out two 503 answers within one delivery', async () => {
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'enrollmentService' });
    simulator.faults.enqueue({ kind: 'http', status: 503, service: 'enrollmentService' });
    issued(await pipelineWith().process(request(), { dequeueCount: 1 }));
  });
});

describe('failures the administrator can act on', () => {
  const expired = (): string =>
    createCertificate({
      subject: [{ shortName: 'CN', value: 'old recipient' }],
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2021-01-01'),
    }).certPem;

  it.each<[string, () => unknown, string, RegExp]>([
    ['not JSON', () => '{"schemaVersion": 1,', 'INVALID_REQUEST', /not valid JSON/],
    [
      'a scheme in the CA',
      () => request({ certificateAuthority: `https://${simulator.authority}/` }),
      'CA_NOT_ALLOWED',
      /certificateAuthority/,
    ],
    [
      'a CA not allow-listed',
      () => request({ certificateAuthority: 'pki-ws.example.com' }),
      'CA_NOT_ALLOWED',
      /CA_ALLOWED_HOSTS/,
    ],
    [
      'a CA name other than Symantec',
      () => request({ certificateAuthorityName: 'DigiCert' }),
      'CA_NAME_INVALID',
      /Symantec/,
    ],
    [
      'a template that is not an OID',
      () => request({ certificateTemplateName: 'User' }),
      'TEMPLATE_INVALID',
      /certificateTemplateName/,
    ],
    [
      'an unreadable recipient',
      () => request({ recipientCertificate: 'hello' }),
      'RECIPIENT_INVALID',
      /recipientCertificate/,
    ],
    [
      'an expired recipient',
      () => request({ recipientCertificate: expired() }),
      'RECIPIENT_INVALID',
      /expired/,
    ],
    [
      'an unknown profile',
      () => request({ certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.99999999' }),
      'PROFILE_NOT_FOUND',
      /2\.16\.840\.1\.113733\.1\.16\.1\.2\.3\.1\.1\.99999999/,
    ],
    [
      'a subject with another attribute',
      () => request({ subjectName: 'CN=IWUser0,O=Contoso' }),
      'POLICY_MISMATCH',
      /subjectName/,
    ],
    [
      'no e-mail anywhere',
      () => request({ subjectName: 'CN=IWUser0', subjectAlternativeNames: [] }),
      'SAN_VALUE_MISSING',
      /mail_email|e-mail/,
    ],
    [
      'a device profile without its otherName',
      () => request({ certificateTemplateName: DEVICE_PROFILE, subjectAlternativeNames: [] }),
      'SAN_VALUE_MISSING',
      new RegExp(GUID_OID.replace(/\./g, '\\.')),
    ],
    [
      'an otherName that is not DER',
      () =>
        request({
          subjectAlternativeNames: [{ type: 'AltNameTypeOtherName', oid: GUID_OID, value: '04 12 b8' }],
        }),
      'OTHERNAME_INVALID',
      /subjectAlternativeNames\[0\]\.value/,
    ],
    [
      'an underscore in the names DigiCert derives',
      () =>
        request({
          certificateTemplateName: NAME_PROFILE,
          subjectName: 'CN=global_admin@intune.onmicrosoft.com',
          subjectAlternativeNames: [],
        }),
      'NAME_CHARACTERS_UNSUPPORTED',
      /mail_firstName|mail_lastName/i,
    ],
  ])('%s', async (_name, body, code, message) => {
    const before = enrollments();
    const result = failed(await pipelineWith().process(body(), { dequeueCount: 1 }));
    expect(result.error.code).toBe(code);
    expect(result.error.message).toMatch(message);
    expect(result.error.remedy.length).toBeGreaterThan(20);
    expect(result.error.retryable).toBe(false);
    // Found before anything was sent for enrollment: no seat is spent on a request that cannot succeed.
    expect(enrollments()).toBe(before);
  });

  it('names the malformed message with null when no requestId can be read', async () => {
    const result = failed(await pipelineWith().process('not json at all', { dequeueCount: 1 }));
    expect(result.requestId).toBeNull();
  });

  it('passes the CA refusal on in its own words (CA_REJECTED)', async () => {
    simulator.faults.enqueue({
      kind: 'soapFault',
      faultcode: 'Client',
      faultstring: 'Seat limit reached for this account.',
      errorcode: '7001',
      message: 'No seats left.',
      service: 'enrollmentService',
    });
    const result = failed(await pipelineWith().process(request(), { dequeueCount: 1 }));
    expect(result.error.code).toBe('CA_REJECTED');
    expect(result.error.caMessage).toContain('Seat limit reached');
  });

  it('keeps a result publishable when the CA echoes an oversized value (a 60,000-character refusal)', async () => {
    const echoed = `The common name ${'A'.repeat(60_000)} is too long.`;
    simulator.faults.enqueue({
      kind: 'soapFault',
      faultcode: 'Client',
      faultstring: echoed,
      errorcode: '7002',
      message: echoed,
      service: 'enrollmentService',
    });
    const outcome = await pipelineWith().process(request(), { dequeueCount: 1 });
    const result = failed(outcome);
    expect(result.error.code).toBe('CA_REJECTED');
    expect(result.error.caMessage).toMatch(/^The common name A+… \(\d+ more characters cut\)$/);
    // A queue message holds at most 64 KiB; the whole result stays far below.
    expect(outcome.kind === 'result' && Buffer.byteLength(outcome.json)).toBeLessThan(16 * 1024);
  });

  it('reports an RA certificate that does not match the thumbprint pin (RA_CERT_UNAVAILABLE)', async () => {
    const credential = new FileRaCredentialSource({
      pfxFile: pki.ra.pfxPath,
      password: pki.ra.pfxPassword,
      thumbprintPin: 'EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5',
    });
    const result = failed(await pipelineWith({ credential }).process(request(), { dequeueCount: 1 }));
    expect(result.error.code).toBe('RA_CERT_UNAVAILABLE');
    expect(result.error.message).toMatch(/thumbprint/i);
  });

  it('reports an RA certificate the CA does not accept (CA_TLS_FAILED)', async () => {
    const strangerCa = createCertificate({
      subject: [{ shortName: 'CN', value: 'Stranger CA' }],
      isCa: true,
    });
    const stranger = createCertificate({
      subject: [{ shortName: 'CN', value: 'Dev RA' }],
      issuer: strangerCa,
      extKeyUsage: ['clientAuth'],
    });
    const credential: RaCredentialSource = {
      load: async () => ({
        certificatePem: stranger.certPem,
        privateKeyPem: stranger.keyPem!,
        chainPem: [],
        thumbprint: new X509Certificate(stranger.certPem).fingerprint.replace(/:/g, ''),
        notAfter: stranger.cert.validity.notAfter,
        subject: 'CN=Dev RA',
        source: 'test',
      }),
    };
    const result = failed(await pipelineWith({ credential }).process(request(), { dequeueCount: 1 }));
    expect(result.error.code).toBe('CA_TLS_FAILED');
  });
});

describe('transient failures wait in the queue', () => {
  it('asks for redelivery while deliveries remain, then gives up with the cause (no waiting set)', async () => {
    const settings = settingsFor({
      CA_MAX_ATTEMPTS: '2',
      QUEUE_MAX_DEQUEUE_COUNT: '2',
      REQUEST_MAX_WAIT_MINUTES: '0',
    });
    for (let i = 0; i < 4; i += 1)
      simulator.faults.enqueue({ kind: 'http', status: 503, service: 'policyService' });
    const body = request({
      certificateTemplateName: NAME_PROFILE,
      subjectName: 'CN=Grace Hopper,E=grace@contoso.com',
      subjectAlternativeNames: [],
    });

    const first = await pipelineWith({ settings }).process(body, { dequeueCount: 1 });
    expect(first).toMatchObject({ kind: 'retry', error: { code: 'CA_UNAVAILABLE' } });
    const last = failed(await pipelineWith({ settings }).process(body, { dequeueCount: 2 }));
    expect(last.error.code).toBe('GAVE_UP');
    expect(last.error.message).toContain('CA_UNAVAILABLE');
  });

  it('times out a CA that does not answer (CA_TIMEOUT), retrying within the delivery', async () => {
    const settings = settingsFor({ CA_MAX_ATTEMPTS: '2', CA_REQUEST_TIMEOUT_MS: '300' });
    for (let i = 0; i < 2; i += 1)
      simulator.faults.enqueue({ kind: 'delay', ms: 1500, service: 'policyService' });
    const body = request({
      certificateTemplateName: BIG_KEY_PROFILE,
      subjectAlternativeNames: [],
      keySize: 4096,
    });
    const outcome = await pipelineWith({ settings }).process(body, { dequeueCount: 1 });
    expect(outcome).toMatchObject({ kind: 'retry', error: { code: 'CA_TIMEOUT' } });
  });
});

describe('strong certificate mapping (securityIdentifier)', () => {
  it('issues on the SID profile a certificate whose SID extension openssl reads as the SID, as the CSR had it', async () => {
    const result = issued(
      await pipelineWith().process(
        request({ certificateTemplateName: SID_PROFILE, securityIdentifier: SID }),
        { dequeueCount: 1 },
      ),
    );
    const leafFile = path.join(devSimulator.dir, 'sid-leaf.pem');
    writeFileSync(leafFile, result.certificate.pem);
    expect(sidReadByOpenssl(leafFile, 'PEM')).toBe(SID);

    // What reached the CA: the CSR asked for the same extension, and the variable carried the SID.
    const record = simulator.issued.find(
      (certificate) => certificate.serialNumber === result.certificate.serialNumber,
    );
    expect(record?.nameValuePairs).toContainEqual({ name: 'objectSid', value: SID });
    const csrFile = path.join(devSimulator.dir, 'sid-request.der');
    writeFileSync(csrFile, Buffer.from(record!.csrDerBase64, 'base64'));
    expect(sidReadByOpenssl(csrFile, 'DER')).toBe(SID);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a SID for a profile without the SID field',
      { certificateTemplateName: USER_PROFILE, securityIdentifier: SID },
      /securityIdentifier was sent, but the DigiCert certificate profile .* has no SID field/,
    ],
    [
      'no SID for a profile whose SID field is mandatory',
      { certificateTemplateName: SID_PROFILE },
      /requires a SID .* but the request has no securityIdentifier/,
    ],
  ])(
    'refuses %s with POLICY_MISMATCH naming securityIdentifier, before enrolling',
    async (_case, overrides, message) => {
      const before = enrollments();
      const result = failed(await pipelineWith().process(request(overrides), { dequeueCount: 1 }));
      expect(result.error).toMatchObject({ code: 'POLICY_MISMATCH', retryable: false });
      expect(result.error.message).toMatch(message);
      expect(result.error.remedy).toContain('securityIdentifier');
      expect(enrollments()).toBe(before);
    },
  );
});

describeWithTeamShared('wire format', () => {
  it('every SOAP body the simulator received validates against the vendor XSD', () => {
    expect(simulator.received.length).toBeGreaterThan(5);
    for (const check of validateReceivedBodies(simulator.received)) {
      expect(check).toMatchObject({ valid: true });
    }
  });
});
