/**
 * The recipient certificate: whoever receives the PFX. Its RSA public key encrypts the PFX password with
 * RSA-OAEP, SHA-256 and MGF1-SHA-256 (the contract's "RSA-OAEP-256").
 */
import { X509Certificate, constants, publicEncrypt, type KeyObject } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { EncryptedPassword } from '../contract/types';
import { readCertificateDetails, sha1Thumbprint } from './certificate';
import { readKeyUsages, type KeyUsages } from './keyUsage';

export interface Recipient {
  publicKey: KeyObject;
  /** Upper-case hex SHA-1 of the certificate's DER. */
  thumbprint: string;
  /** Printed like IssuedCertificateSummary.subject: most specific RDN first. */
  subject: string;
  notAfter: Date;
}

/** Below this the password's protection would be weaker than the PFX's own. */
const MINIMUM_RSA_BITS = 2048;

const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
/** Purposes that name a key for authentication or signing only: such a certificate is not a recipient. */
const NOT_FOR_ENCRYPTION: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

/**
 * RSA-OAEP to the recipient's key transports a secret, which RFC 5280 calls key encipherment. A certificate
 * without a key usage extension may be used for anything; with one, it must allow keyEncipherment. An extended
 * key usage, when present, must name some purpose besides TLS server, code and time-stamp signing and OCSP.
 */
function usageProblem({ keyUsage, extendedKeyUsage }: KeyUsages): string | undefined {
  if (keyUsage !== undefined && !keyUsage.includes('keyEncipherment')) {
    return `does not allow key encipherment (its key usage is ${keyUsage.join(', ') || 'empty'}): the PFX password is encrypted to its key, so a recipient certificate with a key usage extension must include keyEncipherment.`;
  }
  if (
    extendedKeyUsage !== undefined &&
    !extendedKeyUsage.includes(ANY_EXTENDED_KEY_USAGE) &&
    extendedKeyUsage.every((oid) => Object.hasOwn(NOT_FOR_ENCRYPTION, oid))
  ) {
    const names = extendedKeyUsage.map((oid) => NOT_FOR_ENCRYPTION[oid] ?? oid).join(', ');
    return `is for ${names} only (extended key usage), not for encryption: use the recipient's encryption certificate.`;
  }
  return undefined;
}

function invalid(reason: string, cause?: unknown): BrokerError {
  return new BrokerError(
    'RECIPIENT_INVALID',
    `recipientCertificate: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

/** PEM (the first CERTIFICATE block) or base64 DER; whitespace, including line breaks anywhere, is ignored. */
function decodeCertificateText(text: string): Buffer {
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  if (pem === null && text.includes('-----BEGIN')) {
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1] ?? 'unknown';
    throw invalid(`is a PEM "${label}" block, not a certificate ("-----BEGIN CERTIFICATE-----").`);
  }
  const base64 = (pem === null ? text : pem[1]!).replace(/\s+/g, '');
  if (base64.length === 0) throw invalid('is empty.');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw invalid('is neither a PEM certificate nor base64 of a DER certificate.');
  }
  return Buffer.from(base64, 'base64');
}

export function parseRecipientCertificate(text: string, now: Date = new Date()): Recipient {
  const der = decodeCertificateText(text);
  let certificate: X509Certificate;
  let details: ReturnType<typeof readCertificateDetails>;
  let usages: KeyUsages;
  try {
    details = readCertificateDetails(der);
    certificate = new X509Certificate(der);
    usages = readKeyUsages(der);
  } catch (error) {
    throw invalid('is not an X.509 certificate (the decoded bytes do not parse as one).', error);
  }

  const keyType = certificate.publicKey.asymmetricKeyType;
  if (keyType !== 'rsa') {
    const name = keyType === 'rsa-pss' ? 'an RSA-PSS' : `an ${String(keyType).toUpperCase()}`;
    throw invalid(`has ${name} key: an RSA key (rsaEncryption) is needed to encrypt the PFX password.`);
  }
  const bits = certificate.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MINIMUM_RSA_BITS) {
    throw invalid(`has a ${bits}-bit RSA key: at least ${MINIMUM_RSA_BITS} bits are needed.`);
  }
  if (now.getTime() > details.notAfter.getTime()) {
    throw invalid(`expired on ${details.notAfter.toISOString()}.`);
  }
  if (now.getTime() < details.notBefore.getTime()) {
    throw invalid(`is not valid before ${details.notBefore.toISOString()}.`);
  }
  const usageRefusal = usageProblem(usages);
  if (usageRefusal !== undefined) throw invalid(usageRefusal);
  return {
    publicKey: certificate.publicKey,
    thumbprint: sha1Thumbprint(certificate.raw),
    subject: details.subject,
    notAfter: details.notAfter,
  };
}

export function encryptPasswordForRecipient(password: string, recipient: Recipient): EncryptedPassword {
  // Node uses the OAEP hash for MGF1 as well, so this is OAEP(SHA-256, MGF1-SHA-256).
  const encrypted = publicEncrypt(
    { key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(password, 'utf8'),
  );
  return {
    algorithm: 'RSA-OAEP-256',
    recipientThumbprint: recipient.thumbprint,
    encryptedValue: encrypted.toString('base64'),
  };
}
