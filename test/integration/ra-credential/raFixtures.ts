/**
 * Test PKI for the RA credential tests: a dev "DigiCert" RA CA, RA certificates that pass and fail each
 * check, and PFX/PEM containers built from them. Keys are reused across certificates where the test does
 * not care, because RSA key generation dominates the run time.
 */
import forge from 'node-forge';
import {
  createCertificate,
  generateRsaKeyPem,
  type CertificateOptions,
  type TestCertificate,
} from '../../../dev/pki/certificates';

export interface RaFixtures {
  raCa: TestCertificate;
  /** Valid RA certificate with client-auth EKU, issued by raCa. */
  ra: TestCertificate;
  /** A second valid RA certificate (rotation), own key. */
  raNext: TestCertificate;
  /** Same key as `ra`, but without any EKU extension. */
  noEku: TestCertificate;
  /** Same key as `ra`, EKU serverAuth only. */
  serverAuthOnly: TestCertificate;
  /** Same key as `ra`, expired yesterday. */
  expired: TestCertificate;
  /** Same key as `ra`, valid from tomorrow. */
  notYetValid: TestCertificate;
  /** A private key (PKCS#8 PEM) that belongs to none of the certificates. */
  strangerKeyPem: string;
}

const DAY = 86400_000;

function withKey(cert: TestCertificate, keyPem: string): TestCertificate {
  return { ...cert, keyPem, key: forge.pki.privateKeyFromPem(keyPem) };
}

export function createRaFixtures(): RaFixtures {
  const raCa = createCertificate({
    subject: [
      { shortName: 'CN', value: 'Dev DigiCert RA CA' },
      { shortName: 'O', value: 'Dev PKI' },
    ],
    isCa: true,
  });
  const ra = createCertificate({
    // Encoded most general first (O, then CN), as CAs do; shown most specific first: "CN=Dev RA, O=Contoso".
    subject: [
      { shortName: 'O', value: 'Contoso' },
      { shortName: 'CN', value: 'Dev RA' },
    ],
    issuer: raCa,
    extKeyUsage: ['clientAuth'],
  });
  const raKeyPem = ra.keyPem!;
  const raPublicKeyPem = forge.pki.publicKeyToPem(ra.cert.publicKey);
  const sameKey = (subject: string, extra: Omit<CertificateOptions, 'subject' | 'issuer' | 'publicKeyPem'>) =>
    withKey(
      createCertificate({
        ...extra,
        subject: [{ shortName: 'CN', value: subject }],
        issuer: raCa,
        publicKeyPem: raPublicKeyPem,
      }),
      raKeyPem,
    );
  const now = Date.now();
  return {
    raCa,
    ra,
    raNext: createCertificate({
      subject: [{ shortName: 'CN', value: 'Dev RA 2' }],
      issuer: raCa,
      extKeyUsage: ['clientAuth'],
    }),
    noEku: sameKey('Dev RA without EKU', {}),
    serverAuthOnly: sameKey('Dev RA server auth', { extKeyUsage: ['serverAuth'] }),
    expired: sameKey('Dev RA expired', {
      extKeyUsage: ['clientAuth'],
      notBefore: new Date(now - 400 * DAY),
      notAfter: new Date(now - DAY),
    }),
    notYetValid: sameKey('Dev RA future', {
      extKeyUsage: ['clientAuth'],
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 400 * DAY),
    }),
    strangerKeyPem: generateRsaKeyPem().privateKeyPem,
  };
}

export interface PfxOptions {
  /** null: no password at all (no MAC, key bag in clear), as Key Vault serves PFX secrets. */
  password: string | null;
  algorithm?: '3des' | 'aes256';
  /** Key to put in (default: the certificate's own); null for a PFX without key. */
  keyPem?: string | null;
  chain?: TestCertificate[];
}

export function buildPfx(cert: TestCertificate, options: PfxOptions): Buffer {
  const keyPem = options.keyPem === undefined ? cert.keyPem : options.keyPem;
  const key = keyPem ? forge.pki.privateKeyFromPem(keyPem) : null;
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    key,
    [cert.cert, ...(options.chain ?? []).map((c) => c.cert)],
    options.password,
    { algorithm: options.algorithm ?? '3des', useMac: options.password !== null },
  );
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

export function buildPem(
  cert: TestCertificate,
  options: { keyPem?: string | null; chain?: TestCertificate[] } = {},
): string {
  const keyPem = options.keyPem === undefined ? cert.keyPem : options.keyPem;
  return [...(keyPem ? [keyPem] : []), cert.certPem, ...(options.chain ?? []).map((c) => c.certPem)].join('');
}

/** SHA-1 thumbprint (upper hex) of a test certificate. */
export function thumbprint(cert: TestCertificate): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert.cert)).getBytes();
  return forge.md.sha1.create().update(der).digest().toHex().toUpperCase();
}
