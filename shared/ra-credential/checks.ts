/**
 * The checks every RA credential passes before the broker uses it for mutual TLS with DigiCert, whichever
 * source it came from (Key Vault or a file). Each failure is a BrokerError RA_CERT_UNAVAILABLE whose message
 * says which check failed and where, and whose remedy fits that failure. The seed's rows "Kan
 * clientcertificaat niet ophalen" and "Kan geen beveiligd SSL/TLS-kanaal maken" (cases 1 and 3) are the
 * Windows faces of these same problems: no certificate, no (readable) private key.
 *
 * Client Authentication EKU (1.3.6.1.5.5.7.3.2) is required, not merely allowed to be absent: the seed's
 * certreq.ini for the RA certificate sets it, and DigiCert authenticates the RA by it.
 */
import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { RaKeyMaterial } from './material';
import type { RaCredential } from './types';

export const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';

export type RaLocation =
  | { kind: 'key-vault'; vaultUrl: string; certificateName: string; version?: string }
  | { kind: 'file'; path: string };

export function describeLocation(location: RaLocation): string {
  if (location.kind === 'file') return `file ${location.path}`;
  const version = location.version === undefined ? '' : ` (version ${location.version})`;
  return `Key Vault certificate "${location.certificateName}"${version} in ${location.vaultUrl}`;
}

export interface RaFailureOptions {
  retryable?: boolean;
  cause?: unknown;
}

/** The one way this module fails: RA_CERT_UNAVAILABLE, naming the check and the place. */
export function raCredentialFailure(
  location: RaLocation,
  problem: string,
  remedy: string,
  options: RaFailureOptions = {},
): BrokerError {
  return new BrokerError(
    'RA_CERT_UNAVAILABLE',
    `RA certificate from ${describeLocation(location)}: ${problem}`,
    {
      remedy,
      retryable: options.retryable ?? false,
      cause: options.cause,
    },
  );
}

/** Upper-case hex SHA-1 of the certificate DER: what Windows shows and RA_CERT_THUMBPRINT holds. */
export function thumbprintOf(certificate: X509Certificate): string {
  return createHash('sha1').update(certificate.raw).digest('hex').toUpperCase();
}

/** Settings normalise the pin already; a pin given in code gets the same treatment. */
export function normaliseThumbprint(pin: string): string {
  return pin.replace(/[\s:]/g, '').toUpperCase();
}

/** "CN=Dev RA, O=Contoso, C=NL": most specific first, as Windows shows it. */
export function subjectOf(certificate: X509Certificate): string {
  return certificate.subject.split('\n').reverse().join(', ');
}

function replaceWhere(location: RaLocation): string {
  return location.kind === 'file'
    ? 'export it as a PFX with its private key and point RA_CERTIFICATE_PFX_FILE at it'
    : `import it (PFX with its private key, exportable) as a new version of "${location.certificateName}" in ${location.vaultUrl}`;
}

const RENEW =
  'Renew the RA certificate at DigiCert ("Get an RA Cert", from a CSR made with the seed\'s certreq.ini: client authentication EKU 1.3.6.1.5.5.7.3.2, exportable key)';

export interface CertificateCheckOptions {
  location: RaLocation;
  /** RA_CERT_THUMBPRINT: one SHA-1 thumbprint, or several (the old and the new one while rotating). */
  thumbprintPin?: string | readonly string[];
  now: Date;
}

/** The pinned thumbprints, normalised; empty when nothing is pinned. */
export function thumbprintPins(pin: string | readonly string[] | undefined): string[] {
  if (pin === undefined) return [];
  return [...new Set([pin].flat().map(normaliseThumbprint))];
}

/** Checks on the certificate alone, in this order: thumbprint pin, validity period, client-auth EKU. */
export function checkRaCertificate(certificate: X509Certificate, options: CertificateCheckOptions): void {
  const { location } = options;
  const thumbprint = thumbprintOf(certificate);
  const pins = thumbprintPins(options.thumbprintPin);
  if (pins.length > 0 && !pins.includes(thumbprint)) {
    const pinned = pins.join(', ');
    throw raCredentialFailure(
      location,
      `thumbprint pin mismatch: the certificate's SHA-1 thumbprint is ${thumbprint}, RA_CERT_THUMBPRINT is ${pinned}.`,
      `If ${thumbprint} (${subjectOf(certificate)}) is the RA certificate you mean to use, update RA_CERT_THUMBPRINT to ${thumbprint} (or to "${[...pins, thumbprint].join(',')}" to accept both while you rotate); otherwise ${location.kind === 'file' ? 'point RA_CERTIFICATE_PFX_FILE at' : `import into "${location.certificateName}"`} the pinned certificate ${pins.length === 1 ? pinned : `(one of ${pinned})`}.`,
    );
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (options.now.getTime() < notBefore.getTime()) {
    throw raCredentialFailure(
      location,
      `not yet valid: certificate ${thumbprint} is valid from ${notBefore.toISOString()} (now ${options.now.toISOString()}).`,
      'Use the RA certificate that is valid now until this one starts, or check the clock of the host.',
    );
  }
  if (options.now.getTime() > notAfter.getTime()) {
    throw raCredentialFailure(
      location,
      `expired: certificate ${thumbprint} (${subjectOf(certificate)}) expired on ${notAfter.toISOString()}.`,
      `${RENEW} and ${replaceWhere(location)}; update RA_CERT_THUMBPRINT if you pin it.`,
    );
  }
  const extendedKeyUsages = certificate.keyUsage ?? [];
  if (!extendedKeyUsages.includes(CLIENT_AUTH_EKU)) {
    throw raCredentialFailure(
      location,
      `no Client Authentication extended key usage: certificate ${thumbprint} ${extendedKeyUsages.length === 0 ? 'has no EKU extension' : `has EKU ${extendedKeyUsages.join(', ')}`}, but mutual TLS with DigiCert needs ${CLIENT_AUTH_EKU}.`,
      `${RENEW} and ${replaceWhere(location)}.`,
    );
  }
}

function spki(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

function isCa(certificate: X509Certificate): boolean {
  return certificate.ca;
}

export interface CredentialCheckOptions extends CertificateCheckOptions {
  /** The certificate the source names as the RA certificate (Key Vault's `cer`); else found via the key. */
  certificate?: X509Certificate;
  /** What to tell the admin when the container holds no private key (the cause differs per source). */
  missingKeyRemedy: string;
}

/**
 * Runs every check and assembles the credential. The RA certificate is the one the source names, else the
 * one the private key belongs to, else the first end-entity certificate; every other certificate in the
 * container is chain (sent along, never trusted).
 */
export function buildRaCredential(material: RaKeyMaterial, options: CredentialCheckOptions): RaCredential {
  const { location } = options;
  const keySpkis = material.privateKeys.map((key) => ({ key, spki: spki(key) }));
  const certificate =
    options.certificate ??
    material.certificates.find((candidate) =>
      keySpkis.some((key) => key.spki.equals(spki(candidate.publicKey))),
    ) ??
    material.certificates.find((candidate) => !isCa(candidate)) ??
    material.certificates[0];
  if (certificate === undefined) {
    throw raCredentialFailure(
      location,
      'holds no certificate.',
      `Get the RA certificate from DigiCert ("Get an RA Cert") and ${replaceWhere(location)}.`,
    );
  }
  checkRaCertificate(certificate, options);
  const thumbprint = thumbprintOf(certificate);
  if (material.privateKeys.length === 0) {
    throw raCredentialFailure(
      location,
      `no private key: the RA certificate ${thumbprint} came without its private key, so the broker cannot authenticate to DigiCert with it.`,
      options.missingKeyRemedy,
    );
  }
  const certificateSpki = spki(certificate.publicKey);
  const privateKey = keySpkis.find((key) => key.spki.equals(certificateSpki))?.key;
  if (privateKey === undefined) {
    throw raCredentialFailure(
      location,
      `private key does not match the certificate: none of the ${material.privateKeys.length} private key(s) belongs to the public key of certificate ${thumbprint} (${subjectOf(certificate)}).`,
      `Use the private key the RA certificate was requested with (the key of the CSR sent to DigiCert "Get an RA Cert"): ${replaceWhere(location)}.`,
    );
  }
  const chainPem: string[] = [];
  for (const candidate of material.certificates) {
    const pem = candidate.toString();
    if (!candidate.raw.equals(certificate.raw) && !chainPem.includes(pem)) chainPem.push(pem);
  }
  return {
    certificatePem: certificate.toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    chainPem,
    thumbprint,
    notAfter: new Date(certificate.validTo),
    subject: subjectOf(certificate),
    source: describeLocation(location),
  };
}
