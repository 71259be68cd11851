/**
 * The simulator's EC P-256 profile through the broker's own client, over mutual TLS: its policy answer reads
 * as EC under both readings of algorithmOIDReference (the simulator's ecAlgorithmReading switch), an EC CSR
 * is issued a certificate for its key (signed by the RSA issuing CA), and a key of the wrong kind is refused
 * as the CA refuses it.
 */
import { X509Certificate } from 'node:crypto';
import { EC_ALGORITHM_READINGS, EC_KEY_ALGORITHMS } from '../../../dev/simulator/profiles';
import { parseSimulatorArgs } from '../../../dev/simulator/main';
import { readSettings } from '../../../shared/config/settings';
import {
  createCsr,
  generateEcKeyPair,
  generateKeyPair,
  parseIssuedToken,
  type KeyPair,
} from '../../../shared/crypto';
import { PkiWsClient } from '../../../shared/digicert';
import { planEnrollment, profileKeyAlgorithm } from '../../../shared/mapping';
import { failureOf } from '../../support/brokerErrors';
import { devCaClient, startDevSimulator, type DevSimulator } from '../../support/devSimulator';

const EC_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010006';
const RSA_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

const plan = {
  csrSubject: [{ shortName: 'CN', value: 'IWUser0' }],
  csrSan: [{ kind: 'email' as const, value: 'IWUser0@contoso.com' }],
};
const pairs = [
  { name: 'common_name', value: 'IWUser0' },
  { name: 'mail_email', value: 'IWUser0@contoso.com' },
  { name: 'otherNameUPN', value: 'IWUser0@contoso.com' },
];

describe.each(EC_ALGORITHM_READINGS)('the simulator EC profile, read as %s', (reading) => {
  let dev: DevSimulator;
  let client: PkiWsClient;
  beforeAll(async () => {
    dev = await startDevSimulator('simulator-ec-', { ecAlgorithmReading: reading });
    client = devCaClient(dev.pki, readSettings({ CA_ALLOWED_HOSTS: dev.simulator.authority }));
  });
  afterAll(async () => {
    await client?.close();
    await dev?.close();
  });

  it('answers a policy the broker reads as EC P-256, and the RSA profiles stay sha256RSA', async () => {
    const policy = await client.getPolicy(dev.simulator.authority, EC_PROFILE);
    expect(policy.keyAlgorithm).toEqual(EC_KEY_ALGORITHMS[reading]);
    expect(policy.keySize).toBe(256);
    expect(profileKeyAlgorithm(policy)).toEqual({ kind: 'ec', curve: 'P-256' });
    const request = {
      schemaVersion: 1 as const,
      requestId: 'r-1',
      certificateAuthority: dev.simulator.authority,
      certificateAuthorityName: 'Symantec',
      certificateTemplateName: EC_PROFILE,
      subjectName: 'CN=IWUser0,E=IWUser0@contoso.com',
      keySize: 2048 as const,
      recipientCertificate: dev.pki.recipient.certPem,
    };
    expect(planEnrollment(request, policy).keySize).toBe('P-256');
    const rsa = await client.getPolicy(dev.simulator.authority, RSA_PROFILE);
    expect(rsa.keyAlgorithm).toEqual({ oid: '1.2.840.113549.1.1.11', name: 'sha256RSA' });
    expect(profileKeyAlgorithm(rsa)).toEqual({ kind: 'rsa' });
  });

  it('issues a certificate for an EC CSR, signed by its RSA issuing CA', async () => {
    const keys = await generateEcKeyPair('P-256');
    const response = await client.enroll(dev.simulator.authority, {
      profileOid: EC_PROFILE,
      clientTransactionId: `ec-${reading}`,
      csrDer: createCsr(plan, keys),
      nameValuePairs: pairs,
    });
    const issued = parseIssuedToken(response, keys.publicKey);
    expect(issued.leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(issued.leaf.verify(new X509Certificate(dev.pki.caIssuing.certPem).publicKey)).toBe(true);
    expect(issued.leaf.keyUsage ?? []).not.toContain('keyEncipherment');
  });

  it('refuses an RSA CSR for the EC profile, and an EC CSR for an RSA profile', async () => {
    const refusal = (profileOid: string, keys: KeyPair, id: string) =>
      failureOf(
        client.enroll(dev.simulator.authority, {
          profileOid,
          clientTransactionId: `${id}-${reading}`,
          csrDer: createCsr(plan, keys),
          nameValuePairs: pairs,
        }),
      );
    const rsaForEc = await refusal(EC_PROFILE, await generateKeyPair(2048), 'rsa-for-ec');
    expect(rsaForEc.caMessage ?? rsaForEc.message).toMatch(
      /RSA key; the certificate profile requires EC P-256 keys/,
    );
    const ecForRsa = await refusal(RSA_PROFILE, await generateEcKeyPair('P-256'), 'ec-for-rsa');
    expect(ecForRsa.caMessage ?? ecForRsa.message).toMatch(
      /EC \(prime256v1\) key; the certificate profile requires RSA keys/,
    );
  });
});

describe('the simulator CLI', () => {
  it('takes --ec-algorithm ecPublicKey|ecdsa-with-SHA256 and refuses anything else', () => {
    expect(parseSimulatorArgs(['--ec-algorithm', 'ecdsa-with-SHA256']).ecAlgorithmReading).toBe(
      'ecdsa-with-SHA256',
    );
    expect(parseSimulatorArgs([]).ecAlgorithmReading).toBeUndefined();
    expect(() => parseSimulatorArgs(['--ec-algorithm', 'P-384'])).toThrow(
      /takes ecPublicKey or ecdsa-with-SHA256/,
    );
  });
});
