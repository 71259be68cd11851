import { X509Certificate, createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import {
  buildPfx,
  buildPfxOfCertificates,
  createPfxPassword,
  generateKeyPair,
  type KeyPair,
  type PfxEncryption,
} from '../../../shared/crypto';
import * as pkcs12 from '../../../shared/crypto/pkcs12';
import { pkcs12Kdf } from '../../../shared/crypto/pkcs12';
import { createEcCertificateDer, createTestPki, derOfPem, type TestPki } from './fixtures';

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
    expect(() => buildPfx({ ...base, privateKey: keys.publicKey })).toThrow(/needs a private key/);
    expect(() => buildPfx({ ...base, privateKey: keys.privateKey, chainPem: ['junk'] })).toThrow(
      /chainPem\[0\]/,
    );
  });

  it('of certificates parsed already, is the same PFX byte for byte, with the same checks', async () => {
    // The salts are random, so the bytes are compared where they are made: the writer gets the same input.
    const writer = jest.spyOn(pkcs12, 'writePkcs12');
    try {
      buildPfxOfCertificates({
        privateKey: keys.privateKey,
        leaf: new X509Certificate(pki.leaf.certPem),
        chain: [new X509Certificate(pki.issuing.certPem), new X509Certificate(pki.root.certPem)],
        password,
        encryption: '3DES',
        friendlyName: 'IWUser0',
      });
      build('3DES', 'IWUser0');
      expect(writer).toHaveBeenCalledTimes(2);
      expect(writer.mock.calls[0]).toEqual(writer.mock.calls[1]);
      expect(writer.mock.calls[0]![0].certificates).toEqual(
        [pki.leaf.certPem, pki.issuing.certPem, pki.root.certPem].map(derOfPem),
      );
    } finally {
      writer.mockRestore();
    }
    const other = await generateKeyPair(2048);
    const leaf = new X509Certificate(pki.leaf.certPem);
    const base = { leaf, chain: [], password, encryption: 'AES256' as const };
    expect(() => buildPfxOfCertificates({ ...base, privateKey: other.privateKey })).toThrow(
      /leaf does not certify privateKey/,
    );
    expect(() => buildPfxOfCertificates({ ...base, privateKey: keys.privateKey, password: '' })).toThrow(
      /printable ASCII/,
    );
    expect(() => buildPfxOfCertificates({ ...base, privateKey: keys.publicKey })).toThrow(
      /needs a private key/,
    );
  });

  it('carries a chain with an EC CA certificate byte for byte (forge could not: it reads RSA keys only)', () => {
    const ecRoot = createEcCertificateDer('EC Root').der;
    const pfx = buildPfx({
      privateKey: keys.privateKey,
      leafPem: pki.leaf.certPem,
      chainPem: [new X509Certificate(ecRoot).toString()],
      password,
      encryption: 'AES256',
    });
    expect(pfx.includes(ecRoot)).toBe(true);
    expect(pfx.includes(derOfPem(pki.leaf.certPem))).toBe(true);
  });
});

describe('pkcs12Kdf (RFC 7292 Appendix B.2)', () => {
  // The vectors BouncyCastle and OpenSSL test their PKCS#12 key derivation with.
  it.each([
    ['smeg', '0A58CF64530D823F', 1, 1 as const, 24, '8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3'],
    ['smeg', '0A58CF64530D823F', 1, 2 as const, 8, '79993DFE048D3B76'],
    ['queeg', '1682C0FC5B3F7EC5', 1000, 1 as const, 24, '483DD6E919D7DE2E8E648BA8F862F3FBFBDC2BCB2C02957F'],
  ])(
    'password %s, salt %s, %i iterations, id %i: %i bytes',
    (password, salt, iterations, id, length, expected) => {
      expect(
        pkcs12Kdf('sha1', password, Buffer.from(salt, 'hex'), iterations, id, length).toString('hex'),
      ).toBe(expected.toLowerCase());
    },
  );
});
