/**
 * End to end with an EC profile: Azurite, the PKI-WS simulator whose EC profile names ecdsa-with-SHA256 in
 * algorithmOIDReference, and the broker's host as its own process with a key pool. An Intune-shaped request
 * (keySize 2048, as Intune sends with every PKCS profile) comes back as a certificate for a P-256 key whose
 * PFX openssl opens without -legacy; the RSA profile next to it still gets an RSA key.
 */
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import { submitAndWait } from '../../dev/host/submit';
import type { DevPki } from '../../dev/pki/devPki';
import type { Simulator } from '../../dev/simulator/server';
import type { IssuedResult, PkcsResult } from '../../shared/contract/types';
import { validateResult } from '../../shared/contract/validate';
import { startDevSimulator, type DevSimulator } from '../support/devSimulator';
import { devHostSettings, startHostProcess, type HostProcess } from '../support/hostProcess';
import { runTool } from '../support/childProcess';
import { keyMatchesCertificate, passwordByOpenssl, pfxContentsByOpenssl } from '../support/opensslPfx';
import { sidReadByOpenssl } from '../support/opensslSid';

const EC_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010006';
const RSA_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';

let devSimulator: DevSimulator;
let dir: string;
let pki: DevPki;
let azurite: RunningAzurite;
let simulator: Simulator;
let host: HostProcess;
let counter = 0;

const queues = {
  requestQueue: 'e2e-ec-requests',
  resultQueue: 'e2e-ec-results',
  revokeQueue: 'e2e-ec-revocations',
  revokeResultQueue: 'e2e-ec-revocation-results',
};

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    schemaVersion: 1,
    requestId: `e2e-ec-${counter}-${Date.now()}`,
    certificateAuthority: simulator.authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: EC_PROFILE,
    subjectName: 'CN=IWUser0,E=IWUser0@contoso.onmicrosoft.com',
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.onmicrosoft.com' },
      { type: 'AltNameTypeUpn', value: 'IWUser0@contoso.onmicrosoft.com' },
    ],
    keySize: 2048,
    recipientCertificate: pki.recipient.certPem,
    ...overrides,
  };
}

async function submit(body: Record<string, unknown>): Promise<IssuedResult> {
  const result: PkcsResult = await submitAndWait(body, {
    storage: azurite.connectionString,
    requestQueue: queues.requestQueue,
    resultQueue: queues.resultQueue,
    timeoutMs: 60000,
  });
  expect(validateResult(result)).toEqual({ valid: true });
  if (result.status !== 'issued') throw new Error(`not issued: ${JSON.stringify(result)}`);
  return result;
}

beforeAll(async () => {
  devSimulator = await startDevSimulator('e2e-ec-', { ecAlgorithmReading: 'ecdsa-with-SHA256' });
  ({ dir, pki, simulator } = devSimulator);
  azurite = await startAzurite();
  host = startHostProcess({
    ...devHostSettings(pki, simulator.authority, queues),
    AzureWebJobsStorage: azurite.connectionString,
    RA_CERT_THUMBPRINT: pki.ra.thumbprint,
    NODE_EXTRA_CA_CERTS: pki.tlsRootCa.certPath,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1',
    MAX_CERTIFICATES_PER_SEAT_PER_DAY: '1000',
    KEY_POOL_SIZE: '2',
  });
}, 120000);

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  await devSimulator?.close();
});

describe('an EC profile through the host', () => {
  it('issues a certificate for a P-256 key whose PFX openssl opens (no -legacy), SAN and SID kept', async () => {
    const result = await submit(request({ securityIdentifier: SID }));
    const password = passwordByOpenssl(result, pki.recipient.keyPath, path.join(dir, 'ec.enc'));
    const env = { PFX_PASSWORD: password };
    const pfxFile = path.join(dir, 'ec.pfx');
    writeFileSync(pfxFile, Buffer.from(result.pfx.data, 'base64'));

    const info = runTool(
      'openssl',
      ['pkcs12', '-in', pfxFile, '-info', '-noout', '-passin', 'env:PFX_PASSWORD'],
      env,
    );
    expect(info).toMatch(/MAC: sha256/);
    expect(info).not.toMatch(/error/i);
    const { certificates, key } = pfxContentsByOpenssl(pfxFile, env);
    expect(certificates.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);

    const keyFile = path.join(dir, 'ec-key.pem');
    const leafFile = path.join(dir, 'ec-leaf.pem');
    writeFileSync(keyFile, key, { mode: 0o600 });
    writeFileSync(leafFile, result.certificate.pem);
    const keyText = runTool('openssl', ['pkey', '-in', keyFile, '-noout', '-text']);
    expect(keyText).toMatch(/Private-Key: \(256 bit/);
    expect(keyText).toMatch(/NIST CURVE: P-256/);
    expect(keyMatchesCertificate(keyFile, leafFile)).toBe(true);
    rmSync(keyFile);

    const text = runTool('openssl', ['x509', '-in', leafFile, '-noout', '-text']);
    expect(text).toMatch(/Public Key Algorithm: id-ecPublicKey/);
    expect(text).toContain('email:IWUser0@contoso.onmicrosoft.com');
    expect(sidReadByOpenssl(leafFile, 'PEM')).toBe(SID);
    expect(new X509Certificate(result.certificate.pem).publicKey.asymmetricKeyDetails?.namedCurve).toBe(
      'prime256v1',
    );
  });

  it('keeps RSA keys for the RSA profile in the same host', async () => {
    const result = await submit(
      request({
        certificateTemplateName: RSA_PROFILE,
        subjectAlternativeNames: [
          { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.onmicrosoft.com' },
          { type: 'AltNameTypeUpn', value: 'IWUser0@contoso.onmicrosoft.com' },
        ],
      }),
    );
    const leaf = new X509Certificate(result.certificate.pem);
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });
});
