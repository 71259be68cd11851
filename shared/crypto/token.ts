/**
 * The CA's answer: a PKCS#7 SignedData (certs-only) with the leaf and its chain, one X.509 certificate, or a
 * PkiPath (SEQUENCE OF Certificate). The certificates are sliced out as they are (never re-encoded) and read
 * by Node, so any key type in the chain is fine. The leaf is the one certificate that carries our public
 * key; the chain is found by following issuer names (and key identifiers) with OpenSSL's issuer check plus a
 * signature check — through the token's certificates first, then through the CA certificates the profile's
 * policy names, so a CA that answers with the leaf alone (or a chain short of its root) still gives a chain.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { EnrollmentResponse, PolicyCaCertificates } from '../digicert/types';
import { TAG, bytesOf, contentOf, decodeOid, expectTag, readChildren, readSingleElement } from '../der';
import { identityMismatch, type RequestedNames } from './issuedIdentity';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

export interface IssuedCertificates {
  leafPem: string;
  /** The leaf's issuer first, then its issuer, … up to the root (as far as the CA sent them). */
  chainPem: string[];
  /** The same certificates as parsed here, so the PFX and the summary need not parse them again. */
  leaf: X509Certificate;
  chain: X509Certificate[];
}

function rejected(response: EnrollmentResponse, message: string, cause?: unknown): BrokerError {
  return new BrokerError('CA_REJECTED', message, {
    ...(response.dispositionMessage ? { caMessage: response.dispositionMessage } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** DER slices of the certificates in the token (a certificate on its own, or a PKCS#7 SignedData's set). */
function certificateDers(token: Buffer): Buffer[] {
  const outer = expectTag(readSingleElement(token), TAG.SEQUENCE, 'token');
  const children = readChildren(token, outer);
  const [first, content] = children;
  if (first?.tag !== TAG.OID) {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE, signature BIT STRING };
    // a PkiPath is a SEQUENCE of such SEQUENCEs. Anything else is left to the certificate parser to refuse.
    const isCertificate = children.length === 3 && children[2]?.tag === TAG.BIT_STRING;
    const isPath = children.length > 0 && children.every((child) => child.tag === TAG.SEQUENCE);
    if (isCertificate || !isPath) return [token];
    return children.map((certificate) => Buffer.from(bytesOf(token, certificate)));
  }

  const contentType = decodeOid(contentOf(token, first));
  if (contentType !== OID_SIGNED_DATA)
    throw new Error(`its PKCS#7 content type is ${contentType}, not SignedData`);
  if (content === undefined) throw new Error('its PKCS#7 ContentInfo has no content');
  const [signedData] = readChildren(token, expectTag(content, 0xa0, 'ContentInfo content'));
  if (signedData === undefined) throw new Error('its PKCS#7 ContentInfo content is empty');
  // SignedData: version, digestAlgorithms, encapContentInfo, [0] IMPLICIT certificates OPTIONAL, [1] crls, signerInfos
  const certificates = readChildren(token, expectTag(signedData, TAG.SEQUENCE, 'SignedData'))
    .slice(3)
    .find((field) => field.tag === 0xa0);
  if (certificates === undefined) return [];
  return readChildren(token, certificates)
    .filter((choice) => choice.tag === TAG.SEQUENCE) // skip attribute certificates and other CHOICE arms
    .map((certificate) => Buffer.from(bytesOf(token, certificate)));
}

/**
 * Whether the certificate carries our key. Node decodes a certificate's key only when asked, so a CA
 * certificate whose key is damaged parses, then throws here (ERR_OSSL_EVP_DECODE_ERROR): such a key is not ours.
 */
function sameKey(certificate: X509Certificate, spki: Buffer): boolean {
  try {
    return certificate.publicKey.export({ type: 'spki', format: 'der' }).equals(spki);
  } catch {
    return false;
  }
}

function isIssuedBy(certificate: X509Certificate, candidate: X509Certificate): boolean {
  if (!certificate.checkIssued(candidate)) return false;
  try {
    return certificate.verify(candidate.publicKey);
  } catch {
    return false;
  }
}

/** The certificates among `given` (parsed, or DER) that parse, without those already in `known` (byte for byte). */
function readExtraCertificates(
  given: readonly (Buffer | X509Certificate)[],
  known: readonly X509Certificate[],
): X509Certificate[] {
  const extras: X509Certificate[] = [];
  for (const entry of given) {
    let certificate: X509Certificate;
    try {
      certificate = entry instanceof X509Certificate ? entry : new X509Certificate(entry);
    } catch {
      continue; // a placeholder or a damaged entry in the policy: the token's own chain still counts
    }
    if (![...known, ...extras].some((seen) => seen.raw.equals(certificate.raw))) extras.push(certificate);
  }
  return extras;
}

/** Whether Node can decode the certificate's key: one it cannot is damaged, and counts as absent. */
function hasUsableKey(certificate: X509Certificate): boolean {
  try {
    return certificate.publicKey !== undefined;
  } catch {
    return false;
  }
}

/**
 * Why the path from `current` stops at it although it is not a root, when that means a chain that does not
 * chain: a certificate naming `current`'s issuer whose key did not sign it (a wrong or forged issuer), or, for
 * the leaf, a token that carries CA certificates none of which issued it. Undefined for a chain that is only
 * short (the CA left out its upper part), which is accepted. Certificates whose key cannot be decoded count
 * as absent, as a damaged entry in the policy does.
 */
function brokenLink(
  current: X509Certificate,
  isLeaf: boolean,
  unused: readonly X509Certificate[],
  tokenCertificates: readonly X509Certificate[],
): string | undefined {
  const usable = unused.filter(hasUsableKey);
  if (usable.some((candidate) => current.checkIssued(candidate))) {
    return `a certificate naming its issuer (${current.issuer.replace(/\n/g, ', ')}) did not sign it`;
  }
  const others = tokenCertificates.filter(
    (certificate) => certificate !== current && hasUsableKey(certificate),
  );
  if (isLeaf && others.length > 0) {
    return `none of the ${others.length} other certificate(s) in the token issued it`;
  }
  return undefined;
}

/**
 * The leaf for `publicKey` and its chain (leaf's issuer → … → root). Certificates off that path are dropped.
 * `extraCaCertificates` (the profile's CA certificates, parsed or DER: see caCertificatesOfPolicy) complete a
 * chain the token leaves short of a self-signed root; entries that do not parse are skipped. Refused as CA_REJECTED,
 * before any PFX is built: a token without our key, a chain that does not chain (see brokenLink), and, when
 * `requested` is given, a certificate for other people (see identityMismatch).
 */
export function parseIssuedToken(
  response: EnrollmentResponse,
  publicKey: KeyObject,
  extraCaCertificates: readonly (Buffer | X509Certificate)[] = [],
  requested?: RequestedNames,
): IssuedCertificates {
  const token = response.tokenDer;
  const tokenName = response.tokenType === 'PKCS7' ? 'PKCS#7 token' : 'X.509 token';
  if (token.length === 0) throw rejected(response, `The CA's ${tokenName} is empty.`);

  let ders: Buffer[];
  try {
    ders = certificateDers(token);
  } catch (error) {
    throw rejected(response, `The CA's ${tokenName} could not be read: ${(error as Error).message}.`, error);
  }
  if (ders.length === 0) throw rejected(response, `The CA's ${tokenName} holds no certificates.`);

  const certificates: X509Certificate[] = [];
  for (const [index, der] of ders.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(der);
    } catch (error) {
      throw rejected(
        response,
        `Certificate #${index + 1} in the CA's ${tokenName} could not be read: ${(error as Error).message}.`,
        error,
      );
    }
    if (!certificates.some((known) => known.raw.equals(certificate.raw))) certificates.push(certificate);
  }

  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const leaf = certificates.find((certificate) => sameKey(certificate, spki));
  if (leaf === undefined) {
    throw rejected(
      response,
      `The CA returned no certificate for our key (its ${tokenName} holds ${certificates.length} certificate(s), none with the CSR's public key).`,
    );
  }

  // The token's own certificates are preferred; the policy's only fill what the token leaves out.
  const candidates = [...certificates, ...readExtraCertificates(extraCaCertificates, certificates)];
  const chain: X509Certificate[] = [];
  const used = new Set<X509Certificate>([leaf]);
  for (let current = leaf; !current.checkIssued(current);) {
    const issuer = candidates.find((candidate) => !used.has(candidate) && isIssuedBy(current, candidate));
    if (issuer === undefined) {
      const unused = candidates.filter((candidate) => !used.has(candidate));
      const broken = brokenLink(current, current === leaf, unused, certificates);
      if (broken !== undefined) {
        const which =
          current === leaf
            ? 'issued certificate'
            : `chain certificate ${current.subject.replace(/\n/g, ', ')}`;
        throw rejected(response, `The CA's ${tokenName} does not chain: for the ${which}, ${broken}.`);
      }
      break;
    }
    chain.push(issuer);
    used.add(issuer);
    current = issuer;
  }
  const mismatch = requested === undefined ? undefined : identityMismatch(leaf, requested);
  if (mismatch !== undefined) {
    throw rejected(response, `The CA issued a certificate for our key, but ${mismatch}.`);
  }
  return issuedCertificates(leaf, chain);
}

/** The certificates with their PEM text (Node's, so the same text whichever form they were read from). */
export function issuedCertificates(leaf: X509Certificate, chain: X509Certificate[]): IssuedCertificates {
  return {
    leafPem: leaf.toString(),
    chainPem: chain.map((certificate) => certificate.toString()),
    leaf,
    chain,
  };
}

/** A CA certificate entry of a profile's policy, read: its DER, and the certificate when the DER is one. */
export interface PolicyCaCertificateText {
  der: Buffer;
  certificate?: X509Certificate;
}

/**
 * Reads one CA certificate entry of a policy (base64; PEM armour and whitespace tolerated). Undefined when
 * the text is not base64; `certificate` is absent when the bytes are not X.509 (a placeholder). The one rule
 * for such entries: the chain the broker completes and what the doctor exports both read them here.
 */
export function readPolicyCaCertificate(text: string): PolicyCaCertificateText | undefined {
  const compact = text.replace(/-----(?:BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const der = Buffer.from(compact, 'base64');
  try {
    return { der, certificate: new X509Certificate(der) };
  } catch {
    return { der };
  }
}

/**
 * The DER of every CA certificate a profile's policy names (issuing CA, intermediates, root, for each CA),
 * for parseIssuedToken's `extraCaCertificates`. Entries that are not base64 of a certificate (such as
 * placeholders) are left out; duplicates once. The doctor's policyCaCertificates reads the same entries for
 * export: CA certificates only, root first, with the reason for each one left out.
 */
export function caCertificatesOfPolicy(cas: readonly PolicyCaCertificates[]): Buffer[] {
  return readCaCertificatesOfPolicy(cas).map((read) => read.der);
}

/** The policies' CA certificates as parsed, per policy: the client hands out the same cached policy each time. */
const parsedOfPolicy = new WeakMap<readonly PolicyCaCertificates[], readonly X509Certificate[]>();

/**
 * caCertificatesOfPolicy's certificates as parsed, read once per policy object rather than once per request.
 * X509Certificate objects are immutable, so requests can share them.
 */
export function parsedCaCertificatesOfPolicy(
  cas: readonly PolicyCaCertificates[],
): readonly X509Certificate[] {
  let parsed = parsedOfPolicy.get(cas);
  if (parsed === undefined) {
    parsed = readCaCertificatesOfPolicy(cas).map((read) => read.certificate);
    parsedOfPolicy.set(cas, parsed);
  }
  return parsed;
}

function readCaCertificatesOfPolicy(
  cas: readonly PolicyCaCertificates[],
): { der: Buffer; certificate: X509Certificate }[] {
  const result: { der: Buffer; certificate: X509Certificate }[] = [];
  for (const ca of cas) {
    for (const text of [ca.issuingCa, ...ca.intermediates, ca.root]) {
      if (text === undefined) continue;
      const read = readPolicyCaCertificate(text);
      const certificate = read?.certificate;
      if (certificate === undefined || result.some((known) => known.der.equals(read!.der))) continue;
      result.push({ der: read!.der, certificate });
    }
  }
  return result;
}
