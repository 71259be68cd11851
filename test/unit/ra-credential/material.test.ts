import { createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { looksLikePem, MaterialReadError, readPem, readPkcs12 } from '../../../shared/ra-credential/material';
import { buildPfx, createRaFixtures, type RaFixtures } from '../../integration/ra-credential/raFixtures';

let fixtures: RaFixtures;
beforeAll(() => {
  fixtures = createRaFixtures();
});

function problem(action: () => unknown): MaterialReadError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(MaterialReadError);
    return error as MaterialReadError;
  }
  throw new Error('expected a MaterialReadError');
}

describe('readPkcs12', () => {
  it('opens a 3DES PFX and returns certificates in order and the key', () => {
    const material = readPkcs12(buildPfx(fixtures.ra, { password: 'pw', chain: [fixtures.raCa] }), 'pw');
    expect(material.certificates.map((c) => c.subject)).toEqual([
      'O=Contoso\nCN=Dev RA',
      'CN=Dev DigiCert RA CA\nO=Dev PKI',
    ]);
    expect(material.privateKeys).toHaveLength(1);
    expect(material.certificates[0]!.checkPrivateKey(material.privateKeys[0]!)).toBe(true);
  });

  it('opens a PFX protected with the empty password when none is given (tools differ in "no password")', () => {
    const emptyPassword = buildPfx(fixtures.ra, { password: '' });
    expect(readPkcs12(emptyPassword, undefined).privateKeys).toHaveLength(1);
    expect(readPkcs12(buildPfx(fixtures.ra, { password: null }), '').privateKeys).toHaveLength(1);
  });

  it('wrong password is its own problem, and the message does not echo the password', () => {
    const error = problem(() =>
      readPkcs12(buildPfx(fixtures.ra, { password: 'right', algorithm: 'aes256' }), 'Wr0ng-pa55'),
    );
    expect(error.problem).toBe('wrong-password');
    expect(error.message).not.toContain('Wr0ng-pa55');
  });

  it('not a PFX: random bytes, and valid DER that is something else', () => {
    expect(problem(() => readPkcs12(Buffer.from('hello'), undefined)).problem).toBe('not-a-container');
    const certificateDer = Buffer.from(
      forge.asn1.toDer(forge.pki.certificateToAsn1(fixtures.ra.cert)).getBytes(),
      'binary',
    );
    expect(problem(() => readPkcs12(certificateDer, undefined)).problem).toBe('not-a-container');
  });
});

describe('readPem', () => {
  it('reads PKCS#1 ("RSA PRIVATE KEY") and PKCS#8 keys next to certificates', () => {
    const pkcs1 = createPrivateKey(fixtures.ra.keyPem!).export({ type: 'pkcs1', format: 'pem' }).toString();
    const material = readPem(`${fixtures.ra.certPem}${pkcs1}${fixtures.raCa.certPem}`);
    expect(material.certificates).toHaveLength(2);
    expect(material.certificates[0]!.checkPrivateKey(material.privateKeys[0]!)).toBe(true);
  });

  it('an encrypted key without a password, and text without PEM blocks', () => {
    const encrypted = createPrivateKey(fixtures.ra.keyPem!)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'pw' })
      .toString();
    expect(problem(() => readPem(encrypted)).problem).toBe('wrong-password');
    expect(problem(() => readPem('just text')).problem).toBe('not-a-container');
  });

  it('tells PEM from DER', () => {
    expect(looksLikePem(Buffer.from('\n-----BEGIN CERTIFICATE-----'))).toBe(true);
    expect(looksLikePem(buildPfx(fixtures.ra, { password: null }))).toBe(false);
  });
});
