/**
 * Test PKI for the crypto tests: a root and an issuing CA (dev/pki), a leaf for a key we generated, the CA's
 * PKCS#7 certs-only answer (forge, as a CA would send it), and an EC certificate (forge cannot make those,
 * so it is assembled with our DER writer and signed by Node).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import {
  derBitString,
  derExplicit,
  derOid,
  derSequence,
  derSmallInteger,
  encodeTlv,
} from '../../../shared/der';
import { encodeName } from '../../../shared/crypto/distinguishedName';

export interface TestPki {
  root: TestCertificate;
  issuing: TestCertificate;
  leaf: TestCertificate;
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** Root → issuing CA → leaf certifying `publicKey`. */
export function createTestPki(
  publicKey: KeyObject,
  leafSubject = [{ shortName: 'CN', value: 'IWUser0' }],
): TestPki {
  const root = createCertificate({
    subject: [{ shortName: 'CN', value: 'Test Root CA' }],
    isCa: true,
    days: 3650,
  });
  const issuing = createCertificate({
    subject: [
      { shortName: 'O', value: 'Test PKI' },
      { shortName: 'CN', value: 'Test Issuing CA' },
    ],
    issuer: root,
    isCa: true,
  });
  const leaf = createCertificate({
    subject: leafSubject,
    issuer: issuing,
    publicKeyPem: publicKeyPem(publicKey),
    extKeyUsage: ['clientAuth'],
  });
  return { root, issuing, leaf };
}

/** DER of a PKCS#7 SignedData certs-only holding `certificates` in the given order. */
export function pkcs7CertsOnly(certificates: TestCertificate[]): Buffer {
  const signedData = forge.pkcs7.createSignedData();
  for (const certificate of certificates) signedData.addCertificate(certificate.cert);
  return Buffer.from(forge.asn1.toDer(signedData.toAsn1()).getBytes(), 'binary');
}

export function derOfPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return encodeTlv(0x17, Buffer.from(text, 'latin1'));
}

/** A self-signed ECDSA P-256 certificate (DER). */
export function createEcCertificateDer(commonName: string): { der: Buffer; privateKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = derSequence(derOid('1.2.840.10045.4.3.2'));
  const name = encodeName([{ shortName: 'CN', value: commonName }]);
  const tbs = derSequence(
    derExplicit(0, derSmallInteger(2)),
    derSmallInteger(1),
    ecdsaWithSha256,
    name,
    derSequence(utcTime(new Date(Date.now() - 3600_000)), utcTime(new Date(Date.now() + 86400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  return {
    der: derSequence(tbs, ecdsaWithSha256, derBitString(sign('sha256', tbs, privateKey))),
    privateKey,
  };
}

export async function expectBrokerError(
  action: () => unknown,
  code: string,
  messagePattern: RegExp,
): Promise<void> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeDefined();
  expect(caught).toMatchObject({ name: 'BrokerError', code });
  expect((caught as Error).message).toMatch(messagePattern);
}
