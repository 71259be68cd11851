/**
 * EC P-256 keys read by the real readers: the CSR (ecdsa-with-SHA256, SAN and SID extension) by `openssl req
 * -verify`, and the PFX holding the EC key with a leaf the simulator's issuing CA made for it by OpenSSL 3
 * (no -legacy), keytool and Node, AES256 and 3DES, as pfx.interop.test.ts does for RSA.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { createCertificate } from '../../../dev/pki/certificates';
import { issueCertificate, prepareIssuingAuthority, readCsr } from '../../../dev/simulator/issuer';
import {
  buildPfx,
  createCsr,
  createPfxPassword,
  generateEcKeyPair,
  type KeyPair,
  type PfxEncryption,
} from '../../../shared/crypto';
import type { EnrollmentPlan } from '../../../shared/mapping/types';
import { sidReadByOpenssl } from '../../support/opensslSid';
import { describeWithTools, pemBlocks, runTool, useTempDir } from './tools';

const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const OBJECT_GUID_DER = Buffer.from('0410b8ba0c5d2f3e4a1b9c8d7e6f50413243', 'hex');

const plan: Pick<EnrollmentPlan, 'csrSubject' | 'csrSan' | 'csrSecurityIdentifier'> = {
  csrSubject: [
    { shortName: 'O', value: 'Contoso B.V.' },
    { shortName: 'CN', value: 'IWUser0' },
  ],
  csrSan: [
    { kind: 'email', value: 'IWUser0@contoso.onmicrosoft.com' },
    { kind: 'upn', value: 'iwuser0@contoso.onmicrosoft.com' },
    { kind: 'otherName', oid: '1.3.6.1.4.1.311.25.1', valueDer: OBJECT_GUID_DER },
  ],
  csrSecurityIdentifier: SID,
};

describeWithTools(['openssl', 'keytool'], 'EC P-256 keys read by OpenSSL 3, keytool and Node', () => {
  const temp = useTempDir();
  let keys: KeyPair;
  let csr: Buffer;
  let chain: string[];
  let leafPem: string;

  beforeAll(async () => {
    keys = await generateEcKeyPair('P-256');
    csr = createCsr(plan, keys);
    const root = createCertificate({ subject: [{ shortName: 'CN', value: 'EC Test Root' }], isCa: true });
    const issuing = createCertificate({
      subject: [{ shortName: 'CN', value: 'EC Test Issuing CA' }],
      issuer: root,
      isCa: true,
    });
    const authority = prepareIssuingAuthority(
      { certPem: issuing.certPem, keyPem: issuing.keyPem! },
      { certPem: root.certPem },
    );
    // The simulator's CA reads the CSR as a CA would and issues for its key.
    const parsed = readCsr(csr.toString('base64'));
    leafPem = issueCertificate(
      {
        publicKeyPem: parsed.publicKeyPem,
        subject: [{ rdn: 'CN', value: 'IWUser0' }],
        san: [{ kind: 'email', value: 'IWUser0@contoso.onmicrosoft.com' }],
        validityDays: 30,
        securityIdentifier: SID,
      },
      authority,
    ).leafPem;
    chain = [issuing.certPem, root.certPem];
  });

  it('the CSR verifies in openssl, signed ecdsa-with-SHA256 by a P-256 key, with SAN and SID', () => {
    const file = temp.path('ec-request.der');
    writeFileSync(file, csr);
    const result = runTool('openssl', ['req', '-inform', 'DER', '-in', file, '-verify', '-noout', '-text']);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/self-signature verify OK/);
    expect(result.stdout).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(result.stdout).toMatch(/Public Key Algorithm: id-ecPublicKey/);
    expect(result.stdout).toMatch(/Public-Key: \(256 bit\)/);
    expect(result.stdout).toMatch(/NIST CURVE: P-256/);
    const san = /X509v3 Subject Alternative Name: *\n\s*(.+)/.exec(result.stdout)?.[1];
    expect(san).toMatch(
      /^email:IWUser0@contoso\.onmicrosoft\.com, othername: UPN::iwuser0@contoso\.onmicrosoft\.com, othername: 1\.3\.6\.1\.4\.1\.311\.25\.1:/,
    );
    expect(sidReadByOpenssl(file, 'DER')).toBe(SID);
  });

  it('a damaged EC CSR signature fails openssl verification (the check can fail)', () => {
    const damaged = Buffer.from(csr);
    damaged[damaged.length - 3] ^= 0xff;
    const file = temp.path('ec-damaged.der');
    writeFileSync(file, damaged);
    const result = runTool('openssl', ['req', '-inform', 'DER', '-in', file, '-verify', '-noout']);
    expect(result.stderr).not.toMatch(/verify OK/);
  });

  it('the issued certificate carries the P-256 key and the SID', () => {
    const leaf = new X509Certificate(leafPem);
    expect(leaf.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      keys.publicKey.export({ type: 'spki', format: 'der' }),
    );
    expect(leaf.checkPrivateKey(keys.privateKey)).toBe(true);
    const file = temp.path('ec-leaf.pem');
    writeFileSync(file, leafPem);
    expect(sidReadByOpenssl(file, 'PEM')).toBe(SID);
  });

  it.each<[PfxEncryption, RegExp, RegExp]>([
    ['AES256', /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048/, /MAC: sha256, Iteration 2048/],
    [
      '3DES',
      /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/,
      /MAC: sha1, Iteration 2048/,
    ],
  ])('the PFX with the EC key opens, %s', (encryption, keyBag, mac) => {
    const password = createPfxPassword();
    const pfx = buildPfx({ privateKey: keys.privateKey, leafPem, chainPem: chain, password, encryption });
    const file = temp.path(`ec-${encryption}.pfx`);
    writeFileSync(file, pfx, { mode: 0o600 });
    const env = { PFX_PASSWORD: password };

    const info = runTool(
      'openssl',
      ['pkcs12', '-in', file, '-info', '-noout', '-passin', 'env:PFX_PASSWORD'],
      env,
    );
    expect(info.status).toBe(0);
    expect(info.stderr).not.toMatch(/error|invalid/i);
    expect(info.stderr).toMatch(keyBag);
    expect(info.stderr).toMatch(mac);

    const certificates = runTool(
      'openssl',
      ['pkcs12', '-in', file, '-nokeys', '-passin', 'env:PFX_PASSWORD'],
      env,
    );
    expect(certificates.status).toBe(0);
    expect(pemBlocks(certificates.stdout).map((pem) => new X509Certificate(pem).fingerprint256)).toEqual(
      [leafPem, ...chain].map((pem) => new X509Certificate(pem).fingerprint256),
    );

    const key = runTool(
      'openssl',
      ['pkcs12', '-in', file, '-nocerts', '-nodes', '-passin', 'env:PFX_PASSWORD'],
      env,
    );
    expect(key.status).toBe(0);
    const [keyPem] = pemBlocks(key.stdout, 'PRIVATE KEY');
    const opened = createPrivateKey(keyPem!);
    expect(opened.asymmetricKeyType).toBe('ec');
    expect(opened.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(
      createPublicKey(opened)
        .export({ type: 'spki', format: 'der' })
        .equals(keys.publicKey.export({ type: 'spki', format: 'der' })),
    ).toBe(true);

    const list = runTool(
      'keytool',
      ['-list', '-v', '-storetype', 'pkcs12', '-keystore', file, '-storepass:env', 'PFX_PASSWORD'],
      env,
    );
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/Your keystore contains 1 entry/);
    expect(list.stdout).toMatch(/Entry type: PrivateKeyEntry/);
    expect(list.stdout).toMatch(/Certificate chain length: 3\b/);
    expect(list.stdout).toMatch(/Subject Public Key Algorithm: 256-bit EC \(secp256r1\) key/);

    expect(() => createSecureContext({ pfx, passphrase: password })).not.toThrow();
  });
});
