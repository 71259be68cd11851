import { X509Certificate, createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import {
  buildPfx,
  createPfxPassword,
  generateKeyPair,
  type KeyPair,
  type PfxEncryption,
} from '../../../shared/crypto';
import { createEcCertificateDer, createTestPki, derOfPem, expectBrokerError, type TestPki } from './fixtures';

function readWithForge(pfx: Buffer, password: string): forge.pkcs12.Pkcs12Pfx {
  return forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary'))),
    password,
  );
}

describe('createPfxPassword', () => {
  it('gives 43 base64url characters from 32 random bytes, different each time', () => {
    const passwords = new Set(Array.from({ length: 50 }, createPfxPassword));
    expect(passwords.size).toBe(50);
    for (const password of passwords) {
      expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(password, 'base64url')).toHaveLength(32);
    }
  });
});

describe('buildPfx', () => {
  let keys: KeyPair;
  let pki: TestPki;
  let password: string;
  beforeAll(async () => {
    keys = await generateKeyPair(2048);
    pki = createTestPki(keys.publicKey);
    password = createPfxPassword();
  });

  const build = (encryption: PfxEncryption, friendlyName?: string) =>
    buildPfx({
      privateKey: keys.privateKey,
      leafPem: pki.leaf.certPem,
      chainPem: [pki.issuing.certPem, pki.root.certPem],
      password,
      encryption,
      ...(friendlyName === undefined ? {} : { friendlyName }),
    });

  it.each<PfxEncryption>(['AES256', '3DES'])(
    '%s: holds our key and all certificates, leaf and key paired by localKeyId',
    (encryption) => {
      const p12 = readWithForge(build(encryption, 'IWUser0 – Intune'), password);
      const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[
        forge.pki.oids.pkcs8ShroudedKeyBag!
      ]!;
      const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]!;
      expect(keyBags).toHaveLength(1);
      expect(certBags).toHaveLength(3);

      const keyPem = forge.pki.privateKeyToPem(keyBags[0]!.key!);
      expect(keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()).toBe(
        keyPem.replace(/\r/g, ''),
      );

      const ders = certBags.map((bag) =>
        Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert!)).getBytes(), 'binary'),
      );
      expect(ders.map((der) => der.toString('hex'))).toEqual(
        [pki.leaf, pki.issuing, pki.root].map((certificate) => derOfPem(certificate.certPem).toString('hex')),
      );

      const leafId = createHash('sha1').update(ders[0]!).digest('binary');
      expect(keyBags[0]!.attributes.localKeyId).toEqual([leafId]);
      expect(certBags[0]!.attributes.localKeyId).toEqual([leafId]);
      expect(keyBags[0]!.attributes.friendlyName).toEqual(['IWUser0 – Intune']);
      expect(certBags[1]!.attributes.localKeyId).toBeUndefined();
    },
  );

  it.each<PfxEncryption>(['AES256', '3DES'])('%s: opens in Node TLS with the password only', (encryption) => {
    const pfx = build(encryption);
    expect(() => createSecureContext({ pfx, passphrase: password })).not.toThrow();
    expect(() => createSecureContext({ pfx, passphrase: `${password}x` })).toThrow(/mac verify failure/i);
  });

  it('never holds the password or the key in clear', () => {
    const pfx = build('AES256');
    expect(pfx.includes(Buffer.from(password))).toBe(false);
    const keyDer = keys.privateKey.export({ type: 'pkcs1', format: 'der' });
    expect(pfx.includes(keyDer.subarray(keyDer.length - 64))).toBe(false);
  });

  it('refuses inputs that would make a broken PFX', async () => {
    const other = await generateKeyPair(2048);
    const base = { leafPem: pki.leaf.certPem, chainPem: [], password, encryption: 'AES256' as const };
    expect(() => buildPfx({ ...base, privateKey: other.privateKey })).toThrow(
      /leafPem does not certify privateKey/,
    );
    expect(() => buildPfx({ ...base, privateKey: keys.privateKey, password: 'pässword' })).toThrow(
      /printable ASCII/,
    );
    expect(() => buildPfx({ ...base, privateKey: keys.privateKey, password: '' })).toThrow(/printable ASCII/);
    expect(() => buildPfx({ ...base, privateKey: keys.publicKey })).toThrow(/RSA private key/);
    expect(() => buildPfx({ ...base, privateKey: keys.privateKey, chainPem: ['junk'] })).toThrow(
      /chainPem\[0\]/,
    );
    const ecChain = new X509Certificate(createEcCertificateDer('EC Root').der).toString();
    await expectBrokerError(
      () => buildPfx({ ...base, privateKey: keys.privateKey, chainPem: [ecChain] }),
      'CA_REJECTED',
      /chain certificate \(CN=EC Root\) cannot be put in the PFX/,
    );
  });
});
