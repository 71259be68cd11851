/**
 * The dev issuing CA behind the simulator: reads and verifies a PKCS#10 request and issues a real X.509
 * certificate for its public key, with the subject and SAN the enrollment logic decided, returned as a
 * certs-only PKCS#7 chain (leaf, issuing CA, root) the way the CA's PKCS7 delivery format does.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import { bytesOf, contentOf, decodeOid, readChildren, readSingleElement, TAG } from '../../shared/der';

const { asn1 } = forge;

// x509.js exports getTBSCertificate (what cert.sign uses), but @types/node-forge does not list it.
const { getTBSCertificate } = forge.pki as typeof forge.pki & {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

export const UPN_OID = '1.3.6.1.4.1.311.20.2.3';
/** szOID_NTDS_CA_SECURITY_EXT and the otherName type inside it (MS-WCCE 2.2.2.7.7.4). */
export const SID_EXTENSION_OID = '1.3.6.1.4.1.311.25.2';
export const SID_OTHER_NAME_OID = '1.3.6.1.4.1.311.25.2.1';

export type SubjectRdn = 'CN' | 'emailAddress' | 'O' | 'OU' | 'C' | 'L' | 'ST';

export interface SubjectEntry {
  rdn: SubjectRdn;
  value: string;
}

export type SanEntry =
  | { kind: 'email'; value: string }
  | { kind: 'dns'; value: string }
  | { kind: 'upn'; value: string }
  /** `valueDer` is the DER that goes inside the otherName's [0] EXPLICIT. */
  | { kind: 'otherName'; typeId: string; valueDer: Buffer };

export class CsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrError';
  }
}

export interface ParsedCsr {
  /** The request's DER as received. */
  der: Buffer;
  publicKeyPem: string;
  /** The RSA modulus, or the EC curve's size (256 for P-256). */
  keyBits: number;
  /** Absent: RSA. */
  keyAlgorithm?: 'ec';
  /** The EC curve as OpenSSL names it (prime256v1, secp384r1, …). */
  curve?: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const EC_CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/**
 * A PKCS#10 request for an EC key (which forge cannot read), checked with Node: signed ecdsa-with-SHA256 by
 * the key it carries. Undefined when the request's key is not EC (forge's refusal then stands).
 */
function readEcCsr(der: Buffer): ParsedCsr | undefined {
  let parts;
  try {
    const [info, algorithm, signature] = readChildren(der, readSingleElement(der));
    const spki = info === undefined ? undefined : readChildren(der, info)[2];
    const algorithmOid = algorithm === undefined ? undefined : readChildren(der, algorithm)[0];
    if (spki === undefined || algorithmOid?.tag !== TAG.OID || signature?.tag !== TAG.BIT_STRING)
      return undefined;
    const key = createPublicKey({ key: bytesOf(der, spki), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || info === undefined) return undefined;
    parts = { key, info: bytesOf(der, info), algorithm: decodeOid(contentOf(der, algorithmOid)), signature };
  } catch {
    return undefined;
  }
  if (parts.algorithm !== ECDSA_WITH_SHA256) {
    throw new CsrError(
      `the PKCS#10 request for an EC key is signed ${parts.algorithm}, not ecdsa-with-SHA256`,
    );
  }
  // BIT STRING content: the count of unused bits (0), then the Ecdsa-Sig-Value.
  const signature = contentOf(der, parts.signature).subarray(1);
  let verified = false;
  try {
    verified = verify('sha256', parts.info, { key: parts.key, dsaEncoding: 'der' }, signature);
  } catch {
    verified = false;
  }
  if (!verified) throw new CsrError('the signature of the PKCS#10 request does not verify');
  const curve = parts.key.asymmetricKeyDetails?.namedCurve ?? 'an unnamed curve';
  return {
    der,
    publicKeyPem: parts.key.export({ type: 'spki', format: 'pem' }).toString(),
    keyBits: EC_CURVE_BITS[curve] ?? 0,
    keyAlgorithm: 'ec',
    curve,
  };
}

/** Reads a PKCS#10 request given as base64 DER or PEM and checks its self-signature. */
export function readCsr(token: string): ParsedCsr {
  const trimmed = token.trim();
  let der: string;
  if (trimmed.includes('-----BEGIN')) {
    const match =
      /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(
        trimmed,
      );
    if (match === null) throw new CsrError('the PEM block is not a CERTIFICATE REQUEST');
    der = decodeBase64Strict(match[1] ?? '', 'the PKCS#10 request');
  } else {
    der = decodeBase64Strict(trimmed, 'the PKCS#10 request');
  }
  let csr: forge.pki.CertificateSigningRequest;
  try {
    // strict, and every byte must be used (parseAllBytes is forge's default)
    csr = forge.pki.certificationRequestFromAsn1(asn1.fromDer(der, true));
  } catch (error) {
    const ec = readEcCsr(Buffer.from(der, 'binary'));
    if (ec !== undefined) return ec;
    throw new CsrError(`the PKCS#10 request cannot be read (${(error as Error).message})`);
  }
  let verified = false;
  try {
    verified = csr.verify();
  } catch {
    verified = false;
  }
  if (!verified) throw new CsrError('the signature of the PKCS#10 request does not verify');
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (publicKey === null || publicKey.n === undefined)
    throw new CsrError('the PKCS#10 request has no RSA public key');
  return {
    der: Buffer.from(der, 'binary'),
    publicKeyPem: forge.pki.publicKeyToPem(publicKey),
    keyBits: publicKey.n.bitLength(),
  };
}

/** Decodes base64 (whitespace allowed), refusing anything that is not base64 at all. Returns a binary string. */
export function decodeBase64Strict(text: string, what: string): string {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new CsrError(`${what} is not base64`);
  }
  return Buffer.from(compact, 'base64').toString('binary');
}

/** True when `der` is exactly one well-formed DER element. */
export function isWellFormedDer(der: Buffer): boolean {
  if (der.length === 0) return false;
  try {
    const parsed = asn1.fromDer(der.toString('binary'), true); // strict; parseAllBytes is forge's default
    return asn1.toDer(parsed).getBytes() === der.toString('binary');
  } catch {
    return false;
  }
}

export interface IssueRequest {
  publicKeyPem: string;
  subject: SubjectEntry[];
  san: SanEntry[];
  validityDays: number;
  /** The SID of strong certificate mapping: the certificate gets the 1.3.6.1.4.1.311.25.2 extension. */
  securityIdentifier?: string;
}

export interface IssuedChain {
  serialNumber: string;
  leafDer: Buffer;
  leafPem: string;
  notBefore: Date;
  notAfter: Date;
  /** DER of a certs-only PKCS#7 SignedData: leaf, issuing CA, root. */
  pkcs7Der: Buffer;
}

const RDN_TAG: Record<SubjectRdn, number> = {
  CN: asn1.Type.UTF8,
  emailAddress: asn1.Type.IA5STRING,
  O: asn1.Type.UTF8,
  OU: asn1.Type.UTF8,
  C: asn1.Type.PRINTABLESTRING,
  L: asn1.Type.UTF8,
  ST: asn1.Type.UTF8,
};

const RDN_OID: Record<SubjectRdn, string> = {
  CN: '2.5.4.3',
  emailAddress: '1.2.840.113549.1.9.1',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
};

function context(tag: number, constructed: boolean, value: string | forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, constructed, value);
}

function universal(tag: number, constructed: boolean, value: string | forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, tag, constructed, value);
}

function otherName(typeId: string, valueAsn1: forge.asn1.Asn1): forge.asn1.Asn1 {
  // GeneralName otherName [0] IMPLICIT OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
  return context(0, true, [
    universal(asn1.Type.OID, false, asn1.oidToDer(typeId).getBytes()),
    context(0, true, [valueAsn1]),
  ]);
}

function subjectAltNameValue(entries: SanEntry[]): forge.asn1.Asn1 {
  return universal(
    asn1.Type.SEQUENCE,
    true,
    entries.map((entry) => {
      switch (entry.kind) {
        case 'email':
          return context(1, false, entry.value);
        case 'dns':
          return context(2, false, entry.value);
        case 'upn':
          return otherName(UPN_OID, universal(asn1.Type.UTF8, false, forge.util.encodeUtf8(entry.value)));
        case 'otherName':
          return otherName(entry.typeId, asn1.fromDer(entry.valueDer.toString('binary')));
      }
    }),
  );
}

function positiveSerial(): string {
  const serial = randomBytes(16);
  // 0x10..0x7f in the first byte: positive, and no leading zero in the hex (some clients trim them).
  serial[0] = 0x10 + (serial[0]! % 0x70);
  return serial.toString('hex').toUpperCase();
}

/**
 * The issuing CA, parsed once: its certificate, a native signing key (node:crypto signs in well under a
 * millisecond where forge's pure-JS RSA takes ~20 ms), its key identifier and the chain that follows the leaf
 * in the PKCS#7.
 */
export interface IssuingAuthority {
  cert: forge.pki.Certificate;
  signingKey: KeyObject;
  /** SHA-1 key identifier of the issuing CA's public key, as a binary string (authorityKeyIdentifier). */
  keyIdentifier: string;
  /** Issuing CA, then root: the certificates after the leaf in every PKCS#7. */
  chain: forge.pki.Certificate[];
}

export function prepareIssuingAuthority(
  issuing: { certPem: string; keyPem: string },
  root: { certPem: string },
): IssuingAuthority {
  const cert = forge.pki.certificateFromPem(issuing.certPem);
  return {
    cert,
    signingKey: createPrivateKey(issuing.keyPem),
    keyIdentifier: cert.generateSubjectKeyIdentifier().getBytes(),
    chain: [cert, forge.pki.certificateFromPem(root.certPem)],
  };
}

function certificatePem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * What forge's cert.sign(key, sha256) does, with the RSA signature made by node:crypto. `ecSpkiDer`: the
 * leaf's EC SubjectPublicKeyInfo, which forge cannot encode, put in place of the stand-in key's.
 */
function signWithSha256Rsa(cert: forge.pki.Certificate, key: KeyObject, ecSpkiDer?: Buffer): void {
  const algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.md = forge.md.sha256.create();
  cert.signatureOid = algorithmOid;
  cert.siginfo.algorithmOid = algorithmOid;
  cert.tbsCertificate = getTBSCertificate(cert);
  if (ecSpkiDer !== undefined) {
    // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, …
    (cert.tbsCertificate.value as forge.asn1.Asn1[])[6] = asn1.fromDer(ecSpkiDer.toString('binary'), true);
  }
  const tbsDer = Buffer.from(asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  // RSASSA-PKCS1-v1_5 is node's default for an RSA key, as it is forge's.
  cert.signature = sign('sha256', tbsDer, key).toString('binary');
}

/** The DER SubjectPublicKeyInfo of an EC public key in PEM; undefined for any other key. */
function ecSubjectPublicKeyInfo(publicKeyPem: string): Buffer | undefined {
  const key = createPublicKey(publicKeyPem);
  return key.asymmetricKeyType === 'ec' ? key.export({ type: 'spki', format: 'der' }) : undefined;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
function ecKeyIdentifier(spkiDer: Buffer): Buffer {
  const [, subjectPublicKey] = readChildren(spkiDer, readSingleElement(spkiDer));
  if (subjectPublicKey === undefined) throw new Error('the EC SubjectPublicKeyInfo has no key');
  return createHash('sha1').update(contentOf(spkiDer, subjectPublicKey).subarray(1)).digest();
}

/** Issues a certificate from the issuing CA and wraps it with the chain up to the root. */
export function issueCertificate(request: IssueRequest, authority: IssuingAuthority): IssuedChain {
  const cert = forge.pki.createCertificate();
  const ecSpkiDer = ecSubjectPublicKeyInfo(request.publicKeyPem);
  // forge encodes RSA keys only: an EC leaf is built around the CA's key, then given its own (signWithSha256Rsa).
  cert.publicKey =
    ecSpkiDer === undefined ? forge.pki.publicKeyFromPem(request.publicKeyPem) : authority.cert.publicKey;
  cert.serialNumber = positiveSerial();
  const notBefore = new Date(Date.now() - 5 * 60_000);
  notBefore.setMilliseconds(0);
  const notAfter = new Date(notBefore.getTime() + request.validityDays * 86400_000);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  // The profile lists the subject most specific first (cn, e, o), as people read a DN (RFC 4514); the
  // certificate stores it the other way round, so that `CN=…, E=…, O=…` is what readers display.
  cert.setSubject(
    [...request.subject].reverse().map((entry) => ({
      type: RDN_OID[entry.rdn],
      value: entry.value,
      valueTagClass: RDN_TAG[entry.rdn],
    })),
  );
  cert.setIssuer(authority.cert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    // An EC key signs (ECDSA) and agrees keys; it never enciphers them (RFC 5480 §3).
    ecSpkiDer === undefined
      ? { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true, emailProtection: true },
  ];
  if (request.san.length > 0) {
    // An empty subject makes the SAN critical (RFC 5280 4.2.1.6).
    extensions.push({
      id: '2.5.29.17',
      critical: request.subject.length === 0,
      value: subjectAltNameValue(request.san),
    });
  }
  if (request.securityIdentifier !== undefined) {
    // Built here with forge, apart from the broker's encoder: the tests compare the two through openssl.
    extensions.push({
      id: SID_EXTENSION_OID,
      critical: false,
      value: universal(asn1.Type.SEQUENCE, true, [
        otherName(
          SID_OTHER_NAME_OID,
          universal(asn1.Type.OCTETSTRING, false, Buffer.from(request.securityIdentifier).toString('binary')),
        ),
      ]),
    });
  }
  extensions.push(
    ecSpkiDer === undefined
      ? { name: 'subjectKeyIdentifier' }
      : {
          id: '2.5.29.14',
          value: universal(asn1.Type.OCTETSTRING, false, ecKeyIdentifier(ecSpkiDer).toString('binary')),
        },
  );
  extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: authority.keyIdentifier });
  cert.setExtensions(extensions);
  signWithSha256Rsa(cert, authority.signingKey, ecSpkiDer);

  const p7 = forge.pkcs7.createSignedData();
  p7.addCertificate(cert);
  for (const ca of authority.chain) p7.addCertificate(ca);
  const leafDer = Buffer.from(asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    serialNumber: cert.serialNumber.toUpperCase(),
    leafDer,
    leafPem: certificatePem(leafDer),
    notBefore,
    notAfter,
    pkcs7Der: Buffer.from(asn1.toDer(p7.toAsn1()).getBytes(), 'binary'),
  };
}
