/**
 * The recipient certificate must be usable for key encipherment: the PFX password is RSA-OAEP-encrypted to
 * its key. Key usage and extended key usage read from the DER (shared/crypto/keyUsage.ts).
 */
import forge from 'node-forge';
import { parseRecipientCertificate } from '../../../shared/crypto';
import { readKeyUsages } from '../../../shared/crypto/keyUsage';
import { derOfPem, expectBrokerError } from './fixtures';

let keys: forge.pki.rsa.KeyPair;

beforeAll(() => {
  keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
});

/** A self-signed RSA-2048 certificate, valid now, with exactly `extensions`. */
function certificateWith(extensions: object[]): string {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = keys.publicKey;
  certificate.serialNumber = '0a';
  certificate.validity.notBefore = new Date(Date.now() - 3_600_000);
  certificate.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const name = [{ shortName: 'CN', value: 'Recipient' }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.setExtensions(extensions);
  certificate.sign(keys.privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(certificate);
}

const keyUsage = (bits: Record<string, boolean>) => ({ name: 'keyUsage', critical: true, ...bits });
const extKeyUsage = (purposes: Record<string, boolean>) => ({ name: 'extKeyUsage', ...purposes });

describe('readKeyUsages', () => {
  it('reads the key usage bits and the extended key usage OIDs', () => {
    const pem = certificateWith([
      keyUsage({ digitalSignature: true, keyEncipherment: true, decipherOnly: true }),
      extKeyUsage({ clientAuth: true, '1.3.6.1.4.1.311.80.1': true }),
    ]);
    expect(readKeyUsages(derOfPem(pem))).toEqual({
      keyUsage: ['digitalSignature', 'keyEncipherment', 'decipherOnly'],
      extendedKeyUsage: ['1.3.6.1.5.5.7.3.2', '1.3.6.1.4.1.311.80.1'],
    });
  });

  it('reports absent extensions as undefined (any usage)', () => {
    expect(readKeyUsages(derOfPem(certificateWith([])))).toEqual({});
    expect(readKeyUsages(derOfPem(certificateWith([{ name: 'basicConstraints', cA: false }])))).toEqual({});
  });
});

describe('parseRecipientCertificate: usable for key encipherment', () => {
  it.each([
    ['no key usage extension', []],
    ['keyEncipherment', [keyUsage({ digitalSignature: true, keyEncipherment: true })]],
    ['an encryption purpose', [extKeyUsage({ emailProtection: true })]],
    [
      'Document Encryption among signing purposes',
      [extKeyUsage({ serverAuth: true, '1.3.6.1.4.1.311.80.1': true })],
    ],
    ['anyExtendedKeyUsage', [extKeyUsage({ serverAuth: true, '2.5.29.37.0': true })]],
    ['client authentication', [extKeyUsage({ clientAuth: true })]],
  ])('accepts a certificate with %s', (_what, extensions) => {
    expect(parseRecipientCertificate(certificateWith(extensions)).publicKey.asymmetricKeyType).toBe('rsa');
  });

  it.each([
    [
      'a signing-only key usage',
      [keyUsage({ digitalSignature: true })],
      /its key usage is digitalSignature\)/,
    ],
    [
      "a CA's key usage",
      [keyUsage({ keyCertSign: true, cRLSign: true })],
      /its key usage is keyCertSign, cRLSign\): .* must include keyEncipherment/,
    ],
    ['key agreement only', [keyUsage({ keyAgreement: true })], /does not allow key encipherment/],
    [
      'a TLS server purpose only',
      [extKeyUsage({ serverAuth: true })],
      /is for serverAuth only \(extended key usage\)/,
    ],
    [
      'code and time-stamp signing only',
      [extKeyUsage({ codeSigning: true, timeStamping: true })],
      /is for codeSigning, timeStamping only/,
    ],
  ])('refuses a certificate with %s: RECIPIENT_INVALID', async (_what, extensions, message) => {
    await expectBrokerError(
      () => parseRecipientCertificate(certificateWith(extensions)),
      'RECIPIENT_INVALID',
      message,
    );
  });

  it('names recipientCertificate in the message', async () => {
    await expectBrokerError(
      () => parseRecipientCertificate(certificateWith([keyUsage({ digitalSignature: true })])),
      'RECIPIENT_INVALID',
      /^recipientCertificate: does not allow key encipherment/,
    );
  });
});
