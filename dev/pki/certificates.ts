/**
 * Local test PKI: CA and leaf certificates for the dev stack and the tests (never deployed). Keys come from
 * Node's native generator (forge's pure-JS one is ~10x slower); forge builds and signs the X.509 structure.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TestCertificate {
  certPem: string;
  cert: forge.pki.Certificate;
  /** Absent when the certificate was made for a key pair held elsewhere (options.publicKeyPem). */
  keyPem?: string;
  key?: forge.pki.rsa.PrivateKey;
}

export interface CertificateOptions {
  /** Subject attributes, e.g. [{ shortName: 'CN', value: 'Dev RA' }]. */
  subject: { shortName: string; value: string }[];
  /** Signs the new certificate; self-signed when absent. */
  issuer?: TestCertificate;
  isCa?: boolean;
  keyBits?: number;
  /** Validity, counted from one hour ago (clock skew). */
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  extKeyUsage?: ('serverAuth' | 'clientAuth' | 'emailProtection')[];
  dnsNames?: string[];
  ipAddresses?: string[];
  /** An existing key pair to certify instead of a new one. */
  publicKeyPem?: string;
}

export function generateRsaKeyPem(bits = 2048): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function createCertificate(options: CertificateOptions): TestCertificate {
  const generated =
    options.publicKeyPem === undefined ? generateRsaKeyPem(options.keyBits ?? 2048) : undefined;
  const publicKeyPem = options.publicKeyPem ?? generated!.publicKeyPem;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  // Positive serial: clear the top bit of a random 16-byte number.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - 3600_000);
  cert.validity.notAfter =
    options.notAfter ?? new Date(cert.validity.notBefore.getTime() + (options.days ?? 365) * 86400_000);
  cert.setSubject(options.subject.map((a) => ({ shortName: a.shortName, value: a.value })));
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : cert.subject.attributes);

  const extensions: object[] = [{ name: 'basicConstraints', cA: options.isCa === true, critical: true }];
  extensions.push(
    options.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  );
  if (options.extKeyUsage?.length) {
    extensions.push({
      name: 'extKeyUsage',
      ...Object.fromEntries(options.extKeyUsage.map((u) => [u, true])),
    });
  }
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(options.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  extensions.push({ name: 'subjectKeyIdentifier' });
  if (options.issuer) {
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: options.issuer.cert.generateSubjectKeyIdentifier().getBytes(),
    });
  }
  cert.setExtensions(extensions);

  const ownKey = generated ? forge.pki.privateKeyFromPem(generated.privateKeyPem) : undefined;
  const signerKey = options.issuer ? options.issuer.key : ownKey;
  if (signerKey === undefined)
    throw new Error('createCertificate: the issuer (or a self-signed subject) needs a private key');
  cert.sign(signerKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), cert, keyPem: generated?.privateKeyPem, key: ownKey };
}

/** Reloads a certificate written earlier (PEM files) so it can sign again. */
export function loadCertificate(certPem: string, keyPem: string): TestCertificate {
  return {
    certPem,
    keyPem,
    cert: forge.pki.certificateFromPem(certPem),
    key: forge.pki.privateKeyFromPem(keyPem),
  };
}
